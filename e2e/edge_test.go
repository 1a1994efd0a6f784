package e2e_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// TestBadIDsAndNumbersAre400 sends ids, names and numbers of the wrong shape to every
// route with a path parameter or a numeric query parameter: each gets 400 naming the
// field, none reaches Postgres (whose refusal used to come back as 503 with the driver's
// text), and nothing in any answer quotes the driver.
func TestBadIDsAndNumbersAre400(t *testing.T) {
	t.Parallel()
	b := newBacking(t)
	url := authNode(t, b, nil)
	c := client.New(url, client.WithAPIKey(bootstrapKey))
	_, _, err := c.CreateTopic(t.Context(), client.TopicSpec{Name: "orders", Type: client.TopicNormal, Queues: 2})
	require.NoError(t, err)

	for _, tc := range []struct {
		method, path, field string
	}{
		{"GET", "/v1/transactions/%00", "transaction id"},
		{"GET", "/v1/transactions/%FF", "transaction id"},
		{"POST", "/v1/transactions/%00/commit", "transaction id"},
		{"POST", "/v1/transactions/%FF/rollback", "transaction id"},
		{"POST", "/v1/transactions/" + strings.Repeat("a", 65) + "/commit", "transaction id"},
		{"DELETE", "/v1/keys/%00", "key id"},
		{"POST", "/v1/keys/%FF/rotate", "key id"},
		{"GET", "/v1/topics/orders/queues/2147483648/messages?offset=0", "queueId"},
		{"GET", "/v1/topics/orders/queues/-1/messages", "queueId"},
		{"GET", "/v1/topics/orders/queues/x/messages", "queueId"},
		{"GET", "/v1/topics/orders/queues/0/messages?offset=x", "offset"},
		{"GET", "/v1/topics/orders/queues/0/messages?offset=-1", "offset"},
		{"GET", "/v1/topics/orders/queues/0/messages?offset=99999999999999999999", "offset"},
		{"GET", "/v1/topics/orders/queues/0/messages?limit=0", "limit"},
		{"GET", "/v1/topics/orders/queues/0/messages?limit=99999999999", "limit"},
		{"GET", "/v1/topics/orders/queues/0/messages?liteTopic=%00", "liteTopic"},
		{"GET", "/v1/topics/orders/messages/%00", "message id"},
		{"GET", "/v1/topics/orders/messages/%FF/trace", "message id"},
		{"GET", "/v1/topics/%00", "topic"},
		{"DELETE", "/v1/topics/%FF", "topic"},
		{"GET", "/v1/topics/%00/queues", "topic"},
		{"GET", "/v1/topics/%00/messages?key=k", "topic"},
		{"GET", "/v1/groups/%00", "group"},
		{"DELETE", "/v1/groups/%FF", "group"},
		{"GET", "/v1/groups/%00/lag", "group"},
		{"DELETE", "/v1/groups/g/subscriptions/%00", "topic"},
		{"GET", "/v1/producer-groups/%00/transaction-checks", "producer group"},
		{"GET", "/v1/producer-groups/pg/transaction-checks?waitSeconds=x", "waitSeconds"},
		{"GET", "/v1/producer-groups/pg/transaction-checks?waitSeconds=99999999999999", "waitSeconds"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, url+tc.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+bootstrapKey)
			a := do(t, req)
			require.Equal(t, http.StatusBadRequest, a.status, string(a.body))
			require.Contains(t, []string{"BAD_REQUEST", "INVALID_NAME"}, a.code(), string(a.body))
			require.Contains(t, string(a.body), tc.field)
			require.NotContains(t, string(a.body), "SQLSTATE")
		})
	}
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body strings.Builder
	_, err = io.Copy(&body, resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: []byte(body.String())}
}
