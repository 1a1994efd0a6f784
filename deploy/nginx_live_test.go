package deploy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNginxLive runs the real gateway config under a local nginx, when one is
// installed, with two fake backends standing in for the ingest and reader
// services, and checks which backend each request of the routing contract
// reaches (startGateway says how the config is adapted to this machine).
func TestNginxLive(t *testing.T) {
	nginx := nginxBinary(t)

	backend := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, name)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	gw := startGateway(t, nginx, map[string][]string{
		"ingest:8080": {backend("ingest").Listener.Addr().String()},
		"reader:8080": {backend("reader").Listener.Addr().String()},
		// Not called here; the gRPC upstreams need some address to start.
		"ingest:8081": {"127.0.0.1:1"},
		"reader:8081": {"127.0.0.1:1"},
	})

	base := gw.httpURL
	client := &http.Client{Timeout: 5 * time.Second}
	for _, r := range gatewayRoutes {
		req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(`{}`))
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err, "%s %s", r.method, r.path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", r.method, r.path, body)
		if r.want == nil {
			require.Contains(t, []string{"ingest", "reader"}, string(body), "%s %s", r.method, r.path)
		} else {
			require.Equal(t, r.want[0], string(body), "%s %s", r.method, r.path)
		}
	}

	// Bodies over the 64 MiB request limit are refused at the gateway.
	req, err := http.NewRequest("POST", base+"/v1/topics/orders/messages", io.LimitReader(zeros{}, 65<<20))
	require.NoError(t, err)
	req.ContentLength = 65 << 20
	if resp, err := client.Do(req); err == nil { // nginx may close before the body is sent
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	}
}

// nginxBinary returns the local nginx, or skips the test.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("short mode")
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/nginx"); statErr != nil {
			t.Skip("nginx not installed")
		}
		nginx = "/usr/sbin/nginx"
	}
	return nginx
}

// gateway is a running nginx with the gateway config.
type gateway struct {
	httpURL  string // the HTTP API server (8080 in compose)
	grpcAddr string // the gRPC server (8081 in compose)
}

// startGateway runs deploy/nginx.conf under a local nginx until the test ends. The
// config is rewritten only where this machine differs from the compose network:
// each upstream `server service:port resolve;` becomes one line per address in
// upstreams["service:port"], the listeners move to free loopback ports, and the
// nginx >= 1.25/1.27 syntax (`resolve`, `http2 on`) becomes what older local
// builds understand.
func startGateway(t *testing.T, nginx string, upstreams map[string][]string) gateway {
	t.Helper()
	raw, err := os.ReadFile("nginx.conf")
	require.NoError(t, err)
	conf := string(raw)
	for svc, addrs := range upstreams {
		var lines []string
		for _, a := range addrs {
			lines = append(lines, "server "+a+";")
		}
		conf = regexp.MustCompile(`server\s+`+regexp.QuoteMeta(svc)+`(\s+resolve)?;`).ReplaceAllString(conf, strings.Join(lines, " "))
	}
	httpPort, grpcPort := freePort(t), freePort(t)
	dir := t.TempDir()
	conf = strings.Replace(conf, "listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", httpPort), 1)
	grpcListen := regexp.MustCompile(`listen 8081;\s*http2 on;`)
	require.Len(t, grpcListen.FindAllString(conf, -1), 1, "the gRPC server: `listen 8081; http2 on;`")
	conf = grpcListen.ReplaceAllString(conf, fmt.Sprintf("listen 127.0.0.1:%d http2;", grpcPort))
	conf = strings.Replace(conf, "pid /tmp/nginx.pid;", "pid "+filepath.Join(dir, "nginx.pid")+";", 1)
	conf = regexp.MustCompile(`access_log [^;]+;`).ReplaceAllString(conf, "access_log off;")
	require.NotContains(t, conf, " resolve;", "an upstream server was not rewritten")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	confPath := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o644))

	if out, err := exec.Command(nginx, "-t", "-p", dir, "-c", confPath).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", confPath, "-g", "daemon off;")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	// Its own process group, so that the workers go with the master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // fast shutdown: the master stops its workers
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})

	gw := gateway{httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), grpcAddr: fmt.Sprintf("127.0.0.1:%d", grpcPort)}
	client := &http.Client{Timeout: 5 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := client.Get(gw.httpURL + "/gateway/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "nginx did not start: %s", &stderr)
	return gw
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
