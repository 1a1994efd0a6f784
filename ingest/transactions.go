package ingest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/internal/view"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/segment"
)

// Transaction checks: how a producer group's checker is asked about unresolved
// transactions (the compactor role applies the policy once the checks run out).
const (
	maxChecksPerPoll = 32
	maxCheckWait     = 30 * time.Second
)

func (s *Service) handleSendTransaction(c echo.Context) error {
	var req httpapi.TransactionRequest
	if err := httpapi.DecodeJSON(c, s.cfg.MaxRequestBytes, &req); err != nil {
		return err
	}
	tenant := httpapi.TenantOf(c)
	topic, err := tenant.Param(c, "topic")
	if err != nil {
		return err
	}
	if err := domain.CheckName("producerGroup", req.ProducerGroup); err != nil {
		return err
	}
	txID, res, err := s.ProduceTransaction(c.Request().Context(), topic, tenant.Stored(req.ProducerGroup), httpapi.DomainMessages(req.Messages))
	if err != nil {
		return err
	}
	out := httpapi.TransactionResponse{TransactionID: txID, Messages: make([]httpapi.HalfMessage, len(res))}
	for i, r := range res {
		out.Messages[i].MessageID = r.MessageID
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Service) handleResolve(commit bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		if err := domain.CheckID("transaction id", id); err != nil {
			return err
		}
		if err := s.checkTransactionTenant(c, id); err != nil {
			return err
		}
		state, err := s.store.TransactionResolve(c.Request().Context(), id, commit)
		switch {
		case errors.Is(err, metadata.ErrNotFound):
			return domain.Errorf(domain.ErrTransactionNotFound, "no transaction %s", id)
		case errors.Is(err, metadata.ErrTransactionResolved):
			return domain.Errorf(domain.ErrTransactionResolved, "transaction %s was already resolved the other way", id)
		case err != nil:
			return unavailable("resolving transaction %s: %v", id, err)
		}
		return c.JSON(http.StatusOK, httpapi.TransactionState{TransactionID: id, State: state})
	}
}

// checkTransactionTenant answers 404 for a transaction of a topic outside the caller's
// namespace, as if it did not exist (the id names no topic, so it is read first).
func (s *Service) checkTransactionTenant(c echo.Context, id string) error {
	tenant := httpapi.TenantOf(c)
	if tenant.SeesAll && tenant.Namespace == "" {
		return nil
	}
	_, topic, err := s.store.TransactionGet(c.Request().Context(), id)
	if err == nil {
		if _, ok := tenant.Visible(topic); !ok {
			err = metadata.ErrNotFound
		}
	}
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrTransactionNotFound, "no transaction %s", id)
	}
	if err != nil {
		return unavailable("reading transaction %s: %v", id, err)
	}
	return nil
}

func (s *Service) handleTransactionGet(c echo.Context) error {
	id := c.Param("id")
	if err := domain.CheckID("transaction id", id); err != nil {
		return err
	}
	state, topic, err := s.store.TransactionGet(c.Request().Context(), id)
	if err == nil {
		if _, ok := httpapi.TenantOf(c).Visible(topic); !ok {
			err = metadata.ErrNotFound
		}
	}
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrTransactionNotFound, "no transaction %s", id)
	}
	if err != nil {
		return unavailable("reading transaction %s: %v", id, err)
	}
	return c.JSON(http.StatusOK, httpapi.TransactionState{TransactionID: id, State: state})
}

func (s *Service) handleTransactionChecks(c echo.Context) error {
	tenant := httpapi.TenantOf(c)
	pg, err := tenant.Param(c, "pg")
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	if v := c.QueryParam("waitSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || time.Duration(n)*time.Second > maxCheckWait {
			return domain.Errorf(domain.ErrBadRequest, "waitSeconds must be 0-%d", int(maxCheckWait.Seconds()))
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
	return c.JSON(http.StatusOK, httpapi.TransactionChecksResponse{Checks: checks})
}

// TransactionChecks offers a producer group's due, unresolved transactions to its checker,
// waiting up to wait for one to fall due.
func (s *Service) TransactionChecks(ctx context.Context, producerGroup string, wait time.Duration) ([]domain.TransactionCheck, error) {
	deadline := time.Now().Add(wait)
	for {
		claimed, err := s.store.TransactionChecksClaim(ctx, producerGroup, s.cfg.TransactionMaxChecks, maxChecksPerPoll, s.cfg.TransactionCheckInterval)
		if err != nil {
			return nil, unavailable("claiming transaction checks: %v", err)
		}
		if len(claimed) > 0 || !time.Now().Before(deadline) {
			out := make([]domain.TransactionCheck, 0, len(claimed))
			for _, tc := range claimed {
				views, err := s.halfMessages(ctx, tc)
				if err != nil {
					return nil, err
				}
				out = append(out, domain.TransactionCheck{TransactionID: tc.ID, Topic: tc.Topic, Messages: views})
			}
			return out, nil
		}
		// Checks fall due on a schedule of seconds: a short poll is cheap and timely enough.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(500*time.Millisecond, time.Until(deadline))):
		}
	}
}

// halfMessages reads a transaction's half messages from the bucket.
func (s *Service) halfMessages(ctx context.Context, tc metadata.TransactionCheck) ([]domain.MessageView, error) {
	ti, err := s.topics.get(ctx, tc.Topic)
	if err != nil {
		return nil, unavailable("reading topic %s: %v", tc.Topic, err)
	}
	queueIDs := map[int64]int{}
	for _, q := range ti.queues {
		queueIDs[q.Ref] = q.QueueID
	}
	views := []domain.MessageView{}
	for _, ch := range tc.Chunks {
		b, err := s.bucket.GetRange(ctx, ch.ObjectKey, ch.ByteOffset, ch.ByteLength)
		if err != nil {
			return nil, unavailable("reading half messages: %v", err)
		}
		recs, err := segment.DecodeChunk(b)
		if err != nil {
			return nil, unavailable("decoding half messages: %v", err)
		}
		if ch.Skip+ch.Count > len(recs) {
			return nil, unavailable("half messages of %s: index and chunk disagree", tc.ID)
		}
		for i := ch.Skip; i < ch.Skip+ch.Count; i++ {
			// Not in the queue yet: no offset.
			views = append(views, view.Of(tc.Topic, queueIDs[ch.QueueRef], -1, &recs[i]))
		}
	}
	return views, nil
}
