package jsonwire

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// AppendString appends s quoted as encoding/json quotes it, HTML characters (<, >, &)
// escaped as its Marshal does.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			// Rare on the wire: let encoding/json escape, and replace invalid UTF-8.
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendTime appends t as encoding/json writes a time.Time: RFC 3339 with nanoseconds,
// quoted. It fails where encoding/json does, for a year outside 0-9999, and then returns
// the error of time.Time.AppendText.
func AppendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// AppendArray appends xs as encoding/json writes a slice: null when nil, else [e₁,e₂,…]
// with each element written by elem. It stops at elem's first error.
func AppendArray[T any](b []byte, xs []T, elem func([]byte, *T) ([]byte, error)) ([]byte, error) {
	if xs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	var err error
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = elem(b, &xs[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}
