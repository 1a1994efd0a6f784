package ingest

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/httpapi"
)

// Register adds the write path's routes to an echo router.
func (s *Service) Register(e *echo.Echo) {
	e.POST("/v1/topics/:topic/messages", s.handleSend)
	e.POST("/v1/topics/:topic/messages/recall", s.handleRecall)
	e.POST("/v1/topics/:topic/transactions", s.handleSendTransaction)
	e.GET("/v1/transactions/:id", s.handleTransactionGet)
	e.POST("/v1/transactions/:id/commit", s.handleResolve(true))
	e.POST("/v1/transactions/:id/rollback", s.handleResolve(false))
	e.GET("/v1/producer-groups/:pg/transaction-checks", s.handleTransactionChecks)
}

func (s *Service) handleSend(c echo.Context) error {
	var req httpapi.SendRequest
	if err := httpapi.DecodeSendRequest(c, s.cfg.MaxRequestBytes, &req); err != nil {
		return err
	}
	topic, err := httpapi.TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	res, err := s.Produce(c.Request().Context(), topic, httpapi.DomainMessages(req.Messages))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.SendResponse{Messages: res})
}
