package grpcapi

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// TestDualListenerServesTLSAndPlaintext checks that one port takes both, and that a
// silent connection does not hold up the next one.
func TestDualListenerServesTLSAndPlaintext(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := serverTLS("", "")
	if err != nil {
		t.Fatal(err)
	}
	l := newDualListener(inner, cfg)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }() // echo
		}
	}()
	silent, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	plain, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	echo(t, plain, "PRI * HTTP/2.0")

	tc, err := tls.Dial("tcp", inner.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN negotiated %q, want h2", p)
	}
	echo(t, tc, "over tls")
}

func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Fatalf("echo %q, want %q", buf, msg)
	}
}

func TestRegistryForgetsIdleClientsOnly(t *testing.T) {
	r := newRegistry()
	old := r.getOrAdd("gone", "")
	old.lastSeen = time.Now().Add(-time.Hour)
	streaming := r.getOrAdd("streaming", "")
	streaming.lastSeen = time.Now().Add(-time.Hour)
	streaming.stream = fakeStream{}
	r.getOrAdd("recent", "")
	if n := r.forgetIdle(time.Now().Add(-clientIdle)); n != 1 {
		t.Fatalf("forgot %d clients, want 1", n)
	}
	if r.get("gone") != nil || r.get("streaming") == nil || r.get("recent") == nil {
		t.Fatal("forgot the wrong clients")
	}
}
