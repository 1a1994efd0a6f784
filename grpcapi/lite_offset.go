package grpcapi

import (
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"

	"github.com/floemq/floe/metadata"
)

// liteStart turns SyncLiteSubscription's offset option into where the lite topics the
// call newly subscribes start: policy LAST (or no option) keeps the group's progress (none
// for a new subscription: it starts at the end), MIN at the first stored message, MAX at
// the end; offset at that offset, tail_n that many messages before the end, timestamp (ms
// since the epoch) at the first message stored then or later. Lite topics already
// subscribed keep the group's progress whatever the option, so that the clients' periodic
// full sync (COMPLETE_ADD) never rewinds them.
func liteStart(o *v2.OffsetOption) (metadata.LiteStart, error) {
	if o == nil {
		return metadata.LiteStart{}, nil
	}
	switch t := o.GetOffsetType().(type) {
	case nil:
		return metadata.LiteStart{}, nil
	case *v2.OffsetOption_Policy_:
		switch t.Policy {
		case v2.OffsetOption_LAST:
			return metadata.LiteStart{Policy: metadata.LiteStartLast}, nil
		case v2.OffsetOption_MIN:
			return metadata.LiteStart{Policy: metadata.LiteStartMin}, nil
		case v2.OffsetOption_MAX:
			return metadata.LiteStart{Policy: metadata.LiteStartMax}, nil
		}
		return metadata.LiteStart{}, status(v2.Code_ILLEGAL_OFFSET, "unknown offset policy %s", t.Policy)
	case *v2.OffsetOption_Offset:
		if t.Offset < 0 {
			return metadata.LiteStart{}, status(v2.Code_ILLEGAL_OFFSET, "offset must not be negative, got %d", t.Offset)
		}
		return metadata.LiteStart{Policy: metadata.LiteStartOffset, Offset: t.Offset}, nil
	case *v2.OffsetOption_TailN:
		if t.TailN < 0 {
			return metadata.LiteStart{}, status(v2.Code_ILLEGAL_OFFSET, "tail_n must not be negative, got %d", t.TailN)
		}
		return metadata.LiteStart{Policy: metadata.LiteStartTail, Offset: t.TailN}, nil
	case *v2.OffsetOption_Timestamp:
		if t.Timestamp < 0 {
			return metadata.LiteStart{}, status(v2.Code_ILLEGAL_OFFSET, "timestamp must not be negative, got %d", t.Timestamp)
		}
		return metadata.LiteStart{Policy: metadata.LiteStartTime, Time: time.UnixMilli(t.Timestamp)}, nil
	}
	return metadata.LiteStart{}, status(v2.Code_ILLEGAL_OFFSET, "unknown offset option")
}
