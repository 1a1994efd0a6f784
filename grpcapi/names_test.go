package grpcapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	grpcmd "google.golang.org/grpc/metadata"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/namespace"
)

// callCtx is the context of a call with the x-mq-namespace header ns and, when caller is
// not nil, a signed caller.
func callCtx(ns string, caller *Caller) context.Context {
	ctx := grpcmd.NewIncomingContext(context.Background(), grpcmd.Pairs(headerNamespace, ns))
	if caller != nil {
		ctx = context.WithValue(ctx, callerKey{}, caller)
	}
	return ctx
}

func codeOf(err error) v2.Code {
	var se *statusError
	if errors.As(err, &se) {
		return se.st.GetCode()
	}
	return v2.Code_OK
}

// TestResolveRefusesNamesOutsideTheNamespace: a call names resources as HTTP does; a
// stored name of another tenant ("tenb%orders"), a system topic, a NUL byte or another
// namespace is refused with a client code before anything else looks at it.
func TestResolveRefusesNamesOutsideTheNamespace(t *testing.T) {
	anyKey := &Caller{Namespace: "", Allowed: func(string, string, string) bool { return true }}
	tenA := &Caller{Namespace: "tena", Allowed: func(string, string, string) bool { return true }}
	for _, c := range []struct {
		what     string
		ctx      context.Context
		r        *v2.Resource
		kind     nameKind
		want     string
		wantCode v2.Code
	}{
		{"plain topic", callCtx("", anyKey), &v2.Resource{Name: "orders"}, userTopic, "orders", v2.Code_OK},
		{"tenant topic", callCtx("", tenA), &v2.Resource{Name: "orders"}, userTopic, "tena%orders", v2.Code_OK},
		{"own namespace named", callCtx("tena", tenA), &v2.Resource{Name: "orders", ResourceNamespace: "tena"}, readTopic, "tena%orders", v2.Code_OK},
		{"own dead letters", callCtx("", tenA), &v2.Resource{Name: "%DLQ%billing"}, readTopic, "%DLQ%tena%billing", v2.Code_OK},
		{"unsigned header namespace", callCtx("tenb", nil), &v2.Resource{Name: "orders"}, userTopic, "tenb%orders", v2.Code_OK},
		{"stored name of B", callCtx("", anyKey), &v2.Resource{Name: "tenb%orders"}, userTopic, "", v2.Code_ILLEGAL_TOPIC},
		{"stored name of B to read", callCtx("", anyKey), &v2.Resource{Name: "tenb%orders"}, readTopic, "", v2.Code_ILLEGAL_TOPIC},
		{"stored group of B", callCtx("", anyKey), &v2.Resource{Name: "tenb%billing"}, groupName, "", v2.Code_ILLEGAL_CONSUMER_GROUP},
		{"B's dead letters", callCtx("", anyKey), &v2.Resource{Name: "%DLQ%tenb%billing"}, readTopic, "", v2.Code_ILLEGAL_TOPIC},
		{"dead letters are not sent to", callCtx("", anyKey), &v2.Resource{Name: "%DLQ%billing"}, userTopic, "", v2.Code_ILLEGAL_TOPIC},
		{"trace topic", callCtx("", anyKey), &v2.Resource{Name: "%TRACE%"}, readTopic, "", v2.Code_ILLEGAL_TOPIC},
		{"checker group", callCtx("", anyKey), &v2.Resource{Name: "%RMQ%orders"}, groupName, "", v2.Code_ILLEGAL_CONSUMER_GROUP},
		{"NUL", callCtx("", anyKey), &v2.Resource{Name: "ord\x00ers"}, userTopic, "", v2.Code_ILLEGAL_TOPIC},
		{"too long", callCtx("", anyKey), &v2.Resource{Name: strings.Repeat("a", 128)}, groupName, "", v2.Code_ILLEGAL_CONSUMER_GROUP},
		{"empty", callCtx("", anyKey), &v2.Resource{}, userTopic, "", v2.Code_ILLEGAL_TOPIC},
		{"nil", callCtx("", anyKey), nil, groupName, "", v2.Code_ILLEGAL_CONSUMER_GROUP},
		{"other namespace in header", callCtx("tenb", anyKey), &v2.Resource{Name: "orders"}, userTopic, "", v2.Code_FORBIDDEN},
		{"other namespace on resource", callCtx("", tenA), &v2.Resource{Name: "orders", ResourceNamespace: "tenb"}, readTopic, "", v2.Code_FORBIDDEN},
		{"bad header namespace", callCtx("te%nb", nil), &v2.Resource{Name: "orders"}, userTopic, "", v2.Code_BAD_REQUEST},
		{"bad resource namespace", callCtx("", nil), &v2.Resource{Name: "orders", ResourceNamespace: "a\x00"}, userTopic, "", v2.Code_BAD_REQUEST},
	} {
		got, err := resolve(c.ctx, c.r, c.kind)
		require.Equal(t, c.wantCode, codeOf(err), "%s: %v", c.what, err)
		require.Equal(t, c.want, got, c.what)
	}
}

func FuzzResolve(f *testing.F) {
	f.Add("orders", "", "", "", uint8(0))
	f.Add("tenb%orders", "", "", "tena", uint8(1))
	f.Add("%DLQ%billing", "tena", "tena", "tena", uint8(1))
	f.Add("%DLQ%tenb%x", "", "", "", uint8(1))
	f.Add("a\x00b", "", "x", "", uint8(2))
	f.Fuzz(func(t *testing.T, name, header, resNS, keyNS string, kind uint8) {
		k := nameKind(kind % 3)
		var caller *Caller
		if namespace.Validate(keyNS) == nil && kind&4 != 0 {
			caller = &Caller{Namespace: keyNS, Allowed: func(string, string, string) bool { return true }}
		}
		stored, err := resolve(callCtx(header, caller), &v2.Resource{Name: name, ResourceNamespace: resNS}, k)
		if err != nil {
			require.NotEqual(t, v2.Code_OK, codeOf(err))
			require.Empty(t, stored)
			return
		}
		ns := header
		if resNS != "" {
			ns = resNS
		}
		if caller != nil {
			ns = caller.Namespace
		}
		// Whatever was accepted lies in the caller's namespace and reads back as written.
		back, ok := namespace.Unwrap(ns, stored)
		require.True(t, ok, "stored %q is outside namespace %q", stored, ns)
		require.Equal(t, name, back)
		require.Equal(t, ns, namespace.Of(stored))
		require.NotContains(t, stored, "\x00")
		if k == readTopic {
			require.NoError(t, domain.CheckReadableTopic(name))
		} else {
			require.True(t, domain.ValidName(name), "accepted %q", name)
		}
	})
}

// gzipped returns the gzip of n zero bytes: a few KiB for megabytes.
func gzipped(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(make([]byte, n))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestGzipBombIsRefusedWithoutInflatingIt: a small gzip body that inflates past the body
// limit is refused with MESSAGE_BODY_TOO_LARGE after inflating at most the limit, and the
// bodies of one request inflate within one request's worth of bytes together.
func TestGzipBombIsRefusedWithoutInflatingIt(t *testing.T) {
	bomb := gzipped(t, 60<<20)
	require.Less(t, len(bomb), 100<<10)
	msg := func(body []byte) *v2.Message {
		return &v2.Message{Topic: &v2.Resource{Name: "orders"}, Body: body,
			SystemProperties: &v2.SystemProperties{MessageId: "M", BodyEncoding: v2.Encoding_GZIP}}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	budget := 16 << 20
	_, err := fromProto(msg(bomb), 4<<20, &budget)
	runtime.ReadMemStats(&after)
	require.Equal(t, v2.Code_MESSAGE_BODY_TOO_LARGE, codeOf(err), "%v", err)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(24<<20), "inflating a bomb allocated too much")

	// Within the limit each, but five of them exceed one request's bytes.
	budget = 16 << 20
	body := gzipped(t, 4<<20-1)
	for i := range 5 {
		m, err := fromProto(msg(body), 4<<20, &budget)
		if i < 4 {
			require.NoError(t, err)
			require.Len(t, m.Body, 4<<20-1)
			continue
		}
		require.Equal(t, v2.Code_MESSAGE_BODY_TOO_LARGE, codeOf(err), "%v", err)
	}

	// Corrupt gzip is MESSAGE_CORRUPTED, as before.
	budget = 16 << 20
	_, err = fromProto(msg([]byte("not gzip")), 4<<20, &budget)
	require.Equal(t, v2.Code_MESSAGE_CORRUPTED, codeOf(err))
}
