// Package client is the Go client for Floe's HTTP API v1 (docs/http-api.md).
//
// The CLI, the benchmark and the integration tests use it. Every method takes a context
// first and mirrors one route of the contract; request and result types carry the JSON
// field names of the contract. A non-2xx answer comes back as an *APIError (use IsCode or
// errors.As); transport errors come back wrapped with what the call was doing.
//
// A Client is safe for concurrent use. Unless WithHTTPClient is given, all Clients share
// one http.Client whose Transport keeps many idle connections to one host, so hundreds of
// goroutines can produce and consume through one Client without reconnecting.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxDrainBytes bounds how much of an unread response body is read before closing it, so
// the connection can be reused without reading an arbitrarily large body.
const maxDrainBytes = 256 << 10

// maxErrorBodyBytes bounds how much of an error response is read to build an APIError.
const maxErrorBodyBytes = 64 << 10

// sharedHTTPClient is used by every Client built without WithHTTPClient. It has no overall
// timeout because receive and transaction checks are long polls; contexts bound each call.
var sharedHTTPClient = &http.Client{Transport: newTransport()}

// newTransport returns a Transport tuned for many concurrent requests to one Floe host:
// the default keeps only 2 idle connections per host, which makes a busy client reconnect.
//
// Its write buffer holds a whole send of 32 messages of 1 KiB (about 45 KB with its
// headers), which then goes out in one write. With the default 4 KiB, a larger body goes
// out in several writes, through a 32 KiB copy buffer allocated for each request
// (net.genericReadFrom). The price is 64 KiB per open connection.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		WriteBufferSize:       64 << 10,
	}
}

// Client calls one Floe server's HTTP API v1.
type Client struct {
	baseURL  string
	http     *http.Client
	apiKey   string
	clientID string
}

// Option configures a Client built by New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc instead of the shared,
// connection-pooling default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithAPIKey makes the Client send `Authorization: Bearer <key>` with every request.
func WithAPIKey(key string) Option {
	return func(c *Client) { c.apiKey = key }
}

// WithClientID names this client in the server's connected-clients lists (the
// X-Floe-Client-Id header); without it the server knows it by address and User-Agent.
func WithClientID(id string) Option {
	return func(c *Client) { c.clientID = id }
}

// New returns a Client for the server at baseURL, such as "http://localhost:8080".
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		http:    sharedHTTPClient,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// BaseURL returns the server address the Client was built with, without a trailing slash.
func (c *Client) BaseURL() string {
	return c.baseURL
}

// pathOf joins escaped path segments under the base URL: pathOf("v1", "topics", name).
// Escaping matters for system topics such as %DLQ%group.
func pathOf(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// send performs one request and returns the response of a 2xx answer; the caller must
// close it with drainAndClose. A non-2xx answer is closed here and returned as *APIError.
// body, when not nil, is sent as the JSON request body.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, accept string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if c.clientID != "" {
		req.Header.Set("X-Floe-Client-Id", c.clientID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // *url.Error already names the method and URL.
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer drainAndClose(resp.Body)
		return nil, readAPIError(resp)
	}
	return resp, nil
}

// do performs one JSON request and decodes a 2xx answer into out, unless out is nil or the
// body is empty. in, when not nil, is encoded as the request body. It returns the response
// status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("encoding request body: %w", err)
		}
	}
	resp, err := c.send(ctx, method, path, query, body, "application/json")
	if err != nil {
		return 0, err
	}
	defer drainAndClose(resp.Body)
	if out == nil {
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return resp.StatusCode, fmt.Errorf("decoding %s %s response: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// call is do for the calls made for every batch (send, receive, ack), whose bodies are
// encoded and decoded without reflection (wire.go): body is the encoded request, and the
// whole answer of a 2xx response is handed to decode, from a buffer reused across calls.
func (c *Client) call(ctx context.Context, method, path string, body []byte, decode func(data []byte) error) error {
	resp, err := c.send(ctx, method, path, nil, body, "application/json")
	if err != nil {
		return err
	}
	defer drainAndClose(resp.Body)
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer putResponseBuffer(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("reading %s %s response: %w", method, path, err)
	}
	if err := decode(buf.Bytes()); err != nil {
		return fmt.Errorf("decoding %s %s response: %w", method, path, err)
	}
	return nil
}

// maxPooledBuffer is the largest response buffer kept for reuse, so that one huge answer
// does not stay in memory.
const maxPooledBuffer = 4 << 20

// responseBuffers holds the buffers call reads answers into. Nothing decoded refers to a
// buffer: the decoders copy what they keep. Request bodies are not pooled: the Transport
// may still read one after Do returns (see http.Client.Do).
var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putResponseBuffer returns buf to responseBuffers unless it is too large to keep.
func putResponseBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		responseBuffers.Put(buf)
	}
}

// drainAndClose reads what is left of a body (up to a bound) and closes it, so the
// Transport can put the connection back in its pool.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrainBytes))
	_ = body.Close()
}
