package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/ingest"
	"github.com/floemq/floe/metadata"
)

// ingestRoutes serves the write path's routes on an ingest.Service.
type ingestRoutes struct {
	*ingest.Service
	cfg   ingest.Config
	store *metadata.Store
	admin *admin.Service
}

// RegisterIngest adds the write path's routes to an echo router.
func RegisterIngest(e *echo.Echo, svc *ingest.Service, adm *admin.Service, store *metadata.Store) {
	s := &ingestRoutes{Service: svc, cfg: svc.Config(), store: store, admin: adm}
	e.POST("/v1/topics/:topic/messages", s.handleSend)
	e.POST("/v1/topics/:topic/messages/recall", s.handleRecall)
	e.POST("/v1/topics/:topic/transactions", s.handleSendTransaction)
	e.GET("/v1/transactions/:id", s.handleTransactionGet)
	e.POST("/v1/transactions/:id/commit", s.handleResolve(true))
	e.POST("/v1/transactions/:id/rollback", s.handleResolve(false))
	e.GET("/v1/producer-groups/:pg/transaction-checks", s.handleTransactionChecks)
}

func (s *ingestRoutes) handleSend(c echo.Context) error {
	var req SendRequest
	if err := DecodeSendRequest(c, s.cfg.MaxRequestBytes, &req); err != nil {
		return err
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	res, err := s.Produce(c.Request().Context(), topic, DomainMessages(req.Messages))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, SendResponse{Messages: res})
}

func (s *ingestRoutes) handleSendTransaction(c echo.Context) error {
	var req TransactionRequest
	if err := DecodeJSON(c, s.cfg.MaxRequestBytes, &req); err != nil {
		return err
	}
	tenant := TenantOf(c)
	topic, err := tenant.Param(c, "topic")
	if err != nil {
		return err
	}
	if err := domain.CheckName("producerGroup", req.ProducerGroup); err != nil {
		return err
	}
	txID, res, err := s.ProduceTransaction(c.Request().Context(), topic, tenant.Stored(req.ProducerGroup), DomainMessages(req.Messages))
	if err != nil {
		return err
	}
	out := TransactionResponse{TransactionID: txID, Messages: make([]HalfMessage, len(res))}
	for i, r := range res {
		out.Messages[i].MessageID = r.MessageID
	}
	return c.JSON(http.StatusOK, out)
}

func (s *ingestRoutes) handleResolve(commit bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		if err := domain.CheckID("transaction id", id); err != nil {
			return err
		}
		tenant := TenantOf(c)
		var visible func(topic string) bool
		if !tenant.SeesAll || tenant.Namespace != "" {
			// A transaction of a topic outside the caller's namespace is not found, as if
			// it did not exist.
			visible = func(topic string) bool { _, ok := tenant.Visible(topic); return ok }
		}
		state, err := s.admin.TransactionResolve(c.Request().Context(), id, commit, visible)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, TransactionState{TransactionID: id, State: state})
	}
}

func (s *ingestRoutes) handleTransactionGet(c echo.Context) error {
	id := c.Param("id")
	if err := domain.CheckID("transaction id", id); err != nil {
		return err
	}
	state, topic, err := s.store.TransactionGet(c.Request().Context(), id)
	if err == nil {
		if _, ok := TenantOf(c).Visible(topic); !ok {
			err = metadata.ErrNotFound
		}
	}
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrTransactionNotFound, "no transaction %s", id)
	}
	if err != nil {
		return unavailable("reading transaction %s: %v", id, err)
	}
	return c.JSON(http.StatusOK, TransactionState{TransactionID: id, State: state})
}

func (s *ingestRoutes) handleTransactionChecks(c echo.Context) error {
	tenant := TenantOf(c)
	pg, err := tenant.Param(c, "pg")
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	if v := c.QueryParam("waitSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || time.Duration(n)*time.Second > ingest.MaxCheckWait {
			return domain.Errorf(domain.ErrBadRequest, "waitSeconds must be 0-%d", int(ingest.MaxCheckWait.Seconds()))
		}
		wait = time.Duration(n) * time.Second
	}
	checks, err := s.TransactionChecks(c.Request().Context(), pg, wait)
	if err != nil {
		return err
	}
	for i := range checks {
		// A producer group's transactions are of its namespace's topics.
		checks[i].Topic = tenant.Show(checks[i].Topic)
		for j := range checks[i].Messages {
			checks[i].Messages[j].Topic = checks[i].Topic
		}
	}
	return c.JSON(http.StatusOK, TransactionChecksResponse{Checks: checks})
}

func (s *ingestRoutes) handleRecall(c echo.Context) error {
	var req RecallRequest
	if err := DecodeJSON(c, 64<<10, &req); err != nil {
		return err
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	id, err := s.Recall(c.Request().Context(), topic, req.RecallHandle)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, RecallResponse{MessageID: id, Status: "RECALLED"})
}

// unavailable is a failure of the store or the bucket: 503 STORAGE_UNAVAILABLE.
func unavailable(format string, args ...any) *domain.Error {
	return domain.Errorf(domain.ErrUnavailable, format, args...)
}
