package grpcapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/namespace"
)

// checkerPrefix starts the producer-group names under which transactions sent over gRPC
// wait for their checks: "%RMQ%" + topic. RocketMQ 5 asks any producer of the topic, and
// no user-chosen producer group can contain "%", so HTTP checkers never see them.
const checkerPrefix = "%RMQ%"

func checkerOf(topic string) string { return checkerPrefix + topic }

// SendMessage stores the messages of one request (one topic, the SDKs send one type at a
// time) and answers once they are durable. Transactional messages become one transaction.
func (s *Server) SendMessage(ctx context.Context, req *v2.SendMessageRequest) (*v2.SendMessageResponse, error) {
	entries, err := s.send(ctx, req)
	if err != nil {
		return &v2.SendMessageResponse{Status: s.toStatus(err)}, nil
	}
	s.metrics.messages.WithLabelValues("sent").Add(float64(len(entries)))
	s.noteSent(ctx, req, len(entries))
	return &v2.SendMessageResponse{Status: okStatus, Entries: entries}, nil
}

func (s *Server) send(ctx context.Context, req *v2.SendMessageRequest) ([]*v2.SendResultEntry, error) {
	if err := s.needIngest(); err != nil {
		return nil, err
	}
	if len(req.GetMessages()) == 0 {
		return nil, status(v2.Code_BAD_REQUEST, "no messages")
	}
	topic, err := resolve(ctx, req.GetMessages()[0].GetTopic(), userTopic)
	if err != nil {
		return nil, err
	}
	if err := allow(ctx, actProduce, kindTopic, req.GetMessages()[0].GetTopic().GetName()); err != nil {
		return nil, err
	}
	msgs := make([]domain.Message, len(req.GetMessages()))
	tx := false
	// Compressed bodies inflate within the body limit each and within one request's
	// worth of bytes together, so a small request cannot make the node hold much more.
	inflateBudget := s.cfg.MaxRecvBytes
	for i, m := range req.GetMessages() {
		t, err := resolve(ctx, m.GetTopic(), userTopic)
		if err != nil {
			return nil, err
		}
		if t != topic {
			return nil, status(v2.Code_BAD_REQUEST, "the messages of one request must go to one topic")
		}
		msgs[i], err = fromProto(m, s.cfg.MaxBodyBytes, &inflateBudget)
		if err != nil {
			return nil, err
		}
		isTx := m.GetSystemProperties().GetMessageType() == v2.MessageType_TRANSACTION
		if i > 0 && isTx != tx {
			return nil, status(v2.Code_BAD_REQUEST, "transactional and other messages cannot share a request")
		}
		tx = isTx
	}
	size := 0
	for _, m := range msgs {
		size += len(m.Body)
	}
	if err := throttle(ctx, len(msgs), size, 0); err != nil {
		return nil, err
	}
	var res []domain.SendResult
	txID := ""
	if tx {
		txID, res, err = s.ingest.ProduceTransactionChecked(ctx, topic, checkerOf(topic), msgs)
	} else {
		res, err = s.ingest.Produce(ctx, topic, msgs)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*v2.SendResultEntry, len(res))
	for i, r := range res {
		out[i] = &v2.SendResultEntry{Status: okStatus, MessageId: r.MessageID, TransactionId: txID, RecallHandle: r.RecallHandle}
		if r.Offset != nil {
			out[i].Offset = *r.Offset
		}
	}
	return out, nil
}

// fromProto turns a RocketMQ message into what ingest stores, keeping the client's
// message id and checking the body against the client's digest. A gzip body is inflated
// to at most maxBody bytes and at most what is left of *budget, which it draws from.
func fromProto(m *v2.Message, maxBody int, budget *int) (domain.Message, error) {
	sp := m.GetSystemProperties()
	body := m.GetBody()
	if err := checkDigest(body, sp.GetBodyDigest()); err != nil {
		return domain.Message{}, err
	}
	switch sp.GetBodyEncoding() {
	case v2.Encoding_GZIP:
		plain, err := inflate(body, maxBody, budget)
		if err != nil {
			return domain.Message{}, err
		}
		body = plain
	case v2.Encoding_IDENTITY, v2.Encoding_ENCODING_UNSPECIFIED:
	default:
		return domain.Message{}, status(v2.Code_BAD_REQUEST, "body encoding %s is not supported", sp.GetBodyEncoding())
	}
	out := domain.Message{
		ID:           sp.GetMessageId(),
		Body:         body,
		Tag:          sp.GetTag(),
		Keys:         sp.GetKeys(),
		Properties:   m.GetUserProperties(),
		MessageGroup: sp.GetMessageGroup(),
		LiteTopic:    sp.GetLiteTopic(),
	}
	if sp.Priority != nil {
		p := int(sp.GetPriority())
		out.Priority = &p
	}
	if sp.GetMessageType() == v2.MessageType_DELAY || sp.DeliveryTimestamp != nil {
		if sp.DeliveryTimestamp == nil {
			return domain.Message{}, status(v2.Code_ILLEGAL_DELIVERY_TIME, "a DELAY message needs a delivery timestamp")
		}
		t := sp.GetDeliveryTimestamp().AsTime()
		out.DeliveryTime = &t
	}
	if len(out.Keys) == 0 {
		out.Keys = nil
	}
	return out, nil
}

// inflate decompresses a gzip body, reading one byte past the smaller of limit and
// *budget so that a body over either is refused without inflating it further.
func inflate(body []byte, limit int, budget *int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, status(v2.Code_MESSAGE_CORRUPTED, "gzip body: %v", err)
	}
	n := min(limit, *budget)
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(zr, int64(n)+1)); err != nil {
		return nil, status(v2.Code_MESSAGE_CORRUPTED, "gzip body: %v", err)
	}
	if buf.Len() > limit {
		return nil, status(v2.Code_MESSAGE_BODY_TOO_LARGE, "the gzip body inflates past the body limit of %d bytes", limit)
	}
	if buf.Len() > n {
		return nil, status(v2.Code_MESSAGE_BODY_TOO_LARGE, "the gzip bodies of one request inflate past what one request may carry")
	}
	*budget -= buf.Len()
	return buf.Bytes(), nil
}

// checkDigest compares a body with the digest its producer computed, when it sent one.
func checkDigest(body []byte, d *v2.Digest) error {
	if d == nil || d.GetChecksum() == "" {
		return nil
	}
	var want string
	switch d.GetType() {
	case v2.DigestType_CRC32:
		want = strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 16)
	case v2.DigestType_MD5:
		sum := md5.Sum(body)
		want = hex.EncodeToString(sum[:])
	case v2.DigestType_SHA1:
		sum := sha1.Sum(body)
		want = hex.EncodeToString(sum[:])
	default:
		return nil
	}
	if !strings.EqualFold(want, d.GetChecksum()) {
		return status(v2.Code_MESSAGE_CORRUPTED, "the body does not match its %s digest", d.GetType())
	}
	return nil
}

// EndTransaction commits or rolls back a transaction's half messages.
func (s *Server) EndTransaction(ctx context.Context, req *v2.EndTransactionRequest) (*v2.EndTransactionResponse, error) {
	return &v2.EndTransactionResponse{Status: s.toStatus(s.endTransaction(ctx, req))}, nil
}

func (s *Server) endTransaction(ctx context.Context, req *v2.EndTransactionRequest) error {
	var commit bool
	switch req.GetResolution() {
	case v2.TransactionResolution_COMMIT:
		commit = true
	case v2.TransactionResolution_ROLLBACK:
	default:
		return status(v2.Code_BAD_REQUEST, "resolution must be COMMIT or ROLLBACK")
	}
	if req.GetTransactionId() == "" {
		return status(v2.Code_INVALID_TRANSACTION_ID, "no transaction id")
	}
	topic, err := resolve(ctx, req.GetTopic(), userTopic)
	if err != nil {
		return err
	}
	if err := allow(ctx, actProduce, kindTopic, req.GetTopic().GetName()); err != nil {
		return err
	}
	_, err = s.admin.TransactionResolve(ctx, req.GetTransactionId(), commit, func(t string) bool { return t == topic })
	return err
}

// notFoundAs maps metadata.ErrNotFound to code and other errors to their statuses.
func notFoundAs(err error, code v2.Code, format string, args ...any) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return status(code, format, args...)
	}
	return err
}

// checkLoop pushes due checks of unresolved transactions to connected producers of their
// topics, as RecoverOrphanedTransactionCommand on the producers' telemetry streams. The
// producer's checker answers with EndTransaction.
func (s *Server) checkLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.CheckPoll)
	defer t.Stop()
	next := 0
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		for _, topic := range s.clients.producerTopics() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			next = s.pushChecks(ctx, topic, next)
			cancel()
		}
	}
}

func (s *Server) pushChecks(ctx context.Context, topic string, next int) int {
	t, err := s.topic(ctx, topic)
	if err != nil || t.Type != metadata.TopicTransaction {
		return next
	}
	producers := s.clients.producers(topic)
	if len(producers) == 0 {
		return next
	}
	checks, err := s.ingest.TransactionChecks(ctx, checkerOf(topic), 0)
	if err != nil {
		s.logger.Warn("claiming transaction checks", "topic", topic, "err", err)
		return next
	}
	for _, c := range checks {
		if len(c.Messages) == 0 {
			continue
		}
		view := c.Messages[0]
		msg := toProto(view, &v2.Resource{Name: tenantName(producers[0].namespace, topic), ResourceNamespace: producers[0].namespace}, t.Type, "")
		cmd := &v2.TelemetryCommand{Status: okStatus, Command: &v2.TelemetryCommand_RecoverOrphanedTransactionCommand{
			RecoverOrphanedTransactionCommand: &v2.RecoverOrphanedTransactionCommand{Message: msg, TransactionId: c.TransactionID}}}
		// Any producer of the topic may answer; try them in turn.
		for range producers {
			p := producers[next%len(producers)]
			next++
			if p.send(cmd) {
				s.metrics.checks.Inc()
				break
			}
		}
	}
	return next
}

// tenantName is a stored name as a client of namespace ns knows it.
func tenantName(ns, stored string) string {
	if n, ok := namespace.Unwrap(ns, stored); ok {
		return n
	}
	return stored
}

// RecallMessage takes back a delayed message before its delivery time, by the recall handle
// of its send result: it is never delivered. Again for a recalled message: OK.
func (s *Server) RecallMessage(ctx context.Context, req *v2.RecallMessageRequest) (*v2.RecallMessageResponse, error) {
	id, err := s.recall(ctx, req)
	if err != nil {
		return &v2.RecallMessageResponse{Status: s.toStatus(err)}, nil
	}
	return &v2.RecallMessageResponse{Status: okStatus, MessageId: id}, nil
}

func (s *Server) recall(ctx context.Context, req *v2.RecallMessageRequest) (string, error) {
	if err := s.needIngest(); err != nil {
		return "", err
	}
	topic, err := resolve(ctx, req.GetTopic(), userTopic)
	if err != nil {
		return "", err
	}
	if err := allow(ctx, actProduce, kindTopic, req.GetTopic().GetName()); err != nil {
		return "", err
	}
	return s.ingest.Recall(ctx, topic, req.GetRecallHandle())
}
