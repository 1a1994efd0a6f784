package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"github.com/labstack/echo/v4"
)

// HeaderRequestID carries a request's id, in the answer always and in the request when a
// load balancer or the caller gives one.
const HeaderRequestID = echo.HeaderXRequestID

const requestIDKey = "floe.request_id"

// requestIDRE is the shape of an incoming request id Floe takes over: short and plain, as
// it goes into logs and error messages.
var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestID gives every request an id, sent back in the X-Request-Id header and written
// with the log line of every 5xx answer, whose message quotes it (ErrorHandler): an
// operator finds the cause of a user's failure without the failure's text, which may
// quote a database driver, reaching the user. An incoming X-Request-Id of a plain shape
// (a load balancer's) is kept; any other is replaced. echo's middleware.RequestID takes
// any incoming value, however long or strange, which is why this one is not it.
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(HeaderRequestID)
			if !requestIDRE.MatchString(id) {
				id = newRequestID()
			}
			c.Set(requestIDKey, id)
			c.Response().Header().Set(HeaderRequestID, id)
			return next(c)
		}
	}
}

// RequestIDOf returns the request's id, or "" when RequestID did not run.
func RequestIDOf(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
