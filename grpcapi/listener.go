package grpcapi

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"sync"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS connection (a handshake record).
const tlsRecordHandshake = 0x16

// sniffTimeout bounds how long a new connection may take to send its first byte.
const sniffTimeout = 10 * time.Second

// dualListener accepts TLS and plaintext connections on one port, as the RocketMQ proxy
// does: a connection whose first byte starts a TLS handshake is served over TLS (ALPN h2),
// any other as plaintext HTTP/2. The first byte is read on a goroutine of the connection,
// so a silent client cannot hold up Accept.
type dualListener struct {
	inner  net.Listener
	tls    *tls.Config
	conns  chan net.Conn
	errs   chan error
	closed chan struct{}
	once   sync.Once
}

func newDualListener(inner net.Listener, cfg *tls.Config) *dualListener {
	l := &dualListener{inner: inner, tls: cfg, conns: make(chan net.Conn), errs: make(chan error, 1), closed: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *dualListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.closed:
			}
			return
		}
		go l.sniff(c)
	}
}

func (l *dualListener) sniff(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 1)
	first, err := br.Peek(1)
	if err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == tlsRecordHandshake {
		out = tls.Server(out, l.tls)
	}
	select {
	case l.conns <- out:
	case <-l.closed:
		_ = c.Close()
	}
}

// Accept returns the next connection, TLS or plaintext.
func (l *dualListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops accepting.
func (l *dualListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.inner.Close()
}

// Addr is the listening address.
func (l *dualListener) Addr() net.Addr { return l.inner.Addr() }

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// serverTLS returns the listener's TLS configuration: the configured certificate, or a
// self-signed one made now (the RocketMQ clients do not verify the server by default).
func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	switch {
	case certFile != "" && keyFile != "":
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("loading the gRPC TLS certificate: %w", err)
		}
	case certFile != "" || keyFile != "":
		return nil, errors.New("the gRPC TLS certificate needs both a certificate and a key file")
	default:
		cert, err = selfSigned()
		if err != nil {
			return nil, err
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}, nil
}

// selfSigned makes a certificate for localhost, the loopback addresses and this host's
// name, valid for a year.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a serial number: %w", err)
	}
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "floe", Organization: []string{"Floe (self-signed)"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signing a TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
