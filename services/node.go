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
	lagHistory  *reader.LagHistory
	tracer      *trace.Recorder
	traceSink   *ingest.Service
	echo        *echo.Echo
	grpc        *grpcapi.Server
	grpcAddr    net.Addr
	server      *http.Server
	listener    net.Listener
	serveErr    chan error
	cancel      context.CancelFunc
	admin       *admin.Service
	limiter     *auth.Limiter
	modules     *moduleSet

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
	n.echo = e
	n.clients = presence.NewTable()

	var targets []string
	for _, r := range []string{"reader", "ingest", "compactor"} {
		if roles[r] {
			targets = append(targets, r)
		}
	}
	n.modules = newModuleSet(n.moduleList()...)
	if err := n.modules.start(ctx, append(targets, nodeModules...)); err != nil {
		return nil, err
	}
	logger.Info("floe serving", "addr", n.listener.Addr().String(), "roles", cfg.Roles, "tls", cfg.TLSCert != "")
	ok = true
	return n, nil
}

// nodeModules are the modules every node runs, besides its roles' (reader, ingest,
// compactor).
var nodeModules = []string{"api", "listener", "tracing", "grpc", "clients", "drain", "traceflush", "operate", "serve"}

// moduleList declares the modules of a node. Started in dependency order, they stop in
// the reverse order, which is what a clean stop needs: the redrive runner before the
// tracer it records to, the tracer before the write path it writes through, the write
// path's last flush while both servers still answer the requests waiting on it, the
// servers before the consumer takes back what it claimed ahead.
func (n *Node) moduleList() []module {
	return []module{
		{name: "api", start: n.startAPI},
		{name: "reader", deps: []string{"api"}, start: n.startReader, stop: func(context.Context) error {
			n.lagHistory.Stop()
			// Messages claimed ahead go back at once, not after their hidden time.
			n.consumer.Close()
			n.cancel()
			return nil
		}},
		// After the reader: the write path primes the reader's chunk cache with what it
		// writes (primer).
		{name: "ingest", deps: []string{"api"}, after: []string{"reader"}, start: n.startIngest, stop: n.stopIngest},
		// After the reader: merges take the chunks they rewrite from the reader's cache
		// when it still holds them (cachedChunks).
		{name: "compactor", deps: []string{"api"}, after: []string{"reader"}, start: n.startCompactor, stop: func(context.Context) error {
			n.scheduler.Stop()
			n.compactor.Stop()
			n.deadLetters.Stop()
			return nil
		}},
		{name: "listener", deps: []string{"api"}, after: []string{"reader", "ingest", "compactor"}, start: n.startListener, stop: n.stopListener},
		// The tracer is set on the write path and the consumer before any server takes a
		// call; it is closed by traceflush.
		{name: "tracing", deps: []string{"api"}, after: []string{"reader", "ingest"}, start: func(context.Context) error { return n.startTracing() }},
		{name: "grpc", deps: []string{"listener"}, after: []string{"reader", "ingest", "tracing"}, start: func(context.Context) error { return n.startGRPC(n.limiter) },
			stop: func(context.Context) error {
				if n.grpc != nil {
					n.grpc.Stop()
				}
				return nil
			}},
		{name: "clients", deps: []string{"listener"}, after: []string{"grpc", "reader"}, start: func(context.Context) error { return n.startClients() },
			stop: func(context.Context) error { n.clientsPub.Stop(); return nil }},
		// drain flushes the write path while the servers still answer (it stops before
		// clients, grpc and listener).
		{name: "drain", deps: []string{"listener"}, after: []string{"ingest", "grpc", "clients"}, start: func(context.Context) error { return nil },
			stop: n.stopIngest},
		// traceflush writes the last traces while the write path still takes them (it
		// stops before drain).
		{name: "traceflush", deps: []string{"tracing"}, after: []string{"drain"}, start: func(context.Context) error { return nil },
			stop: func(ctx context.Context) error {
				n.tracer.Close()
				if n.traceSink != nil {
					return n.traceSink.Stop(ctx)
				}
				return nil
			}},
		{name: "operate", deps: []string{"api", "tracing"}, after: []string{"reader", "compactor", "traceflush"},
			start: func(context.Context) error { return n.startOperate(n.admin, n.echo, n.compactor != nil) },
			// The redrive runner records traces: it stops before the tracer.
			stop: func(context.Context) error { n.redriver.Stop(); return nil }},
		{name: "serve", deps: []string{"listener"}, after: []string{"grpc", "clients", "drain", "traceflush", "operate"}, start: n.startServe},
	}
}

// startAPI serves authentication, the API keys' routes and the management routes, which
// every node answers.
func (n *Node) startAPI(context.Context) error {
	authSvc, err := auth.New(auth.Config{
		Required: n.cfg.RequireAuth, BootstrapKey: n.cfg.BootstrapAdminKey, MetricsRequireAuth: n.cfg.MetricsRequireAuth,
		CacheTTL: n.cfg.AuthCacheTTL, ProduceRate: n.cfg.QuotaProduceRate, ReceiveRate: n.cfg.QuotaReceiveRate,
		ProduceBytesRate: n.cfg.QuotaProduceBytesRate,
		Logger:           n.logger.With("component", "auth"),
	}, n.store, n.registry)
	if err != nil {
		return err
	}
	authSvc.Register(n.echo)
	if !n.cfg.RequireAuth {
		n.logger.Warn("auth is off: every API route is open, /v1/keys too (--require-auth turns it on)")
	}
	n.limiter = authSvc.Limiter()
	n.admin = admin.New(n.store)
	httpapi.RegisterAdmin(n.echo, n.admin, n.store)
	return nil
}

// secret returns the secret all nodes share under name: configured when set, else the
// one kept in Postgres, which the first node to ask stores (a random one).
func (n *Node) secret(ctx context.Context, name string, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	candidate := make([]byte, 32)
	if _, err := rand.Read(candidate); err != nil {
		return nil, fmt.Errorf("generating %s secret: %w", name, err)
	}
	key, err := n.store.SecretGet(ctx, name, candidate)
	if err != nil {
		return nil, fmt.Errorf("%s secret: %w", name, err)
	}
	return key, nil
}

func (n *Node) startIngest(ctx context.Context) error {
	// Every ingest node signs and checks recall handles with one secret, kept in Postgres
	// like the receipt secret (a separate one: a handle of one kind never verifies as the
	// other).
	recallKey, err := n.secret(ctx, "recall-handle", "")
	if err != nil {
		return err
	}
	cfg := n.cfg
	n.ingest, err = ingest.New(ingest.Config{
		RecallSecret: recallKey,
		Linger:       cfg.Linger, FlushBytes: cfg.FlushBytes, MaxBufferedBytes: cfg.MaxBufferedBytes,
		MaxUploads: cfg.MaxUploads, NodeID: cfg.NodeID, Logger: n.logger.With("role", "ingest"),
		MaxDelay: cfg.MaxDelay, TransactionFirstCheck: cfg.TransactionFirstCheck,
		TransactionCheckInterval: cfg.TransactionCheckInterval, TransactionMaxChecks: cfg.TransactionMaxChecks,
		Chunks: n.primer(),
	}, n.store, n.bucket, n.registry)
	if err != nil {
		return err
	}
	n.ingest.Start()
	httpapi.RegisterIngest(n.echo, n.ingest, n.admin, n.store)
	return nil
}

// stopIngest flushes and commits what the write path holds; it may run twice.
func (n *Node) stopIngest(ctx context.Context) error {
	if n.ingest == nil {
		return nil
	}
	return n.ingest.Stop(ctx)
}

func (n *Node) startCompactor(context.Context) error {
	cfg := n.cfg
	var err error
	n.scheduler, err = scheduler.New(scheduler.Config{
		TransactionMaxChecks: cfg.TransactionMaxChecks,
		TransactionTimeout:   cfg.TransactionFirstCheck + time.Duration(cfg.TransactionMaxChecks)*cfg.TransactionCheckInterval,
		CommitUnresolved:     cfg.TransactionPolicy == "commit",
		Logger:               n.logger.With("role", "compactor"),
	}, n.store, n.registry)
	if err != nil {
		return err
	}
	n.scheduler.Start()
	n.compactor, err = compactor.New(compactor.Config{
		Interval: cfg.CompactorInterval, TargetChunkBytes: cfg.CompactorTargetChunkBytes, MaxMergeBytes: cfg.CompactorMaxMergeBytes,
		MergeAge: cfg.CompactorMergeAge, MaxSmallSegments: cfg.CompactorMaxSmallSegments, SettleAge: cfg.CompactorSettleAge,
		ReadGrace: cfg.CompactorReadGrace, OrphanGrace: cfg.CompactorOrphanGrace, OrphanScanInterval: cfg.CompactorOrphanScanInterval,
		RetentionInterval: cfg.CompactorRetentionInterval, LeaseTTL: cfg.CompactorLeaseTTL, SwapDelay: cfg.CompactorSwapDelay,
		NodeID: cfg.NodeID, Chunks: n.cachedChunks(),
		Logger: n.logger.With("role", "compactor"),
	}, n.store, n.bucket, n.registry)
	if err != nil {
		n.scheduler.Stop()
		return err
	}
	n.compactor.Start()
	n.deadLetters, err = compactor.NewDeadLetterSweeper(compactor.DeadLetterConfig{
		Interval: cfg.DeadLetterInterval, Logger: n.logger.With("role", "compactor"),
	}, n.store, n.bucket, n.registry)
	if err != nil {
		n.compactor.Stop()
		n.scheduler.Stop()
		return err
	}
	n.deadLetters.Start()
	return nil
}

// startListener opens the HTTP listener (serving starts last, in startServe).
func (n *Node) startListener(context.Context) error {
	var err error
	n.listener, err = listen(n.cfg, n.registry)
	if err != nil {
		return err
	}
	if n.cfg.PprofListen != "" {
		go servePprof(n.cfg.PprofListen, n.logger)
	}
	return nil
}

// stopListener stops the HTTP server, letting the requests in flight finish, or closes
// the listener when the server never started.
func (n *Node) stopListener(ctx context.Context) error {
	if n.server == nil {
		return n.listener.Close()
	}
	if err := n.server.Shutdown(ctx); err != nil {
		return fmt.Errorf("stopping HTTP server: %w", err)
	}
	return nil
}

func (n *Node) startServe(context.Context) error {
	n.server = &http.Server{Handler: n.echo, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { n.serveErr <- n.server.Serve(n.listener) }()
	return nil
}

// primer returns the reader's chunk cache for the ingest role to prime with what it
// writes, or nil on a node without the reader role.
func (n *Node) primer() ingest.ChunkPrimer {
	if n.reader == nil {
		return nil
	}
	return n.reader.Cache()
}

// cachedChunks returns the reader's chunk cache for the compactor to take merge sources
// from, or nil on a node without the reader role.
func (n *Node) cachedChunks() compactor.ChunkSource {
	if n.reader == nil {
		return nil
	}
	return n.reader.Cache()
}

func (n *Node) startReader(ctx context.Context) error {
	e := n.echo
	var err error
	n.reader, err = reader.New(reader.Config{CacheBytes: n.cfg.CacheBytes, ReadAheadBytes: cmp.Or(n.cfg.ReadAheadBytes, -1), Logger: n.logger.With("role", "reader")}, n.store, n.bucket, n.registry)
	if err != nil {
		return err
	}
	httpapi.RegisterReader(e, n.reader)
	key, err := n.secret(ctx, "receipt-handle", n.cfg.ReceiptSecret)
	if err != nil {
		return err
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
	lags := reader.NewLagCollector(reader.LagMetricsConfig{Logger: n.logger.With("role", "reader")}, n.store)
	if err := n.registry.Register(lags); err != nil {
		return fmt.Errorf("registering group lag metrics: %w", err)
	}
	n.lagHistory = reader.NewLagHistory(lags, n.cfg.LagHistoryInterval)
	httpapi.RegisterLagHistory(e, consumer, n.lagHistory)
	n.lagHistory.Start()
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
	err := n.modules.stop(ctx)
	n.closeStorage()
	return err
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
