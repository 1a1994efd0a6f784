package reader

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
)

func claimed(n int, until time.Time) []claimedMsg {
	out := make([]claimedMsg, n)
	for i := range out {
		out[i] = claimedMsg{m: domain.ReceivedMessage{MessageView: domain.MessageView{MessageID: fmt.Sprint(i)}}, until: until}
	}
	return out
}

// TestPrefetchPoolHandsOutOnlyWithinTheHold: messages are taken oldest first, never after
// their hold ended (those come back as expired, to be released), and the pool asks for
// about a quarter second of the demand it saw, nothing below prefetchMin.
func TestPrefetchPoolHandsOutOnlyWithinTheHold(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	p := &prefetchPool{windowStart: now}
	p.msgs = append(claimed(3, now.Add(-time.Millisecond)), claimed(5, now.Add(time.Second))...)
	out, expired := p.take(4, now)
	require.Len(t, expired, 3, "messages past their hold are not handed out")
	require.Len(t, out, 4)
	require.Len(t, p.msgs, 1)
	out, expired = p.take(4, now)
	require.Len(t, out, 1)
	require.Empty(t, expired)
	require.Empty(t, p.msgs)

	// Demand: 250 messages in the first quarter second make a target of 250.
	p = &prefetchPool{windowStart: now}
	p.noteTaken(250, now.Add(100*time.Millisecond))
	require.Zero(t, p.want(), "no rate before a full window")
	p.noteTaken(0, now.Add(300*time.Millisecond))
	require.Equal(t, 250, p.want())
	p.msgs = claimed(200, now.Add(2*time.Second))
	require.Equal(t, 50, p.want(), "what the pool holds counts")
	// A quiet window in between forgets the demand.
	p.noteTaken(0, now.Add(900*time.Millisecond))
	require.Zero(t, p.want())
	// Low demand claims nothing ahead.
	p = &prefetchPool{windowStart: now}
	p.noteTaken(prefetchMin-1, now)
	p.noteTaken(0, now.Add(prefetchWindow))
	require.Zero(t, p.want())
	// High demand is capped.
	p = &prefetchPool{windowStart: now}
	p.noteTaken(1_000_000, now)
	p.noteTaken(0, now.Add(prefetchWindow))
	require.Equal(t, prefetchMax, p.want())
}
