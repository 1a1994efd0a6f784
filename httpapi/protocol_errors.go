package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
)

// ProtocolErrorsAsJSON wraps the API's listener so that the errors Go's HTTP server
// answers by itself, before any handler runs (a URL with a bare %, as in an unescaped
// %DLQ%group; a header too large; a bad request line), are the contract's JSON error
// shape too, not plain text.
//
// net/http writes such an answer in one Write straight to the connection, with a header
// block no handler's answer has (Content-Type before Connection; answers through the
// ResponseWriter have their headers sorted), so it is recognised exactly and nothing else
// is touched. Wrap the outermost listener (after TLS), where the bytes are plain.
func ProtocolErrorsAsJSON(l net.Listener) net.Listener { return protocolErrorListener{l} }

type protocolErrorListener struct{ net.Listener }

func (l protocolErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return protocolErrorConn{c}, nil
}

type protocolErrorConn struct{ net.Conn }

// serverErrorHeaders is what net/http puts between the status line and the text of an
// error it answers itself.
var serverErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c protocolErrorConn) Write(p []byte) (int, error) {
	out, ok := jsonProtocolError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// jsonProtocolError rewrites one of net/http's own error answers as a JSON one.
func jsonProtocolError(p []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 3 || (rest[0] != '4' && rest[0] != '5') {
		return nil, false
	}
	statusLine, text, ok := bytes.Cut(rest, serverErrorHeaders)
	if !ok || bytes.ContainsAny(statusLine, "\r\n") {
		return nil, false
	}
	status, err := strconv.Atoi(string(statusLine[:3]))
	if err != nil {
		return nil, false
	}
	msg := string(text)
	if bytes.HasPrefix(text, statusLine) {
		msg = string(bytes.TrimPrefix(bytes.TrimPrefix(text, statusLine), []byte(": ")))
	}
	if msg == "" {
		msg = string(statusLine[min(4, len(statusLine)):])
	}
	if status == 400 {
		msg += " (a % in a path must be written %25: %DLQ%group is %25DLQ%25group)"
	}
	var body errorBody
	body.Error.Code, body.Error.Message = protocolErrorCode(status), msg
	b, err := json.Marshal(body)
	if err != nil {
		return nil, false
	}
	return fmt.Appendf(nil, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		statusLine, len(b), b), true
}

func protocolErrorCode(status int) string {
	switch status {
	case 400:
		return CodeBadRequest
	case 413, 431:
		return CodeTooLarge
	}
	return fmt.Sprintf("HTTP_%d", status)
}
