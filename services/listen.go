package services

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// checkListenFree fails when an address the node will listen on is taken, so that a busy
// port is the first thing said, before database set-up and its warnings. The listeners
// opened here are closed again; a program that takes the port in between still makes
// the real listen fail, with the same message.
func checkListenFree(cfg Config) error {
	addrs := []struct{ flag, addr string }{{"listen", cfg.Listen}}
	// Only the ingest and reader roles serve gRPC.
	if roles, err := cfg.roles(); err == nil && (roles["ingest"] || roles["reader"]) {
		addrs = append(addrs, struct{ flag, addr string }{"grpc-listen", cfg.GRPCListen})
	}
	for _, a := range addrs {
		if a.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			return listenError(a.flag, a.addr, err)
		}
		l.Close()
	}
	return nil
}

// listenError explains a failed listen, naming the flag and variable that change it.
func listenError(flagName, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s is already in use (another floe, or another program, listens there): stop it, or choose another address with --%s or %s",
			addr, flagName, EnvName(flagName))
	}
	return fmt.Errorf("listening on %s (--%s): %w", addr, flagName, err)
}

// corsMiddleware lets browser pages of the given origins (comma-separated, or *) call the
// API, with the Authorization header.
func corsMiddleware(origins string) echo.MiddlewareFunc {
	var allow []string
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			allow = append(allow, o)
		}
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: allow,
		AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType},
		MaxAge:       600,
	})
}
