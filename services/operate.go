package services

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/console"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/reader"
)

// startOperate wires the operator's tools: the web console, browsing and offsets-for-time on reader nodes,
// dead letters chosen by id through the reader, and the redrive runner on compactor nodes
// (background work lives there; tasks are shared through Postgres).
func (n *Node) startOperate(adm *admin.Service, e *echo.Echo, runRedrive bool) error {
	if !n.cfg.NoConsole {
		if err := console.Register(e, console.Config{Version: Version}); err != nil {
			return err
		}
	}
	cfg := admin.RedriverConfig{Logger: n.logger.With("component", "redrive")}
	if n.reader != nil {
		httpapi.RegisterReaderOperate(e, n.reader)
		adm.SetMessages(n.reader)
		cfg.Messages = n.reader
	}
	if n.tracer != nil {
		cfg.Tracer = n.tracer
	}
	if !runRedrive {
		return nil
	}
	if cfg.Messages == nil {
		// A compactor node without the reader role still reads the dead letters it
		// redrives into FIFO and LITE topics: their message groups and lite topics choose
		// the queues. A small cache of its own, unregistered: the reader role's metrics
		// are not this node's.
		rd, err := reader.New(reader.Config{CacheBytes: 16 << 20, Logger: n.logger.With("component", "redrive")}, n.store, n.bucket, nil)
		if err != nil {
			return err
		}
		cfg.Messages = rd
	}
	r, err := admin.NewRedriver(cfg, n.store, n.registry)
	if err != nil {
		return err
	}
	r.Start()
	n.redriver = r
	return nil
}

// notFlag is a boolean flag that sets the negation of a field, so that a feature on by
// default is on in the zero Config too (--console sets NoConsole).
type notFlag struct{ p *bool }

func (f notFlag) String() string {
	if f.p == nil {
		return "true"
	}
	return strconv.FormatBool(!*f.p)
}

func (f notFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*f.p = !b
	return nil
}

// IsBoolFlag lets --console stand alone, like a bool flag.
func (f notFlag) IsBoolFlag() bool { return true }
