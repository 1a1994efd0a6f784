package grpcapi

import (
	"context"
	"path"
	"strings"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

type metrics struct {
	calls    *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	checks   prometheus.Counter
	messages *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_grpc_calls_total",
			Help: "gRPC calls of the RocketMQ protocol, by method and RocketMQ status code.",
		}, []string{"method", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "floe_grpc_call_seconds",
			Help:    "Duration of unary gRPC calls (receive streams excluded: they long-poll).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"method"}),
		checks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_grpc_transaction_checks_total",
			Help: "Orphaned-transaction checks pushed to producers over their telemetry streams.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_grpc_messages_total",
			Help: "Messages sent and received over gRPC.",
		}, []string{"direction"}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.seconds, m.checks, m.messages)
	}
	return m
}

// statusOf is implemented by every response of the protocol.
type statusOf interface{ GetStatus() *v2.Status }

func methodName(full string) string { return path.Base(full) }

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := methodName(info.FullMethod)
	start := time.Now()
	ctx, err := s.authenticate(ctx)
	if err != nil {
		s.metrics.calls.WithLabelValues(method, v2.Code_UNAUTHORIZED.String()).Inc()
		return nil, err
	}
	resp, err := handler(ctx, req)
	code := "GRPC_ERROR"
	if err == nil {
		if r, ok := resp.(statusOf); ok {
			code = r.GetStatus().GetCode().String()
		}
	}
	s.metrics.calls.WithLabelValues(method, code).Inc()
	s.metrics.seconds.WithLabelValues(method).Observe(time.Since(start).Seconds())
	return resp, err
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	method := methodName(info.FullMethod)
	ctx, err := s.authenticate(ss.Context())
	if err != nil {
		s.metrics.calls.WithLabelValues(method, v2.Code_UNAUTHORIZED.String()).Inc()
		return err
	}
	err = handler(srv, &streamWithContext{ServerStream: ss, ctx: ctx})
	code := "OK"
	if err != nil {
		code = "GRPC_ERROR"
	}
	s.metrics.calls.WithLabelValues(method, code).Inc()
	return err
}

// streamWithContext is a server stream whose context carries the caller.
type streamWithContext struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *streamWithContext) Context() context.Context { return s.ctx }

// authenticate checks a call's RocketMQ signature when the server is configured to, and
// returns the context with the caller. The header reads "MQv2-HMAC-SHA1
// Credential=AK/…, SignedHeaders=x-mq-date-time, Signature=HEX": an HMAC-SHA1 over the
// x-mq-date-time header with the key's secret.
func (s *Server) authenticate(ctx context.Context) (context.Context, error) {
	if s.cfg.Authenticate == nil {
		return ctx, nil
	}
	c, ok := ParseAuthorization(header(ctx, headerAuth))
	if !ok {
		return ctx, grpcstatus.Error(grpccodes.Unauthenticated, "UNAUTHORIZED: no or malformed authorization header (set the client's credentials)")
	}
	c.DateTime = header(ctx, headerDateTime)
	c.Namespace = header(ctx, headerNamespace)
	caller, err := s.cfg.Authenticate(ctx, c)
	if err != nil {
		return ctx, grpcstatus.Error(grpccodes.Unauthenticated, "UNAUTHORIZED: "+err.Error())
	}
	return context.WithValue(ctx, callerKey{}, caller), nil
}

// ParseAuthorization reads a RocketMQ 5 authorization header; ok is false when it is
// not one.
func ParseAuthorization(h string) (Credentials, bool) {
	rest, ok := strings.CutPrefix(h, "MQv2-HMAC-SHA1 ")
	if !ok {
		return Credentials{}, false
	}
	var c Credentials
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Credentials{}, false
		}
		switch k {
		case "Credential":
			ak, _, _ := strings.Cut(v, "/")
			c.AccessKey = ak
		case "Signature":
			c.Signature = v
		case "SignedHeaders":
			if v != headerDateTime {
				return Credentials{}, false
			}
		}
	}
	if c.AccessKey == "" || c.Signature == "" {
		return Credentials{}, false
	}
	return c, true
}
