package grpcapi

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	echov4 "github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
)

// frontEndAnswers is what a client sees for each kind of failure: over HTTP a status and
// a code, over gRPC a RocketMQ code. It is the contract both front ends keep; a kind
// missing here fails the test, so a new kind cannot ship without deciding its answers.
var frontEndAnswers = map[*domain.Kind]struct {
	status int
	code   string
	grpc   v2.Code
}{
	domain.ErrBadRequest:           {400, "BAD_REQUEST", v2.Code_BAD_REQUEST},
	domain.ErrInvalidName:          {400, "INVALID_NAME", v2.Code_ILLEGAL_TOPIC},
	domain.ErrInvalidFilter:        {400, "INVALID_FILTER", v2.Code_ILLEGAL_FILTER_EXPRESSION},
	domain.ErrMessageTypeMismatch:  {400, "MESSAGE_TYPE_MISMATCH", v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
	domain.ErrBodyEmpty:            {400, "MESSAGE_BODY_EMPTY", v2.Code_MESSAGE_BODY_EMPTY},
	domain.ErrBodyTooLarge:         {413, "BODY_TOO_LARGE", v2.Code_MESSAGE_BODY_TOO_LARGE},
	domain.ErrDelayTooLong:         {400, "DELAY_TOO_LONG", v2.Code_ILLEGAL_DELIVERY_TIME},
	domain.ErrInvisibleTime:        {400, "BAD_REQUEST", v2.Code_ILLEGAL_INVISIBLE_TIME},
	domain.ErrInvalidPriority:      {400, "INVALID_PRIORITY", v2.Code_BAD_REQUEST},
	domain.ErrTopicNotFound:        {404, "TOPIC_NOT_FOUND", v2.Code_TOPIC_NOT_FOUND},
	domain.ErrQueueNotFound:        {404, "QUEUE_NOT_FOUND", v2.Code_NOT_FOUND},
	domain.ErrMessageNotFound:      {404, "MESSAGE_NOT_FOUND", v2.Code_NOT_FOUND},
	domain.ErrGroupNotFound:        {404, "GROUP_NOT_FOUND", v2.Code_CONSUMER_GROUP_NOT_FOUND},
	domain.ErrSubscriptionNotFound: {404, "SUBSCRIPTION_NOT_FOUND", v2.Code_CONSUMER_GROUP_NOT_FOUND},
	domain.ErrTransactionNotFound:  {404, "TRANSACTION_NOT_FOUND", v2.Code_INVALID_TRANSACTION_ID},
	domain.ErrTaskNotFound:         {404, "TASK_NOT_FOUND", v2.Code_NOT_FOUND},
	domain.ErrTopicExists:          {409, "TOPIC_EXISTS", v2.Code_BAD_REQUEST},
	domain.ErrGroupExists:          {409, "GROUP_EXISTS", v2.Code_BAD_REQUEST},
	domain.ErrTopicChanged:         {409, "TOPIC_CHANGED", v2.Code_BAD_REQUEST},
	domain.ErrConflict:             {409, "CONFLICT", v2.Code_BAD_REQUEST},
	domain.ErrTransactionResolved:  {409, "TRANSACTION_ALREADY_RESOLVED", v2.Code_PRECONDITION_FAILED},
	domain.ErrInvalidReceipt:       {400, "INVALID_RECEIPT_HANDLE", v2.Code_INVALID_RECEIPT_HANDLE},
	domain.ErrReceiptExpired:       {409, "RECEIPT_HANDLE_EXPIRED", v2.Code_INVALID_RECEIPT_HANDLE},
	domain.ErrInvalidRecallHandle:  {400, "INVALID_RECALL_HANDLE", v2.Code_BAD_REQUEST},
	domain.ErrTooLate:              {409, "TOO_LATE", v2.Code_PRECONDITION_FAILED},
	domain.ErrThrottled:            {429, "THROTTLED", v2.Code_TOO_MANY_REQUESTS},
	domain.ErrQuotaExceeded:        {429, "QUOTA_EXCEEDED", v2.Code_TOO_MANY_REQUESTS},
	domain.ErrUnavailable:          {503, "STORAGE_UNAVAILABLE", v2.Code_INTERNAL_SERVER_ERROR},
}

// TestErrorKindsThroughBothFrontEnds walks every kind of failure a role returns through
// the HTTP error handler and the gRPC status mapping, wrapped as a role wraps it, and
// checks what a client of each reads: status, code and message. A 5xx never shows the
// failure's text, on either side.
func TestErrorKindsThroughBothFrontEnds(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &Server{logger: discard}
	e := echov4.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(discard)
	var roleErr error
	e.GET("/x", func(echov4.Context) error { return roleErr })

	kinds := domain.Kinds()
	require.Len(t, frontEndAnswers, len(kinds), "every kind has its answers in this test, and no other")
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			want, ok := frontEndAnswers[k]
			require.True(t, ok, "kind %v has no expected answers", k)
			msg := fmt.Sprintf("the %s failure (secret detail)", k)
			roleErr = fmt.Errorf("doing something: %w", domain.FieldErrorf(k, "field", "%s", msg))

			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			require.Equal(t, want.status, rec.Code)
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, want.code, body.Error.Code)
			require.Equal(t, want.code == "QUOTA_EXCEEDED", rec.Header().Get("Retry-After") != "")

			st := s.toStatus(roleErr)
			require.Equal(t, want.grpc, st.Code)
			if want.status >= 500 {
				require.NotContains(t, body.Error.Message, "secret")
				require.NotContains(t, st.Message, "secret")
				return
			}
			require.Equal(t, msg, body.Error.Message)
			require.Equal(t, msg, st.Message)
		})
	}
}

// TestErrorTablesCoverEveryKind: each front end maps every kind; an unmapped one would
// answer 500 / INTERNAL_SERVER_ERROR.
func TestErrorTablesCoverEveryKind(t *testing.T) {
	for _, k := range domain.Kinds() {
		_, ok := codeTable[k]
		require.True(t, ok, "grpcapi's codeTable has no code for %v", k)
		a := httpapi.Answer(domain.Errorf(k, "x"))
		require.NotEqual(t, http.StatusInternalServerError, a.Status, "httpapi's errorTable has no answer for %v", k)
	}
}
