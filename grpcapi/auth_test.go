package grpcapi

import (
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	c, ok := ParseAuthorization("MQv2-HMAC-SHA1 Credential=AK1/20261125/Rocketmq, SignedHeaders=x-mq-date-time, Signature=0a1b")
	if !ok || c.AccessKey != "AK1" || c.Signature != "0a1b" {
		t.Fatalf("got %+v, %v", c, ok)
	}
	for _, bad := range []string{
		"",
		"Bearer abc",
		"MQv2-HMAC-SHA1 Credential=AK1, Signature=",
		"MQv2-HMAC-SHA1 Credential=/x, SignedHeaders=x-mq-date-time, Signature=ab",
		"MQv2-HMAC-SHA1 Credential=AK1, SignedHeaders=host, Signature=ab",
		"MQv2-HMAC-SHA1 garbage",
	} {
		if c, ok := ParseAuthorization(bad); ok {
			t.Errorf("ParseAuthorization(%q) = %+v, want refused", bad, c)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("MQv2-HMAC-SHA1 Credential=AK1/20261125/Rocketmq, SignedHeaders=x-mq-date-time, Signature=0a1b")
	f.Add("MQv2-HMAC-SHA1 Credential=,,=")
	f.Fuzz(func(t *testing.T, h string) {
		c, ok := ParseAuthorization(h)
		if !ok {
			return
		}
		if c.AccessKey == "" || c.Signature == "" || strings.Contains(c.AccessKey, "/") {
			t.Fatalf("accepted %q as %+v", h, c)
		}
	})
}
