package e2e_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/client"
	"github.com/floemq/floe/services"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files and returns their
// paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "floe test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, pool
}

// syncBuffer is a log sink safe for the node's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTLSAndLogs: with --tls-cert/--tls-key the node speaks HTTPS only (a plain HTTP
// request never reaches the API), and the debug log of every request shows no secret.
func TestTLSAndLogs(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	cfg := newBacking(t).config("all")
	cfg.RequireAuth = true
	cfg.BootstrapAdminKey = bootstrapKey
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	n, err := services.StartNode(ctx, cfg, logger)
	require.NoError(t, err)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(sctx)
	})

	https := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + n.Addr()
	admin := client.New(base, client.WithAPIKey(bootstrapKey), client.WithHTTPClient(https))
	require.NoError(t, admin.Healthz(ctx))
	_, _, err = admin.CreateTopic(ctx, client.TopicSpec{Name: "orders", Queues: 1})
	require.NoError(t, err)
	var created auth.KeyView
	require.NoError(t, postJSON(https, base+"/v1/keys", bootstrapKey, auth.CreateKeyRequest{Name: "app", Permissions: []auth.Permission{perm("produce", "topic:orders")}}, &created))
	app := client.New(base, client.WithAPIKey(created.Secret), client.WithHTTPClient(https))
	_, err = app.Send(ctx, "orders", []client.Message{{Body: []byte("over TLS")}})
	require.NoError(t, err)
	_, err = client.New(base, client.WithAPIKey("floe_sk_wrong"), client.WithHTTPClient(https)).Send(ctx, "orders", []client.Message{{Body: []byte("x")}})
	requireAPIError(t, err, http.StatusUnauthorized, "UNAUTHENTICATED")

	// A client that does not trust the certificate fails the handshake.
	_, err = http.Get(base + "/healthz")
	require.Error(t, err)

	// Plain HTTP reaches no handler: Go's server answers 400 itself.
	resp, err := http.Post("http://"+n.Addr()+"/v1/topics/orders/messages", "application/json",
		strings.NewReader(`{"messages":[{"body":"aGk="}]}`))
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.NotContains(t, string(body), `"error"`, "the API's error shape means a handler ran")
	}
	qs, err := admin.Queues(ctx, "orders")
	require.NoError(t, err)
	require.EqualValues(t, 1, qs[0].MaxOffset, "only the TLS send was stored")

	out := logs.String()
	require.Contains(t, out, "msg=request", "requests are logged at debug")
	require.Contains(t, out, "API key created")
	for _, secret := range []string{bootstrapKey, created.Secret, "floe_sk_wrong", "Bearer", auth.SecretPrefix} {
		require.NotContains(t, out, secret, "the log shows a secret")
	}
}

func TestTLSNeedsCertAndKey(t *testing.T) {
	t.Parallel()
	certFile, _, _ := selfSigned(t)
	cfg := newBacking(t).config("ingest")
	cfg.TLSCert = certFile
	_, err := services.StartNode(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, "tls-cert and tls-key go together")
}

// postJSON posts in with a key through hc and decodes a 2xx answer into out.
func postJSON(hc *http.Client, url, key string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}
