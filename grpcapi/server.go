// Package grpcapi serves the gRPC protocol of the official Apache RocketMQ 5 clients
// (apache.rocketmq.v2.MessagingService) on the same core as the HTTP API: a message sent
// over one is received over the other. It runs in the ingest and reader roles, on one port
// that takes TLS (ALPN h2; a self-signed certificate unless one is configured) and
// plaintext alike, as the RocketMQ proxy does. docs/grpc.md lists what is supported.
package grpcapi

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	grpcmd "google.golang.org/grpc/metadata"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/ingest"
	"github.com/floemq/floe/internal/ttlcache"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/namespace"
	"github.com/floemq/floe/presence"
	"github.com/floemq/floe/reader"
)

// Header names the RocketMQ clients send with every call.
const (
	headerClientID  = "x-mq-client-id"
	headerNamespace = "x-mq-namespace"
	headerDateTime  = "x-mq-date-time"
	headerAuth      = "authorization"
)

// Config configures the gRPC front end.
type Config struct {
	// CertFile and KeyFile name a PEM certificate and key for TLS; empty, a self-signed
	// certificate is made at start.
	CertFile, KeyFile string
	// Advertise is the host:port put into routes; empty, the endpoint the client dialed.
	Advertise string
	// MaxRecvBytes bounds one inbound gRPC message; default 16 MiB (a 4 MiB body with its
	// headers fits several times over).
	MaxRecvBytes int
	// MaxBodyBytes is the body limit told to producers; default 4 MiB, ingest's default.
	MaxBodyBytes int
	// DefaultInvisible hides messages received by push consumers, which name no
	// invisible time; default 60 s.
	DefaultInvisible time.Duration
	// LongPolling is the long-polling time told to push consumers; default 20 s.
	LongPolling time.Duration
	// CheckPoll is how often unresolved transactions of connected producers are looked
	// for; default 1 s.
	CheckPoll time.Duration
	// Authenticate, when set, checks every call's RocketMQ signature and returns who made
	// it; nil accepts every call, in the namespace its headers name.
	Authenticate func(ctx context.Context, c Credentials) (*Caller, error)
	// Clients, when set, records the clients this server sees (see clients.go).
	Clients *presence.Table
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Credentials are what a call's RocketMQ "authorization" header says.
type Credentials struct {
	AccessKey string
	DateTime  string
	Signature string
	Namespace string
}

// Caller is who a signed call comes from.
type Caller struct {
	// Namespace is the caller's tenant: every name of its calls is resolved in it.
	Namespace string
	// Allowed reports whether the caller may do action (produce, consume, read, admin) on
	// the resource kind:name (topic or group, as the tenant names it).
	Allowed func(action, kind, name string) bool
	// Take draws produced messages and bytes and receive calls from the caller's quotas;
	// false (nothing taken) when one is exhausted. Nil: no quotas.
	Take func(messages, bytes, receives int) bool
}

// throttle refuses a call over the caller's quotas with TOO_MANY_REQUESTS (the clients
// back off and retry).
func throttle(ctx context.Context, messages, bytes, receives int) error {
	c := callerOf(ctx)
	if c == nil || c.Take == nil || c.Take(messages, bytes, receives) {
		return nil
	}
	return status(v2.Code_TOO_MANY_REQUESTS, "the access key's quota is exhausted; retry later")
}

type callerKey struct{}

func callerOf(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// Actions and kinds of the permission model (package auth).
const (
	actProduce = "produce"
	actConsume = "consume"
	actRead    = "read"
	kindTopic  = "topic"
	kindGroup  = "group"
)

// allow refuses a call whose caller lacks action on kind:name (a tenant name).
func allow(ctx context.Context, action, kind, name string) error {
	c := callerOf(ctx)
	if c == nil || c.Allowed(action, kind, name) {
		return nil
	}
	return status(v2.Code_FORBIDDEN, "the access key may not %s %s:%s", action, kind, name)
}

// allowConsume is what consuming needs: consume on the group and read on the topic.
func allowConsume(ctx context.Context, group, topic *v2.Resource) error {
	if err := allow(ctx, actConsume, kindGroup, group.GetName()); err != nil {
		return err
	}
	return allow(ctx, actRead, kindTopic, topic.GetName())
}

// Server implements v2.MessagingServiceServer on the ingest and reader roles of a node
// (either may be nil: the calls of the missing role answer UNSUPPORTED).
type Server struct {
	v2.UnimplementedMessagingServiceServer

	cfg      Config
	store    *metadata.Store
	ingest   *ingest.Service
	consumer *reader.Consumer
	admin    *admin.Service
	logger   *slog.Logger
	grpc     *grpc.Server
	clients  *registry
	metrics  *metrics
	topics   *ttlcache.Cache[string, metadata.Topic]
	// subs holds the filter each (group, topic) was last ensured with.
	subs *ttlcache.Cache[[2]string, string]

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New returns a server; metrics are registered on reg (nil: not registered).
func New(cfg Config, store *metadata.Store, in *ingest.Service, consumer *reader.Consumer, reg prometheus.Registerer) (*Server, error) {
	if cfg.MaxRecvBytes == 0 {
		cfg.MaxRecvBytes = 16 << 20
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	if cfg.DefaultInvisible == 0 {
		cfg.DefaultInvisible = 60 * time.Second
	}
	if cfg.LongPolling == 0 {
		cfg.LongPolling = 20 * time.Second
	}
	if cfg.CheckPoll == 0 {
		cfg.CheckPoll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, store: store, ingest: in, consumer: consumer, admin: admin.New(store), logger: cfg.Logger,
		clients: newRegistry(), metrics: newMetrics(reg), stop: make(chan struct{}),
		topics: ttlcache.New[string, metadata.Topic](ttlcache.Config{TTL: topicTTL}),
		subs:   ttlcache.New[[2]string, string](ttlcache.Config{TTL: subscriptionTTL, MaxEntries: 100_000})}
	if reg != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "floe_grpc_clients",
			Help: "RocketMQ clients this node knows (with a telemetry stream, or calling in the last 5 minutes).",
		}, func() float64 { return float64(s.clients.size()) }))
	}
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(cfg.MaxRecvBytes),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	)
	v2.RegisterMessagingServiceServer(s.grpc, s)
	return s, nil
}

// Serve serves on l (TLS and plaintext alike) until Stop; it starts the loop that hands
// transaction checks to connected producers.
func (s *Server) Serve(l net.Listener) error {
	cfg, err := serverTLS(s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		return err
	}
	return s.serve(l, cfg)
}

func (s *Server) serve(l net.Listener, cfg *tls.Config) error {
	if s.ingest != nil {
		s.wg.Add(1)
		go s.checkLoop()
	}
	s.wg.Add(1)
	go s.sweepLoop()
	err := s.grpc.Serve(newDualListener(l, cfg))
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Listen opens addr and serves on it in the background; it returns the listener's address.
func (s *Server) Listen(addr string) (net.Addr, error) {
	cfg, err := serverTLS(s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gRPC listening on %s: %w", addr, err)
	}
	go func() {
		if err := s.serve(l, cfg); err != nil {
			s.logger.Error("gRPC server stopped", "err", err)
		}
	}()
	return l.Addr(), nil
}

// clientIdle is how long a client without a telemetry stream is remembered after its
// last call.
const clientIdle = 5 * time.Minute

// sweepLoop forgets clients that went away without NotifyClientTermination.
func (s *Server) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if n := s.clients.forgetIdle(time.Now().Add(-clientIdle)); n > 0 {
				s.logger.Debug("forgot idle gRPC clients", "clients", n)
			}
		}
	}
}

// Stop ends every call and stream (clients reconnect elsewhere) and waits for the
// background loops.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.grpc.Stop()
	s.wg.Wait()
}

// callInfo is what the headers of a call say.
type callInfo struct {
	clientID  string
	namespace string
}

func infoOf(ctx context.Context) callInfo {
	return callInfo{clientID: header(ctx, headerClientID), namespace: header(ctx, headerNamespace)}
}

// nameKind is what a resource name of a call names; each kind is checked exactly as the
// HTTP API checks it (domain.CheckName, domain.CheckReadableTopic).
type nameKind int

const (
	// userTopic is a topic a client sends to: a user name, never a system topic.
	userTopic nameKind = iota
	// readTopic is a topic a client reads or asks the route of: a user name, or the
	// dead-letter topic of a group of its namespace ("%DLQ%billing").
	readTopic
	// groupName is a consumer group: a user name.
	groupName
)

// resolve returns the stored name of a resource a call names, once its name is valid for
// its kind and lies in the caller's namespace: the resource's own namespace, else the
// call's x-mq-namespace header, and for a signed call the key's namespace, which a call
// can never leave. "%" and the system prefixes are refused here, before any permission
// check or store call, so that "tenb%orders" written by a key of another namespace (or of
// the default one) is no name at all rather than tenant B's topic.
func resolve(ctx context.Context, r *v2.Resource, kind nameKind) (string, error) {
	if r == nil || r.GetName() == "" {
		return "", status(codeOfName(kind), "a %s name is required", kindWord(kind))
	}
	n := r.GetName()
	var err error
	switch kind {
	case readTopic:
		err = domain.CheckReadableTopic(n)
	case groupName:
		err = domain.CheckName("consumer group", n)
	default:
		err = domain.CheckName("topic", n)
	}
	if err != nil {
		return "", status(codeOfName(kind), "%s", errorMessage(err))
	}
	ns := r.GetResourceNamespace()
	if err := namespace.Validate(ns); err != nil {
		return "", status(v2.Code_BAD_REQUEST, "resource namespace: %v", err)
	}
	header := infoOf(ctx).namespace
	if err := namespace.Validate(header); err != nil {
		return "", status(v2.Code_BAD_REQUEST, "%s header: %v", headerNamespace, err)
	}
	if ns == "" {
		ns = header
	}
	if c := callerOf(ctx); c != nil {
		// A key belongs to one namespace; naming another is refused, naming none is its own.
		if ns != "" && ns != c.Namespace {
			return "", status(v2.Code_FORBIDDEN, "the access key belongs to namespace %q, not %q", c.Namespace, ns)
		}
		ns = c.Namespace
	}
	stored := namespace.Wrap(ns, n)
	if _, ok := namespace.Unwrap(ns, stored); !ok {
		return "", status(codeOfName(kind), "%s %q is not a name of namespace %q", kindWord(kind), n, ns)
	}
	return stored, nil
}

func kindWord(k nameKind) string {
	if k == groupName {
		return "consumer group"
	}
	return "topic"
}

func codeOfName(k nameKind) v2.Code {
	if k == groupName {
		return v2.Code_ILLEGAL_CONSUMER_GROUP
	}
	return v2.Code_ILLEGAL_TOPIC
}

// errorMessage is the message of a core error.
func errorMessage(err error) string {
	if de := domain.AsError(err); de != nil {
		return de.Message
	}
	return err.Error()
}

// statusError is a RocketMQ status carried as a Go error inside this package; the RPCs
// put it into their responses (RocketMQ reports failures in the body, not as gRPC errors).
type statusError struct{ st *v2.Status }

func (e *statusError) Error() string { return fmt.Sprintf("%s: %s", e.st.Code, e.st.Message) }

func status(code v2.Code, format string, args ...any) error {
	return &statusError{st: &v2.Status{Code: code, Message: fmt.Sprintf(format, args...)}}
}

var okStatus = &v2.Status{Code: v2.Code_OK, Message: "OK"}

// internalError logs a failure the client cannot fix (the store, the bucket) under a fresh
// request id and returns a status that names only that id: driver and SQL text never
// reach a client.
func internalError(logger *slog.Logger, doing string, err error) error {
	id := newRequestID()
	logger.Error("gRPC call failed", "request_id", id, "doing", doing, "err", err)
	return status(v2.Code_INTERNAL_SERVER_ERROR, "internal error while %s; the server logged it with request id %s", doing, id)
}

// newRequestID returns 16 random hex digits.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// toStatus maps an error of the core (a *domain.Error, mostly) to a RocketMQ status
// through codeTable. Internal failures are logged and answered without their text.
func (s *Server) toStatus(err error) *v2.Status {
	if err == nil {
		return okStatus
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.st
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &v2.Status{Code: v2.Code_PROXY_TIMEOUT, Message: "the call ended before an answer was ready"}
	}
	de := domain.AsError(err)
	code, ok := v2.Code_INTERNAL_SERVER_ERROR, false
	if de != nil {
		code, ok = codeTable[de.Kind]
	}
	if !ok || code == v2.Code_INTERNAL_SERVER_ERROR {
		errors.As(internalError(s.logger, "serving the call", err), &se)
		return se.st
	}
	return &v2.Status{Code: code, Message: de.Message}
}

// needIngest and needReader refuse calls of a role this node does not run.
func (s *Server) needIngest() error {
	if s.ingest == nil {
		return status(v2.Code_UNSUPPORTED, "this node does not run the ingest role: send to a node that does")
	}
	return nil
}

func (s *Server) needReader() error {
	if s.consumer == nil {
		return status(v2.Code_UNSUPPORTED, "this node does not run the reader role: consume from a node that does")
	}
	return nil
}

// header returns the first value of a call's metadata key, or "". It reads the one key
// without copying the call's metadata, which FromIncomingContext does on every call.
func header(ctx context.Context, key string) string {
	if v := grpcmd.ValueFromIncomingContext(ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}
