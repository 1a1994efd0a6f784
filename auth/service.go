package auth

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
)

// Error codes of authentication, authorization and quotas.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeKeyNotFound     = "KEY_NOT_FOUND"
)

// Config configures the auth service.
type Config struct {
	// Required turns authentication on for every route but /healthz, /readyz and (unless
	// MetricsRequireAuth) /metrics. Off, the /v1/keys routes are still served, unprotected.
	Required bool
	// BootstrapKey, when set, is accepted as admin on every resource.
	BootstrapKey string
	// MetricsRequireAuth makes /metrics ask for a key of the default namespace with the
	// metrics permission (admin on * has it). It applies when Required is on.
	MetricsRequireAuth bool
	// CacheTTL is how long a key lookup is remembered; default 2 s. A key revoked on
	// another node works at most this long.
	CacheTTL time.Duration
	// ProduceRate is messages a second per key (0 = unlimited).
	ProduceRate float64
	// ProduceBytesRate is request body bytes a second of produce calls per key (0 =
	// unlimited).
	ProduceBytesRate float64
	// ReceiveRate is receive calls a second per key (0 = unlimited).
	ReceiveRate float64
	// MaxPeekBytes bounds how much of a body is read before the handler to count messages
	// or find a created resource's name; default 64 MiB, ingest's request limit.
	MaxPeekBytes int64
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store is what the service keeps keys in (metadata.Store).
type Store interface {
	KeyStore
	KeyCreate(ctx context.Context, p metadata.KeyCreateParams) (metadata.APIKey, error)
	KeyList(ctx context.Context) ([]metadata.APIKey, error)
	KeyGet(ctx context.Context, id string) (metadata.APIKey, error)
	KeyRevoke(ctx context.Context, id string) error
	KeyRotate(ctx context.Context, id string, secretHash []byte) (metadata.APIKey, error)
}

// Service checks requests and serves /v1/keys.
type Service struct {
	cfg       Config
	store     Store
	authn     *Authenticator
	limiter   *Limiter
	logger    *slog.Logger
	requests  *prometheus.CounterVec
	throttled *prometheus.CounterVec

	routesOnce sync.Once
	registered map[string]bool
}

// New returns the auth service; metrics are registered on reg (nil: not registered).
func New(cfg Config, store Store, reg prometheus.Registerer) (*Service, error) {
	cfg.CacheTTL = cmp.Or(cfg.CacheTTL, 2*time.Second)
	cfg.MaxPeekBytes = cmp.Or(cfg.MaxPeekBytes, 64<<20)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheTTL > 5*time.Second {
		return nil, fmt.Errorf("auth cache TTL %s: at most 5s, so a revoked key stops within 5s", cfg.CacheTTL)
	}
	s := &Service{
		cfg:   cfg,
		store: store,
		authn: NewAuthenticator(store, cfg.CacheTTL, cfg.BootstrapKey, cfg.Now),
		limiter: NewLimiter(map[string]float64{QuotaProduce: cfg.ProduceRate, QuotaProduceBytes: cfg.ProduceBytesRate,
			QuotaReceive: cfg.ReceiveRate}, cfg.Now),
		logger: cfg.Logger,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_auth_requests_total",
			Help: "Requests checked by auth, by result: ok, unauthenticated, forbidden.",
		}, []string{"result"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_auth_throttled_total",
			Help: "Requests refused with 429 by a per-key quota, by quota (produce, produce_bytes, receive).",
		}, []string{"action"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.requests, s.throttled} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering auth metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Limiter is the service's per-key quota buckets, for front ends other than HTTP (the
// gRPC port) to draw from the same quotas.
func (s *Service) Limiter() *Limiter { return s.limiter }

// Register adds the /v1/keys routes and, when auth is required, the middleware that checks
// every request. With auth off every caller is in the default namespace and sees all
// namespaces (httpapi.Tenant.SeesAll), as anyone may do anything anyway.
func (s *Service) Register(e *echo.Echo) {
	e.POST("/v1/keys", s.createKey)
	e.GET("/v1/keys", s.listKeys)
	e.DELETE("/v1/keys/:id", s.revokeKey)
	e.POST("/v1/keys/:id/rotate", s.rotateKey)
	if s.cfg.Required {
		e.Use(s.Middleware(e))
		return
	}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			httpapi.SetTenant(c, httpapi.Tenant{SeesAll: true})
			return next(c)
		}
	})
}

// openRoutes need no key: health, and the API's description and reference page, which
// a newcomer must be able to read before holding a key.
var openRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true,
	"GET /v1/openapi.json": true, "GET /docs": true, "GET /docs/:file": true}

const principalKey = "floe.auth.principal"

// PrincipalOf returns the caller of an authenticated request, or nil.
func PrincipalOf(c echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	return p
}

// Middleware authenticates the request's key, checks the route's permissions in Routes
// and takes its quota, all before the handler runs, so a refused request stores nothing.
// e is the router, to tell a route missing from Routes (denied) from no route (404).
func (s *Service) Middleware(e *echo.Echo) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			route := c.Request().Method + " " + c.Path()
			if openRoutes[route] || (route == "GET /metrics" && !s.cfg.MetricsRequireAuth) {
				return next(c)
			}
			secret, ok := ParseAuthorization(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return s.unauthenticated(c, "missing or malformed Authorization header: want Bearer <API key>")
			}
			p, err := s.authn.Authenticate(c.Request().Context(), secret)
			if errors.Is(err, ErrUnauthenticated) {
				return s.unauthenticated(c, "unknown or revoked API key")
			}
			if err != nil {
				return httpapi.Errorf(http.StatusServiceUnavailable, httpapi.CodeUnavailable, "checking the API key: %v", err)
			}
			c.Set(principalKey, p)
			httpapi.SetTenant(c, p.Tenant())
			if route == "GET /metrics" {
				// The metrics name every namespace's topics and groups: the operator's view.
				if p.Namespace != "" || !Allowed(p.Permissions, ActionMetrics, "*") {
					return s.forbidden(c, p, "key %s may not read the metrics: that takes the metrics permission on a key of the default namespace", p.KeyID)
				}
				s.requests.WithLabelValues("ok").Inc()
				return next(c)
			}
			rule, ok := Routes[route]
			if !ok {
				if !s.isRegistered(e, route) {
					return next(c) // echo's 404 or 405 handler: nothing to protect
				}
				return s.forbidden(c, p, "route %s is not in the authorization table", route)
			}
			// Decide first what needs no body, so that a refused key costs no body read:
			// needs named in the path, and, for a name in the body, whether the key may
			// do the action on any resource of the kind at all.
			for _, n := range rule.Needs {
				if n.BodyName {
					if !AllowedOnAnyOf(p.Permissions, n.Action, n.Kind) {
						return s.forbidden(c, p, "key %s may not %s any %s", p.KeyID, n.Action, n.Kind)
					}
					continue
				}
				if !s.allowed(c, p, n, nil) {
					return s.forbidden(c, p, "key %s may not %s %s", p.KeyID, n.Action, describe(c, n, nil))
				}
			}
			if namesInBody(rule) {
				// Create bodies are small: read at most their limit to find the name.
				body, err := peekBody(c, httpapi.MaxCreateRequestBytes)
				if err != nil {
					return err
				}
				for _, n := range rule.Needs {
					if n.BodyName && !s.allowed(c, p, n, body) {
						return s.forbidden(c, p, "key %s may not %s %s", p.KeyID, n.Action, describe(c, n, body))
					}
				}
			}
			s.requests.WithLabelValues("ok").Inc()
			if rule.Quota != "" {
				takes := []Tokens{{Quota: rule.Quota, N: 1}}
				if rule.Quota == QuotaProduce {
					// Counting messages and bytes needs the body; without a produce
					// quota the handler alone reads it.
					var body []byte
					if s.cfg.ProduceRate > 0 || s.cfg.ProduceBytesRate > 0 {
						if body, err = peekBody(c, s.cfg.MaxPeekBytes); err != nil {
							return err
						}
					}
					takes = []Tokens{{Quota: QuotaProduce, N: countMessages(body)}, {Quota: QuotaProduceBytes, N: len(body)}}
				}
				if ok, quota, wait := s.limiter.TakeAll(p.KeyID, takes...); !ok {
					s.throttled.WithLabelValues(quota).Inc()
					secs := int(math.Ceil(wait.Seconds()))
					c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
					return httpapi.Errorf(http.StatusTooManyRequests, httpapi.CodeThrottled,
						"key %s is over its %s quota; retry in %s", p.KeyID, quota, wait.Round(time.Millisecond))
				}
			}
			return next(c)
		}
	}
}

func (s *Service) unauthenticated(c echo.Context, msg string) error {
	s.requests.WithLabelValues("unauthenticated").Inc()
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="floe"`)
	return httpapi.Errorf(http.StatusUnauthorized, CodeUnauthenticated, "%s", msg)
}

func (s *Service) forbidden(c echo.Context, p *Principal, format string, args ...any) error {
	s.requests.WithLabelValues("forbidden").Inc()
	s.logger.Debug("request forbidden", "key", p.KeyID, "method", c.Request().Method, "path", c.Request().URL.Path)
	return httpapi.Errorf(http.StatusForbidden, CodeForbidden, format, args...)
}

func (s *Service) isRegistered(e *echo.Echo, route string) bool {
	s.routesOnce.Do(func() {
		s.registered = map[string]bool{}
		for _, r := range e.Routes() {
			s.registered[r.Method+" "+r.Path] = true
		}
	})
	return s.registered[route]
}

func (s *Service) allowed(c echo.Context, p *Principal, n Need, body []byte) bool {
	if n.AnyOfKind {
		return AllowedOnAnyOf(p.Permissions, n.Action, n.Kind)
	}
	return Allowed(p.Permissions, n.Action, Resource(n.Kind, resourceName(c, n, body)))
}

func describe(c echo.Context, n Need, body []byte) string {
	if n.AnyOfKind {
		return "any " + n.Kind
	}
	return Resource(n.Kind, resourceName(c, n, body))
}

func resourceName(c echo.Context, n Need, body []byte) string {
	switch {
	case n.Param != "":
		return c.Param(n.Param)
	case n.BodyName:
		var v struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(body, &v) // a bad body names no resource; the handler says why
		return v.Name
	}
	return n.Name
}

// namesInBody reports whether a rule takes a resource name from the body.
func namesInBody(r Rule) bool {
	for _, n := range r.Needs {
		if n.BodyName {
			return true
		}
	}
	return false
}

func tooLarge(limit int64) error {
	return httpapi.Errorf(http.StatusRequestEntityTooLarge, httpapi.CodeTooLarge, "request body exceeds %d bytes", limit)
}

// countMessages counts a produce body's messages; a body that does not parse counts as one
// (the handler rejects it).
func countMessages(body []byte) int {
	var v struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Messages) == 0 {
		return 1
	}
	return len(v.Messages)
}

// peekBody reads the body, which must hold at most limit bytes (413 otherwise), and puts
// it back, so the handler reads the whole body as sent.
func peekBody(c echo.Context, limit int64) ([]byte, error) {
	req := c.Request()
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	buf, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, httpapi.Errorf(http.StatusRequestTimeout, httpapi.CodeRequestTimeout, "the request body did not arrive in time")
	}
	if err != nil {
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "reading request body")
	}
	if int64(len(buf)) > limit {
		return nil, tooLarge(limit)
	}
	req.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), req.Body), req.Body}
	return buf, nil
}
