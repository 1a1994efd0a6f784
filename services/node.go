// Package services is the floe binary: it parses configuration, builds the roles a process
// runs (ingest, reader, compactor) over one metadata store and one bucket, and serves their
// HTTP routes with /healthz, /readyz and /metrics.
package services

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/compactor"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/grpcapi"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/ingest"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/presence"
	"github.com/floemq/floe/reader"
	"github.com/floemq/floe/scheduler"
	"github.com/floemq/floe/trace"
)

// Node is one running floe process: its roles, its store and bucket, its HTTP server.
type Node struct {
	cfg       Config
	logger    *slog.Logger
	registry  *prometheus.Registry
	store     *metadata.Store
	bucket    objstore.Bucket
	ingest    *ingest.Service
	reader    *reader.Service
	scheduler *scheduler.Service
	compactor *compactor.Service
	redriver  *admin.Redriver
	// deadLetters moves messages past their last attempt to dead-letter topics (compactor role).
	deadLetters *compactor.DeadLetterSweeper
	consumer    *reader.Consumer
	tracer      *trace.Recorder
	traceSink   *ingest.Service
	echo        *echo.Echo
	grpc        *grpcapi.Server
	grpcAddr    net.Addr
	server      *http.Server
	listener    net.Listener
	serveErr    chan error
	cancel      context.CancelFunc

	// clients are the consumers and producers this node saw (clients.go).
	clients    *presence.Table
	clientsPub *presence.Publisher
}

// StartNode opens the store and bucket, applies migrations if configured, starts the roles
// and begins serving HTTP.
func StartNode(ctx context.Context, cfg Config, logger *slog.Logger) (*Node, error) {
	roles, err := cfg.roles()
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := checkListenFree(cfg); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, logger: logger, registry: prometheus.NewRegistry(), serveErr: make(chan error, 1), cancel: func() {}}
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ok := false
	defer func() {
		if !ok {
			n.closeStorage()
		}
	}()

	if cfg.DatabaseURL == "" {
		return nil, errors.New("no database URL: set --database-url or FLOE_DATABASE_URL")
	}
	n.store, err = metadata.Open(ctx, metadata.Config{URL: cfg.DatabaseURL, Quotas: metadata.Quotas{
		Topics: cfg.QuotaTopics, Groups: cfg.QuotaGroups, LiteTopics: cfg.QuotaLiteTopics}}, n.registry)
	if err != nil {
		return nil, err
	}
	if cfg.Migrate {
		if err := n.store.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrating: %w", err)
		}
	}
	bucket, err := openBucket(ctx, cfg)
	if err != nil {
		return nil, err
	}
	n.bucket = objstore.WithMetrics(bucket, n.registry)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpapi.ErrorHandler(logger)
	e.Use(httpapi.RequestID(), bodyDeadline(cmp.Or(cfg.BodyReadTimeout, defaultBodyReadTimeout)), requestLog(logger))
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", n.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{Registry: n.registry})))
	e.GET("/v1/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/json", httpapi.OpenAPI()) })
	httpapi.RegisterDocs(e)
	if cfg.CORSOrigin != "" {
		// Before auth: a browser's preflight carries no key.
		e.Use(corsMiddleware(cfg.CORSOrigin))
	}
	authSvc, err := auth.New(auth.Config{
		Required: cfg.RequireAuth, BootstrapKey: cfg.BootstrapAdminKey, MetricsRequireAuth: cfg.MetricsRequireAuth,
		CacheTTL: cfg.AuthCacheTTL, ProduceRate: cfg.QuotaProduceRate, ReceiveRate: cfg.QuotaReceiveRate,
		ProduceBytesRate: cfg.QuotaProduceBytesRate,
		Logger:           logger.With("component", "auth"),
	}, n.store, n.registry)
	if err != nil {
		return nil, err
	}
	authSvc.Register(e)
	if !cfg.RequireAuth {
		logger.Warn("auth is off: every API route is open, /v1/keys too (--require-auth turns it on)")
	}
	adm := admin.New(n.store)
	httpapi.RegisterAdmin(e, adm, n.store)
	n.echo = e
	n.clients = presence.NewTable()

	if roles["reader"] {
		if err := n.startReader(ctx, e); err != nil {
			return nil, err
		}
	}
	if roles["ingest"] {
		// Every ingest node signs and checks recall handles with one secret, kept in
		// Postgres like the receipt secret (a separate one: a handle of one kind never
		// verifies as the other).
		candidate := make([]byte, 32)
		if _, err := rand.Read(candidate); err != nil {
			return nil, fmt.Errorf("generating recall secret: %w", err)
		}
		recallKey, err := n.store.SecretGet(ctx, "recall-handle", candidate)
		if err != nil {
			return nil, fmt.Errorf("recall secret: %w", err)
		}
		n.ingest, err = ingest.New(ingest.Config{
			RecallSecret: recallKey,
			Linger:       cfg.Linger, FlushBytes: cfg.FlushBytes, MaxBufferedBytes: cfg.MaxBufferedBytes,
			MaxUploads: cfg.MaxUploads, NodeID: cfg.NodeID, Logger: logger.With("role", "ingest"),
			MaxDelay: cfg.MaxDelay, TransactionFirstCheck: cfg.TransactionFirstCheck,
			TransactionCheckInterval: cfg.TransactionCheckInterval, TransactionMaxChecks: cfg.TransactionMaxChecks,
			Chunks: n.primer(),
		}, n.store, n.bucket, n.registry)
		if err != nil {
			return nil, err
		}
		n.ingest.Start()
		httpapi.RegisterIngest(e, n.ingest, adm, n.store)
	}
	if roles["compactor"] {
		n.scheduler, err = scheduler.New(scheduler.Config{
			TransactionMaxChecks: cfg.TransactionMaxChecks,
			TransactionTimeout:   cfg.TransactionFirstCheck + time.Duration(cfg.TransactionMaxChecks)*cfg.TransactionCheckInterval,
			CommitUnresolved:     cfg.TransactionPolicy == "commit",
			Logger:               logger.With("role", "compactor"),
		}, n.store, n.registry)
		if err != nil {
			return nil, err
		}
		n.scheduler.Start()
		n.compactor, err = compactor.New(compactor.Config{
			Interval: cfg.CompactorInterval, TargetChunkBytes: cfg.CompactorTargetChunkBytes, MaxMergeBytes: cfg.CompactorMaxMergeBytes,
			MergeAge: cfg.CompactorMergeAge, MaxSmallSegments: cfg.CompactorMaxSmallSegments, SettleAge: cfg.CompactorSettleAge,
			ReadGrace: cfg.CompactorReadGrace, OrphanGrace: cfg.CompactorOrphanGrace, OrphanScanInterval: cfg.CompactorOrphanScanInterval,
			RetentionInterval: cfg.CompactorRetentionInterval, LeaseTTL: cfg.CompactorLeaseTTL, SwapDelay: cfg.CompactorSwapDelay,
			NodeID: cfg.NodeID,
			Logger: logger.With("role", "compactor"),
		}, n.store, n.bucket, n.registry)
		if err != nil {
			n.scheduler.Stop()
			return nil, err
		}
		n.compactor.Start()
		n.deadLetters, err = compactor.NewDeadLetterSweeper(compactor.DeadLetterConfig{
			Interval: cfg.DeadLetterInterval, Logger: logger.With("role", "compactor"),
		}, n.store, n.bucket, n.registry)
		if err != nil {
			n.compactor.Stop()
			n.scheduler.Stop()
			return nil, err
		}
		n.deadLetters.Start()
	}

	if err := n.startTracing(); err != nil {
		return nil, err
	}
	if err := n.startOperate(adm, e, roles["compactor"]); err != nil {
		return nil, err
	}

	n.listener, err = listen(cfg, n.registry)
	if err != nil {
		if n.ingest != nil {
			_ = n.ingest.Stop(ctx)
		}
		return nil, err
	}
	if cfg.PprofListen != "" {
		go servePprof(cfg.PprofListen, logger)
	}
	if err := n.startGRPC(authSvc.Limiter()); err != nil {
		if n.ingest != nil {
			_ = n.ingest.Stop(ctx)
		}
		_ = n.listener.Close()
		return nil, err
	}
	if err := n.startClients(); err != nil {
		if n.ingest != nil {
			_ = n.ingest.Stop(ctx)
		}
		if n.grpc != nil {
			n.grpc.Stop()
		}
		_ = n.listener.Close()
		return nil, err
	}
	n.server = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { n.serveErr <- n.server.Serve(n.listener) }()
	logger.Info("floe serving", "addr", n.listener.Addr().String(), "roles", cfg.Roles, "tls", cfg.TLSCert != "")
	ok = true
	return n, nil
}

// primer returns the reader's chunk cache for the ingest role to prime with what it
// writes, or nil on a node without the reader role.
func (n *Node) primer() ingest.ChunkPrimer {
	if n.reader == nil {
		return nil
	}
	return n.reader.Cache()
}

func (n *Node) startReader(ctx context.Context, e *echo.Echo) error {
	var err error
	n.reader, err = reader.New(reader.Config{CacheBytes: n.cfg.CacheBytes, Logger: n.logger.With("role", "reader")}, n.store, n.bucket, n.registry)
	if err != nil {
		return err
	}
	httpapi.RegisterReader(e, n.reader)
	key := []byte(n.cfg.ReceiptSecret)
	if len(key) == 0 {
		candidate := make([]byte, 32)
		if _, err := rand.Read(candidate); err != nil {
			return fmt.Errorf("generating receipt secret: %w", err)
		}
		if key, err = n.store.SecretGet(ctx, "receipt-handle", candidate); err != nil {
			return err
		}
	}
	signer, err := reader.NewSigner(key)
	if err != nil {
		return fmt.Errorf("receipt secret: %w", err)
	}
	waker := reader.NewWaker()
	consumer, err := reader.NewConsumer(reader.ConsumerConfig{MinInvisible: n.cfg.MinInvisible, Logger: n.logger.With("role", "reader")}, n.store, n.reader.Cache(), signer, waker, n.registry)
	if err != nil {
		return err
	}
	httpapi.RegisterConsume(e, consumer, n.clients)
	n.consumer = consumer
	if err := n.registry.Register(reader.NewLagCollector(reader.LagMetricsConfig{Logger: n.logger.With("role", "reader")}, n.store)); err != nil {
		return fmt.Errorf("registering group lag metrics: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go n.store.Listen(lctx, []string{metadata.ChannelCommits, metadata.ChannelAcks}, func(channel, payload string) {
		if payload == "*" {
			waker.WakeAll()
			return
		}
		for _, key := range strings.Split(payload, ",") {
			waker.Wake(key)
		}
	})
	return nil
}

// startTracing records message paths into the trace topic: through this node's ingest
// path, or, on a node without the ingest role, through a private one that only writes
// traces (about one segment a second while there is traffic).
func (n *Node) startTracing() error {
	if n.ingest == nil && n.consumer == nil {
		return nil
	}
	node := n.cfg.NodeID
	if node == "" {
		node, _ = os.Hostname()
	}
	sink := n.ingest
	if sink == nil {
		var err error
		n.traceSink, err = ingest.New(ingest.Config{Linger: time.Second, NodeID: node + "-trace", Logger: n.logger.With("role", "trace")},
			n.store, n.bucket, nil)
		if err != nil {
			return err
		}
		n.traceSink.Start()
		sink = n.traceSink
	}
	var err error
	write := func(ctx context.Context, msgs []domain.Message) error {
		return sink.ProduceInternal(ctx, trace.Topic, msgs)
	}
	n.tracer, err = trace.NewRecorder(node, write, n.logger.With("component", "trace"), n.registry)
	if err != nil {
		return err
	}
	if n.ingest != nil {
		n.ingest.SetTracer(n.tracer)
	}
	if n.consumer != nil {
		n.consumer.SetTracer(n.tracer)
	}
	return nil
}

// startGRPC serves the RocketMQ 5 gRPC protocol on a node with the ingest or reader role.
func (n *Node) startGRPC(limiter *auth.Limiter) error {
	if n.cfg.GRPCListen == "" || (n.ingest == nil && n.consumer == nil) {
		return nil
	}
	var err error
	gcfg := grpcapi.Config{
		CertFile: n.cfg.GRPCCert, KeyFile: n.cfg.GRPCKey, Advertise: n.cfg.GRPCAdvertise,
		Logger: n.logger.With("component", "grpc"), Clients: n.clients,
	}
	if n.cfg.RequireAuth {
		ttl := n.cfg.AuthCacheTTL
		if ttl == 0 {
			ttl = 2 * time.Second
		}
		verifier := auth.NewSignatureVerifier(n.store, ttl, n.cfg.BootstrapAdminKey, nil)
		gcfg.Authenticate = func(ctx context.Context, c grpcapi.Credentials) (*grpcapi.Caller, error) {
			p, err := verifier.Verify(ctx, c.AccessKey, c.DateTime, c.Signature)
			if err != nil {
				return nil, err
			}
			return &grpcapi.Caller{Namespace: p.Namespace,
				Allowed: func(action, kind, name string) bool {
					return auth.Allowed(p.Permissions, action, kind+":"+name)
				},
				Take: func(messages, bytes, receives int) bool {
					ok, _, _ := limiter.TakeAll(p.KeyID, auth.Tokens{Quota: auth.QuotaProduce, N: messages},
						auth.Tokens{Quota: auth.QuotaProduceBytes, N: bytes}, auth.Tokens{Quota: auth.QuotaReceive, N: receives})
					return ok
				},
			}, nil
		}
	}
	n.grpc, err = grpcapi.New(gcfg, n.store, n.ingest, n.consumer, n.registry)
	if err != nil {
		return err
	}
	n.grpcAddr, err = n.grpc.Listen(n.cfg.GRPCListen)
	if err != nil {
		return err
	}
	n.logger.Info("floe serving gRPC (RocketMQ 5 clients)", "addr", n.grpcAddr.String())
	return nil
}

// GRPCAddr returns the gRPC listener's address, or nil when it is off.
func (n *Node) GRPCAddr() net.Addr { return n.grpcAddr }

// Addr is the address the HTTP server listens on.
func (n *Node) Addr() string { return n.listener.Addr().String() }

// Routes lists the HTTP routes the node serves.
func (n *Node) Routes() []*echo.Route { return n.echo.Routes() }

// Registry is the node's Prometheus registry.
func (n *Node) Registry() *prometheus.Registry { return n.registry }

// Done reports a failure of the HTTP server.
func (n *Node) Done() <-chan error { return n.serveErr }

// Shutdown stops taking requests, flushes and commits what ingest holds, and closes the
// store.
func (n *Node) Shutdown(ctx context.Context) error {
	var errs []error
	// The redrive runner records traces: it stops before the tracer.
	n.redriver.Stop()
	// Traces first, while the write path still takes them.
	n.tracer.Close()
	if n.traceSink != nil {
		if err := n.traceSink.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if n.ingest != nil {
		// Flush first, while the server still answers the requests that wait on the flush.
		if err := n.ingest.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if n.grpc != nil {
		n.grpc.Stop()
	}
	n.clientsPub.Stop()
	if err := n.server.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stopping HTTP server: %w", err))
	}
	if n.consumer != nil {
		// Messages claimed ahead go back at once, not after their hidden time.
		n.consumer.Close()
	}
	n.cancel()
	if n.scheduler != nil {
		n.scheduler.Stop()
	}
	if n.compactor != nil {
		n.compactor.Stop()
	}
	if n.deadLetters != nil {
		n.deadLetters.Stop()
	}
	n.closeStorage()
	return errors.Join(errs...)
}

func (n *Node) closeStorage() {
	n.cancel()
	if n.store != nil {
		n.store.Close()
	}
}

func (n *Node) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	// /readyz needs no key: the causes go to the log, not to the caller (they name hosts
	// and quote drivers).
	status := map[string]string{"postgres": "ok", "objectStore": "ok"}
	code := http.StatusOK
	if err := n.store.Ping(ctx); err != nil {
		n.logger.Warn("not ready: Postgres", "request_id", httpapi.RequestIDOf(c), "err", err)
		status["postgres"], code = "unavailable", http.StatusServiceUnavailable
	}
	if err := n.bucket.Check(ctx); err != nil {
		n.logger.Warn("not ready: object store", "request_id", httpapi.RequestIDOf(c), "err", err)
		status["objectStore"], code = "unavailable", http.StatusServiceUnavailable
	}
	return c.JSON(code, status)
}

// listen opens the API's listener: TLS only when a certificate is configured, so a plain
// HTTP request never reaches a handler (Go's server answers it 400 itself).
func listen(cfg Config, reg prometheus.Registerer) (net.Listener, error) {
	var tlsCfg *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("loading the TLS certificate and key: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	}
	tcp, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, listenError("listen", cfg.Listen, err)
	}
	l, err := newLimitListener(tcp, cmp.Or(cfg.MaxConnections, defaultMaxConnections), reg)
	if err != nil {
		_ = tcp.Close()
		return nil, fmt.Errorf("registering listener metrics: %w", err)
	}
	if tlsCfg != nil {
		return tls.NewListener(l, tlsCfg), nil
	}
	return httpapi.ProtocolErrorsAsJSON(l), nil
}

func openBucket(ctx context.Context, cfg Config) (objstore.Bucket, error) {
	switch cfg.ObjectStore {
	case "folder":
		if cfg.FolderDir == "" {
			return nil, errors.New("the folder object store needs --folder-dir")
		}
		return objstore.NewFolder(cfg.FolderDir)
	case "s3":
		if cfg.S3.Bucket == "" {
			return nil, errors.New("the s3 object store needs --s3-bucket (FLOE_S3_BUCKET)")
		}
		return objstore.NewS3(ctx, cfg.S3)
	}
	return nil, fmt.Errorf("unknown object store %q (want s3 or folder)", cfg.ObjectStore)
}

func requestLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if logger.Enabled(c.Request().Context(), slog.LevelDebug) {
				status := c.Response().Status
				if apiErr := httpapi.AnswerOf(err); apiErr != nil {
					status = apiErr.Status
				}
				logger.Debug("request", "request_id", httpapi.RequestIDOf(c), "method", c.Request().Method,
					"path", c.Request().URL.Path, "status", status, "duration", time.Since(start))
			}
			return err
		}
	}
}

// servePprof serves the Go profiles on addr until the process ends (--pprof-listen).
func servePprof(addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("pprof listener stopped", "addr", addr, "err", err)
	}
}
