package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSendRequestErrorsNameTheField: bad input is a 400 that says which message and
// field, and what it takes.
func TestSendRequestErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"messages":[{"body":"aGk="},{"body":"hello world"}]}`, "messages[1].body: not base64"},
		{`{"messages":[{"body":"hello world"}]}`, "send plain text as bodyText instead"},
		{`{"messages":[{"body":"aGk=","bodyText":"hi"}]}`, "messages[0].bodyText: give body (base64) or bodyText (plain text), not both"},
		{`{"messages":[{"body":"aGk=","deliveryTime":"2026-12-07T00:00:00"}]}`,
			`messages[0].deliveryTime: "2026-12-07T00:00:00" is not an RFC 3339 time with a time zone, such as "2026-12-07T00:00:00Z"`},
		{`{"messages":[{"body":"aGk=","deliveryTime":"tomorrow"}]}`, "or give delaySeconds"},
		{`{"messages":[{"body":"aGk=","deliveryTime":"2026-12-07T00:00:00Z","delaySeconds":5}]}`, "messages[0].delaySeconds: give deliveryTime or delaySeconds, not both"},
		{`{"messages":[{"body":"aGk=","delaySeconds":-1}]}`, "messages[0].delaySeconds: must not be negative"},
		{`{"messages":[{"body":"aGk=","delaySeconds":"10"}]}`, "messages[0].delaySeconds: want a whole number, got string"},
		{`{"messages":[{"body":"aGk=","tag":5}]}`, "messages[0].tag: want a string, got number"},
		{`{"messages":[{"body":"aGk=","colour":"red"}]}`, `messages[0]: json: unknown field "colour"`},
		{`{"messages":"hi"}`, "messages: want an array, got string"},
	} {
		_, err := decodeWith(DecodeSendRequest, strings.NewReader(tc.body), 1<<20)
		var apiErr *Error
		require.ErrorAs(t, err, &apiErr, tc.body)
		require.Equal(t, http.StatusBadRequest, apiErr.Status, tc.body)
		require.Contains(t, apiErr.Message, tc.want, tc.body)
	}
}

// TestSendRequestPlainTextAndDelaySeconds: bodyText is stored as is; delaySeconds is a
// delivery time that many seconds from now.
func TestSendRequestPlainTextAndDelaySeconds(t *testing.T) {
	before := time.Now()
	req, err := decodeWith(DecodeSendRequest, strings.NewReader(`{"messages":[{"bodyText":"test ✓","delaySeconds":60},{"body":"dGVzdA=="}]}`), 1<<20)
	require.NoError(t, err)
	require.Len(t, req.Messages, 2)
	require.Equal(t, "test ✓", string(req.Messages[0].Body))
	require.NotNil(t, req.Messages[0].DeliveryTime)
	require.WithinDuration(t, before.Add(time.Minute), *req.Messages[0].DeliveryTime, 5*time.Second)
	require.Equal(t, "test", string(req.Messages[1].Body))
	require.Nil(t, req.Messages[1].DeliveryTime)
}

// TestTimeErrorsInPlainWords: a time without a zone anywhere (reset's timestamp) says
// what is expected instead of Go's layout string.
func TestTimeErrorsInPlainWords(t *testing.T) {
	var v struct {
		Timestamp time.Time `json:"timestamp"`
	}
	err := decodeJSON(strings.NewReader(`{"timestamp":"2026-12-07T00:00:00"}`), 1<<20, &v)
	require.ErrorContains(t, err, `time "2026-12-07T00:00:00": want an RFC 3339 time with a time zone`)
	require.NotContains(t, err.Error(), "Z07:00")
}
