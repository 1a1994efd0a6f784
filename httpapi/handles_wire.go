package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/internal/jsonwire"
)

// DecodeHandlesRequest reads the body of an ack or a nack, of at most limit bytes, into
// req. It answers every input exactly as DecodeJSON(c, limit, req) does; the body clients
// send, a list of plain strings, is decoded without reflection (encoding/json cost an
// ack more CPU than its Postgres transaction).
func DecodeHandlesRequest(c echo.Context, limit int64, req *HandlesRequest) error {
	return decodeFast(c, limit, req, decodeHandlesFast)
}

// handlesRequestFields are the JSON names of HandlesRequest's fields.
var handlesRequestFields = []string{"receiptHandles"}

// decodeHandlesFast decodes an ack or nack body in jsonwire's plain subset and reports
// whether it could; what it returns with true is what encoding/json returns for the same
// bytes (FuzzDecodeHandlesRequest checks it).
func decodeHandlesFast(b []byte) (HandlesRequest, bool) {
	r := jsonwire.NewReader(b)
	var req HandlesRequest
	ok := r.Object(handlesRequestFields, func(int) bool {
		var ok bool
		req.ReceiptHandles, ok = r.Strings()
		return ok
	})
	if !ok || !r.End() {
		return HandlesRequest{}, false
	}
	return req, true
}

// AppendHandlesResponse appends the JSON of HandlesResponse{Results: res} to b, byte for
// byte what encoding/json writes (without the Encoder's trailing newline).
func AppendHandlesResponse(b []byte, res []HandleResult) []byte {
	b = append(b, `{"results":`...)
	b, _ = jsonwire.AppendArray(b, res, func(b []byte, r *HandleResult) ([]byte, error) {
		b = append(b, `{"receiptHandle":`...)
		b = jsonwire.AppendString(b, r.ReceiptHandle)
		b = append(b, `,"status":`...)
		b = jsonwire.AppendString(b, r.Status)
		return append(b, '}'), nil
	})
	return append(b, '}')
}
