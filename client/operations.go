package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Healthz reports whether the server process is up (GET /healthz): nil on a 2xx answer.
func (c *Client) Healthz(ctx context.Context) error {
	if _, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil); err != nil {
		return fmt.Errorf("checking health: %w", err)
	}
	return nil
}

// Readyz reports whether the server reaches Postgres and its bucket (GET /readyz): nil on
// a 2xx answer.
func (c *Client) Readyz(ctx context.Context) error {
	if _, err := c.do(ctx, http.MethodGet, "/readyz", nil, nil, nil); err != nil {
		return fmt.Errorf("checking readiness: %w", err)
	}
	return nil
}

// Metrics returns the server's Prometheus metrics in the text exposition format
// (GET /metrics).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	// Ask for the classic text format so a server able to negotiate OpenMetrics or
	// protobuf answers in the format every parser reads.
	resp, err := c.send(ctx, http.MethodGet, "/metrics", nil, nil, "text/plain;version=0.0.4")
	if err != nil {
		return "", fmt.Errorf("getting metrics: %w", err)
	}
	defer drainAndClose(resp.Body)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("reading metrics: %w", err)
	}
	return string(b), nil
}
