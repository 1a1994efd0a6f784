package auth

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
)

const maxKeyRequestBytes = 64 << 10

// maxPermissions bounds one key's permission list.
const maxPermissions = 100

// CreateKeyRequest is the body of POST /v1/keys.
type CreateKeyRequest struct {
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
}

// KeyView is a key as the API shows it. Secret is set only in the answers of create and
// rotate: it is not stored and cannot be shown again.
type KeyView struct {
	ID          string       `json:"id"`
	Secret      string       `json:"secret,omitempty"`
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
	CreatedAt   time.Time    `json:"createdAt"`
	RotatedAt   *time.Time   `json:"rotatedAt,omitempty"`
}

// KeyList is the answer of GET /v1/keys.
type KeyList struct {
	Keys []KeyView `json:"keys"`
}

func view(k metadata.APIKey, secret string) KeyView {
	v := KeyView{ID: k.ID, Secret: secret, Name: k.Name, Permissions: fromStored(k.Permissions), CreatedAt: k.CreatedAt}
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
	if err := httpapi.CheckName("key name", req.Name); err != nil {
		return err
	}
	if len(req.Permissions) == 0 || len(req.Permissions) > maxPermissions {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "a key needs 1-%d permissions", maxPermissions)
	}
	for _, p := range req.Permissions {
		if err := p.Validate(); err != nil {
			return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "permission %s: %v", p, err)
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
		ID: id, Name: req.Name, SecretHash: h[:], Permissions: toStored(req.Permissions)})
	if err != nil {
		return unavailable("storing the key", err)
	}
	s.logger.Info("API key created", "key", k.ID, "name", k.Name, "by", callerID(c))
	return c.JSON(http.StatusCreated, view(k, secret))
}

func (s *Service) listKeys(c echo.Context) error {
	keys, err := s.store.KeyList(c.Request().Context())
	if err != nil {
		return unavailable("listing keys", err)
	}
	out := KeyList{Keys: make([]KeyView, 0, len(keys))}
	for _, k := range keys {
		out.Keys = append(out.Keys, view(k, ""))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Service) revokeKey(c echo.Context) error {
	id := c.Param("id")
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

func callerID(c echo.Context) string {
	if p := PrincipalOf(c); p != nil {
		return p.KeyID
	}
	return "anonymous"
}
