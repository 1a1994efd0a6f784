package grpcapi

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/reader"
)

// Receive limits of the protocol mapped onto Floe's.
const (
	defaultBatch = 32
	// pollMargin is kept from the call's deadline for answering after a long poll.
	pollMargin = time.Second
)

// toProto turns a stored message into a RocketMQ message; handle and attempt are set for
// received messages.
func toProto(v domain.MessageView, topic *v2.Resource, topicType, handle string) *v2.Message {
	sum := md5.Sum(v.Body)
	sp := &v2.SystemProperties{
		Keys:           v.Keys,
		MessageId:      v.MessageID,
		BodyDigest:     &v2.Digest{Type: v2.DigestType_MD5, Checksum: strings.ToUpper(hex.EncodeToString(sum[:]))},
		BodyEncoding:   v2.Encoding_IDENTITY,
		MessageType:    messageType(topicType),
		BornTimestamp:  timestamppb.New(v.BornTime),
		StoreTimestamp: timestamppb.New(v.StoreTime),
		StoreHost:      brokerName,
		QueueId:        int32(v.QueueID),
	}
	if v.Tag != "" {
		sp.Tag = &v.Tag
	}
	if v.Offset >= 0 {
		off := v.Offset
		sp.QueueOffset = &off
	}
	if v.DeliveryTime != nil {
		sp.DeliveryTimestamp = timestamppb.New(*v.DeliveryTime)
	}
	if v.MessageGroup != "" {
		sp.MessageGroup = &v.MessageGroup
	}
	if v.LiteTopic != "" {
		sp.LiteTopic = &v.LiteTopic
	}
	if v.Priority != nil {
		p := int32(*v.Priority)
		sp.Priority = &p
	}
	if handle != "" {
		sp.ReceiptHandle = &handle
	}
	return &v2.Message{Topic: topic, UserProperties: v.Properties, SystemProperties: sp, Body: v.Body}
}

// ensureTarget makes (group, topic) consumable with the client's filter: the group exists
// and subscribes with that filter. Checked targets are remembered for subscriptionTTL.
func (s *Server) ensureTarget(ctx context.Context, group, topic string, f *v2.FilterExpression) error {
	sf, err := s.checkSubscription(ctx, topic, f)
	if err != nil {
		return err
	}
	filter := sf.typ + " " + sf.expr // as ensureSubscription caches it
	if f, ok := s.subs.Lookup([2]string{group, topic}); ok && f == filter {
		return nil
	}
	if _, err := s.ensureGroup(ctx, group); err != nil {
		return err
	}
	return s.ensureSubscription(ctx, group, topic, f)
}

// ReceiveMessage hands out ready messages to a consumer of a group (from any queue of the
// topic; the queue in the request only picks the topic), hiding them for the invisible
// duration, long-polling within the call's deadline. The stream carries the delivery
// timestamp, the messages and a status: OK, or MESSAGE_NOT_FOUND when nothing came.
func (s *Server) ReceiveMessage(req *v2.ReceiveMessageRequest, stream grpc.ServerStreamingServer[v2.ReceiveMessageResponse]) error {
	ctx := stream.Context()
	msgs, topicType, err := s.receive(ctx, req)
	if err != nil {
		return stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Status{Status: s.toStatus(err)}})
	}
	if len(msgs) == 0 {
		return stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Status{
			Status: &v2.Status{Code: v2.Code_MESSAGE_NOT_FOUND, Message: "no new message"}}})
	}
	if err := stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_DeliveryTimestamp{DeliveryTimestamp: timestamppb.Now()}}); err != nil {
		return err
	}
	topic := req.GetMessageQueue().GetTopic()
	for _, m := range msgs {
		pm := toProto(m.MessageView, topic, topicType, m.ReceiptHandle)
		attempt := int32(m.DeliveryAttempt)
		pm.SystemProperties.DeliveryAttempt = &attempt
		if err := stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Message{Message: pm}}); err != nil {
			return err
		}
	}
	s.metrics.messages.WithLabelValues("received").Add(float64(len(msgs)))
	return stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Status{Status: okStatus}})
}

func (s *Server) receive(ctx context.Context, req *v2.ReceiveMessageRequest) ([]domain.ReceivedMessage, string, error) {
	if err := s.needReader(); err != nil {
		return nil, "", err
	}
	group, topic, err := groupTopic(ctx, req.GetGroup(), req.GetMessageQueue().GetTopic())
	if err != nil {
		return nil, "", err
	}
	t, err := s.topic(ctx, topic)
	if err != nil {
		return nil, "", err
	}
	if err := s.ensureTarget(ctx, group, topic, req.GetFilterExpression()); err != nil {
		return nil, "", err
	}
	if err := throttle(ctx, 0, 0, 1); err != nil {
		return nil, "", err
	}
	batch := int(req.GetBatchSize())
	if batch <= 0 {
		batch = defaultBatch
	}
	invisible := s.cfg.DefaultInvisible
	if req.InvisibleDuration != nil {
		invisible = req.GetInvisibleDuration().AsDuration()
	}
	wait := reader.MaxWait
	if req.LongPollingTimeout != nil {
		wait = min(wait, req.GetLongPollingTimeout().AsDuration())
	}
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)-pollMargin)
	}
	wait = max(wait, 0)
	// Receive checks the batch size and the invisible time, as it does for HTTP.
	msgs, err := s.consumer.Receive(ctx, group, topic, reader.ReceiveOptions{MaxMessages: batch, Invisible: invisible, Wait: wait,
		Consumer: "grpc:" + infoOf(ctx).clientID})
	if err != nil {
		return nil, "", err
	}
	s.cfg.Clients.Delivered(group, topic, s.clientIdentity(ctx), len(msgs), invisible)
	if req.GetAutoRenew() {
		// Push consumers hold what they receive in a local cache and never extend it
		// themselves: the server keeps it hidden while they hold it.
		s.consumer.AutoRenew(group, topic, infoOf(ctx).clientID, msgs, invisible, s.cfg.Clients)
	}
	return msgs, t.Type, nil
}

// AckMessage finishes received messages for the group.
func (s *Server) AckMessage(ctx context.Context, req *v2.AckMessageRequest) (*v2.AckMessageResponse, error) {
	entries, err := s.ack(ctx, req)
	if err != nil {
		return &v2.AckMessageResponse{Status: s.toStatus(err)}, nil
	}
	st := okStatus
	failed := 0
	for _, e := range entries {
		if e.Status.GetCode() != v2.Code_OK {
			failed++
			st = e.Status
		}
	}
	if failed > 0 && failed < len(entries) {
		st = &v2.Status{Code: v2.Code_MULTIPLE_RESULTS, Message: "some receipt handles were not valid"}
	}
	return &v2.AckMessageResponse{Status: st, Entries: entries}, nil
}

func (s *Server) ack(ctx context.Context, req *v2.AckMessageRequest) ([]*v2.AckMessageResultEntry, error) {
	if err := s.needReader(); err != nil {
		return nil, err
	}
	group, topic, err := groupTopic(ctx, req.GetGroup(), req.GetTopic())
	if err != nil {
		return nil, err
	}
	if len(req.GetEntries()) == 0 {
		return nil, status(v2.Code_BAD_REQUEST, "no entries")
	}
	handles := make([]string, len(req.GetEntries()))
	for i, e := range req.GetEntries() {
		handles[i] = e.GetReceiptHandle()
	}
	res, err := s.consumer.Ack(ctx, group, topic, handles)
	if err != nil {
		return nil, err
	}
	out := make([]*v2.AckMessageResultEntry, len(res))
	acked := 0
	for i, r := range res {
		st := okStatus
		if r.Status == reader.StatusOK {
			acked++
		} else {
			st = &v2.Status{Code: v2.Code_INVALID_RECEIPT_HANDLE, Message: "receipt handle " + strings.ToLower(r.Status)}
		}
		out[i] = &v2.AckMessageResultEntry{MessageId: req.GetEntries()[i].GetMessageId(), ReceiptHandle: r.ReceiptHandle, Status: st}
	}
	s.cfg.Clients.Settled(group, topic, s.clientIdentity(ctx), acked, 0)
	return out, nil
}

// groupTopic returns the stored names of a consuming call's group and topic, once both
// are valid names of the caller's namespace and the caller may consume them.
func groupTopic(ctx context.Context, g, t *v2.Resource) (string, string, error) {
	group, err := resolve(ctx, g, groupName)
	if err != nil {
		return "", "", err
	}
	topic, err := resolve(ctx, t, readTopic)
	if err != nil {
		return "", "", err
	}
	if err := allowConsume(ctx, g, t); err != nil {
		return "", "", err
	}
	return group, topic, nil
}

// ChangeInvisibleDuration hides a received message for a new duration from now (push
// consumers use it to retry after the group's backoff) and returns a new receipt handle.
func (s *Server) ChangeInvisibleDuration(ctx context.Context, req *v2.ChangeInvisibleDurationRequest) (*v2.ChangeInvisibleDurationResponse, error) {
	h, err := s.changeInvisible(ctx, req)
	return &v2.ChangeInvisibleDurationResponse{Status: s.toStatus(err), ReceiptHandle: h}, nil
}

func (s *Server) changeInvisible(ctx context.Context, req *v2.ChangeInvisibleDurationRequest) (string, error) {
	if err := s.needReader(); err != nil {
		return "", err
	}
	group, topic, err := groupTopic(ctx, req.GetGroup(), req.GetTopic())
	if err != nil {
		return "", err
	}
	if req.InvisibleDuration == nil {
		return "", status(v2.Code_ILLEGAL_INVISIBLE_TIME, "an invisible duration is required")
	}
	d := req.GetInvisibleDuration().AsDuration()
	return s.consumer.ChangeInvisible(ctx, group, topic, req.GetReceiptHandle(), d)
}

// ForwardMessageToDeadLetterQueue gives up on a message (push consumers of orderly
// groups retry locally, then call this): it moves to the group's dead-letter topic.
func (s *Server) ForwardMessageToDeadLetterQueue(ctx context.Context, req *v2.ForwardMessageToDeadLetterQueueRequest) (*v2.ForwardMessageToDeadLetterQueueResponse, error) {
	err := s.needReader()
	if err == nil {
		var group, topic string
		group, topic, err = groupTopic(ctx, req.GetGroup(), req.GetTopic())
		if err == nil {
			err = s.consumer.DeadLetter(ctx, group, topic, req.GetReceiptHandle())
		}
		if err == nil {
			s.cfg.Clients.Settled(group, topic, s.clientIdentity(ctx), 0, 1)
		}
	}
	return &v2.ForwardMessageToDeadLetterQueueResponse{Status: s.toStatus(err)}, nil
}

// SyncLiteSubscription changes the lite topics a group subscribes to under a LITE topic.
func (s *Server) SyncLiteSubscription(ctx context.Context, req *v2.SyncLiteSubscriptionRequest) (*v2.SyncLiteSubscriptionResponse, error) {
	return &v2.SyncLiteSubscriptionResponse{Status: s.toStatus(s.syncLite(ctx, req))}, nil
}

func (s *Server) syncLite(ctx context.Context, req *v2.SyncLiteSubscriptionRequest) error {
	group, topic, err := groupTopic(ctx, req.GetGroup(), req.GetTopic())
	if err != nil {
		return err
	}
	for _, l := range req.GetLiteTopicSet() {
		if !domain.ValidName(l) {
			return status(v2.Code_ILLEGAL_LITE_TOPIC, "lite topic %q must be 1-127 characters of [A-Za-z0-9_-]", l)
		}
	}
	start, err := liteStart(req.GetOffsetOption())
	if err != nil {
		return err
	}
	if _, err := s.ensureGroup(ctx, group); err != nil {
		return err
	}
	set := append([]string{}, req.GetLiteTopicSet()...)
	var add, remove []string
	replace := false
	switch req.GetAction() {
	case v2.LiteSubscriptionAction_PARTIAL_ADD:
		add = set
	case v2.LiteSubscriptionAction_PARTIAL_REMOVE:
		add, remove = []string{}, set
	case v2.LiteSubscriptionAction_COMPLETE_ADD:
		add, replace = set, true
	case v2.LiteSubscriptionAction_COMPLETE_REMOVE:
		add, replace = []string{}, true
	default:
		return status(v2.Code_BAD_REQUEST, "unknown action %s", req.GetAction())
	}
	err = s.store.LiteSubscriptionChangeFrom(ctx, group, topic, add, remove, replace, start)
	if err != nil {
		return notFoundAs(err, v2.Code_TOPIC_NOT_FOUND, "group %s or topic %s does not exist", req.GetGroup().GetName(), req.GetTopic().GetName())
	}
	return nil
}

// The offset RPCs serve pull consumers, which Floe does not support: consumer groups
// keep their offsets on the server (receive and ack).
func (s *Server) UpdateOffset(context.Context, *v2.UpdateOffsetRequest) (*v2.UpdateOffsetResponse, error) {
	return &v2.UpdateOffsetResponse{Status: unsupportedPull}, nil
}

// GetOffset is not supported (pull consumers).
func (s *Server) GetOffset(context.Context, *v2.GetOffsetRequest) (*v2.GetOffsetResponse, error) {
	return &v2.GetOffsetResponse{Status: unsupportedPull}, nil
}

// QueryOffset is not supported (pull consumers).
func (s *Server) QueryOffset(context.Context, *v2.QueryOffsetRequest) (*v2.QueryOffsetResponse, error) {
	return &v2.QueryOffsetResponse{Status: unsupportedPull}, nil
}

var unsupportedPull = &v2.Status{Code: v2.Code_UNSUPPORTED, Message: "pull consumers are not supported: use a push or simple consumer (offsets are kept by the server)"}
