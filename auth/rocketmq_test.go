package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSignatureClockSkew: a signed x-mq-date-time is accepted within MaxClockSkew of the
// server's clock either way and refused past it, so a captured signature replays for
// minutes, not a quarter of an hour.
func TestSignatureClockSkew(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	const bootstrap = "bootstrap-secret"
	v := NewSignatureVerifier(nil, time.Second, bootstrap, func() time.Time { return now })
	sign := func(at time.Time) (string, string) {
		dt := at.UTC().Format(dateTimeLayout)
		mac := hmac.New(sha1.New, []byte(RocketMQSecret(bootstrap)))
		mac.Write([]byte(dt))
		return dt, hex.EncodeToString(mac.Sum(nil))
	}
	for _, c := range []struct {
		off time.Duration
		ok  bool
	}{
		{0, true},
		{4 * time.Minute, true},
		{-4 * time.Minute, true},
		{5*time.Minute + time.Second, false},
		{-5*time.Minute - time.Second, false},
		{14 * time.Minute, false},
		{-14 * time.Minute, false},
	} {
		dt, sig := sign(now.Add(c.off))
		p, err := v.Verify(context.Background(), BootstrapKeyID, dt, sig)
		if c.ok {
			require.NoError(t, err, "offset %s", c.off)
			require.NotNil(t, p)
		} else {
			require.Error(t, err, "offset %s must be refused", c.off)
			require.Contains(t, err.Error(), "from the server's clock")
		}
	}
}
