package services

import (
	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
)

// startOperate wires the operator's tools: browsing and offsets-for-time on reader nodes,
// dead letters chosen by id through the reader, and the redrive runner on compactor nodes
// (background work lives there; tasks are shared through Postgres).
func (n *Node) startOperate(adm *admin.Service, e *echo.Echo, runRedrive bool) error {
	cfg := admin.RedriverConfig{Logger: n.logger.With("component", "redrive")}
	if n.reader != nil {
		n.reader.RegisterOperate(e)
		adm.SetMessages(n.reader)
		cfg.Messages = n.reader
	}
	if n.tracer != nil {
		cfg.Tracer = n.tracer
	}
	if !runRedrive {
		return nil
	}
	r, err := admin.NewRedriver(cfg, n.store, n.registry)
	if err != nil {
		return err
	}
	r.Start()
	n.redriver = r
	return nil
}
