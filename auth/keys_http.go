package auth

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/namespace"
)

const maxKeyRequestBytes = 64 << 10

// maxPermissions bounds one key's permission list.
const maxPermissions = 100

// CreateKeyRequest is the body of POST /v1/keys.
type CreateKeyRequest struct {
	Name string `json:"name"`
	// Namespace is the tenant the key belongs to: its requests name topics and groups of
	// that namespace only. Empty: the caller's own namespace (the default one for the
	// bootstrap key). A key of a namespace creates keys of that namespace only.
	Namespace   string       `json:"namespace,omitempty"`
	Permissions []Permission `json:"permissions"`
}

// KeyView is a key as the API shows it. Secret is set only in the answers of create and
// rotate: it is not stored and cannot be shown again.
type KeyView struct {
	ID     string `json:"id"`
	Secret string `json:"secret,omitempty"`
	// RocketMQSecret is the secret the RocketMQ 5 clients sign gRPC calls with (their
	// AccessSecret; the key id is their AccessKey), shown with Secret.
	RocketMQSecret string `json:"rocketmqSecret,omitempty"`
	Name           string `json:"name"`
	// Namespace is "" for the default namespace.
	Namespace   string       `json:"namespace"`
	Permissions []Permission `json:"permissions"`
	CreatedAt   time.Time    `json:"createdAt"`
	RotatedAt   *time.Time   `json:"rotatedAt,omitempty"`
}

// KeyList is the answer of GET /v1/keys.
type KeyList struct {
	Keys []KeyView `json:"keys"`
}

func view(k metadata.APIKey, secret string) KeyView {
	v := KeyView{ID: k.ID, Secret: secret, Name: k.Name, Namespace: k.Namespace, Permissions: fromStored(k.Permissions), CreatedAt: k.CreatedAt}
	if secret != "" {
		v.RocketMQSecret = RocketMQSecret(secret)
	}
	if !k.RotatedAt.IsZero() {
		v.RotatedAt = &k.RotatedAt
	}
	return v
}

func unavailable(what string, err error) error {
	return httpapi.Errorf(http.StatusServiceUnavailable, httpapi.CodeUnavailable, "%s: %v", what, err)
}

func (s *Service) createKey(c echo.Context) error {
	var req CreateKeyRequest
	if err := httpapi.DecodeJSON(c, maxKeyRequestBytes, &req); err != nil {
		return err
	}
	if err := domain.CheckName("key name", req.Name); err != nil {
		return err
	}
	if err := namespace.Validate(req.Namespace); err != nil {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "%v", err)
	}
	if own := callerNamespace(c); own != "" {
		if req.Namespace == "" {
			req.Namespace = own
		}
		if req.Namespace != own {
			return httpapi.Errorf(http.StatusForbidden, CodeForbidden, "a key of namespace %s creates keys of that namespace only", own)
		}
	}
	if len(req.Permissions) == 0 || len(req.Permissions) > maxPermissions {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "a key needs 1-%d permissions", maxPermissions)
	}
	for _, p := range req.Permissions {
		if err := p.Validate(); err != nil {
			return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "permission %s: %v", p, err)
		}
		if p.Action == ActionMetrics && req.Namespace != "" {
			return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest,
				"permission %s: the metrics show every namespace; only keys of the default namespace may read them", p)
		}
	}
	id, err := NewKeyID()
	if err != nil {
		return err
	}
	secret, err := NewSecret()
	if err != nil {
		return err
	}
	h := HashSecret(secret)
	k, err := s.store.KeyCreate(c.Request().Context(), metadata.KeyCreateParams{
		ID: id, Name: req.Name, Namespace: req.Namespace, SecretHash: h[:], Permissions: toStored(req.Permissions)})
	if err != nil {
		return unavailable("storing the key", err)
	}
	s.logger.Info("API key created", "key", k.ID, "name", k.Name, "namespace", k.Namespace, "by", callerID(c))
	return c.JSON(http.StatusCreated, view(k, secret))
}

func (s *Service) listKeys(c echo.Context) error {
	keys, err := s.store.KeyList(c.Request().Context())
	if err != nil {
		return unavailable("listing keys", err)
	}
	own := callerNamespace(c)
	out := KeyList{Keys: make([]KeyView, 0, len(keys))}
	for _, k := range keys {
		if own == "" || k.Namespace == own {
			out.Keys = append(out.Keys, view(k, ""))
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Service) revokeKey(c echo.Context) error {
	id := c.Param("id")
	if err := domain.CheckID("key id", id); err != nil {
		return err
	}
	if err := s.checkKeyNamespace(c, id); err != nil {
		return err
	}
	err := s.store.KeyRevoke(c.Request().Context(), id)
	if errors.Is(err, metadata.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, CodeKeyNotFound, "no live key %s", id)
	}
	if err != nil {
		return unavailable("revoking the key", err)
	}
	s.authn.Forget(id) // at once here; other nodes within the cache TTL
	s.logger.Info("API key revoked", "key", id, "by", callerID(c))
	return c.NoContent(http.StatusNoContent)
}

func (s *Service) rotateKey(c echo.Context) error {
	id := c.Param("id")
	if err := domain.CheckID("key id", id); err != nil {
		return err
	}
	if err := s.checkKeyNamespace(c, id); err != nil {
		return err
	}
	secret, err := NewSecret()
	if err != nil {
		return err
	}
	h := HashSecret(secret)
	k, err := s.store.KeyRotate(c.Request().Context(), id, h[:])
	if errors.Is(err, metadata.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, CodeKeyNotFound, "no live key %s", id)
	}
	if err != nil {
		return unavailable("rotating the key", err)
	}
	s.authn.Forget(id)
	s.logger.Info("API key rotated", "key", id, "by", callerID(c))
	return c.JSON(http.StatusOK, view(k, secret))
}

// callerNamespace is the namespace of the caller's key: "" for the default namespace
// (whose key admins manage the keys of every namespace) and when auth is off.
func callerNamespace(c echo.Context) string {
	if p := PrincipalOf(c); p != nil {
		return p.Namespace
	}
	return ""
}

// checkKeyNamespace answers 404 when a caller of a namespace names a key of another one:
// to that caller, other namespaces' keys do not exist.
func (s *Service) checkKeyNamespace(c echo.Context, id string) error {
	own := callerNamespace(c)
	if own == "" {
		return nil
	}
	k, err := s.store.KeyGet(c.Request().Context(), id)
	if errors.Is(err, metadata.ErrNotFound) || (err == nil && k.Namespace != own) {
		return httpapi.Errorf(http.StatusNotFound, CodeKeyNotFound, "no live key %s", id)
	}
	if err != nil {
		return unavailable("reading the key", err)
	}
	return nil
}

func callerID(c echo.Context) string {
	if p := PrincipalOf(c); p != nil {
		return p.KeyID
	}
	return "anonymous"
}
