package reader

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func waiter(max int, invisible time.Duration) *gateWaiter {
	return newGateWaiter(ReceiveOptions{MaxMessages: max, Invisible: invisible})
}

// A look serves the receives parked when it starts, with the same invisible time and
// within the budget; the others wait for the next look.
func TestGateSharesALook(t *testing.T) {
	g := newReceiveGate(false)
	now := time.Now()
	a, b, c, d, e := waiter(32, time.Minute), waiter(32, time.Minute), waiter(32, time.Minute), waiter(32, time.Hour), waiter(32, time.Minute)
	adm, served, _, _ := g.admit(a, 1, now)
	require.Equal(t, admitLook, adm)
	require.Empty(t, served)
	for _, w := range []*gateWaiter{b, c, d} {
		adm, _, changed, _ := g.admit(w, 1, now)
		require.Equal(t, admitWait, adm, "one look at a time")
		require.NotNil(t, changed)
	}
	big := waiter(maxLookBudget, time.Minute)
	adm, _, _, _ = g.admit(big, 1, now)
	require.Equal(t, admitWait, adm)

	g.done(lookResult{gen: 1, got: true}, now)
	adm, served, _, _ = g.admit(e, 1, now)
	require.Equal(t, admitLook, adm, "the look found work: the next one runs at once")
	require.Equal(t, []*gateWaiter{b, c}, served, "same invisible time, within the budget, in arrival order")

	adm, _, _, _ = g.admit(b, 1, now)
	require.Equal(t, admitTaken, adm, "a served receive waits for its share")
	require.False(t, g.leave(b), "a served receive cannot leave: its share is coming")
	require.True(t, g.leave(d), "a parked receive can")
	adm, _, _, _ = g.admit(d, 1, now)
	require.Equal(t, admitWait, adm)

	b.share <- lookShare{}
	<-b.share
	g.received(b)
	adm, _, _, _ = g.admit(b, 1, now)
	require.Equal(t, admitWait, adm, "after its share a receive parks again")
}

// After a look that found nothing, or took all there was, receives wait until the waker
// moves on or the idle time ends; a contended look does not idle the gate.
func TestGateIdlesAfterExhaustedLook(t *testing.T) {
	now := time.Now()
	for _, r := range []lookResult{{gen: 7}, {gen: 7, got: true, exhausted: true}} {
		g := newReceiveGate(false)
		a := waiter(32, time.Minute)
		adm, _, _, _ := g.admit(a, 7, now)
		require.Equal(t, admitLook, adm)
		r.next = now.Add(300 * time.Millisecond)
		g.done(r, now)
		adm, _, _, idleUntil := g.admit(a, 7, now.Add(100*time.Millisecond))
		require.Equal(t, admitWait, adm, "%+v", r)
		require.Equal(t, r.next, idleUntil, "until the next hidden delivery turns visible")
		adm, _, _, _ = g.admit(a, 7, now.Add(400*time.Millisecond))
		require.Equal(t, admitLook, adm, "past the next visibility")
		g.done(r, now)
		adm, _, _, _ = g.admit(a, 8, now)
		require.Equal(t, admitLook, adm, "a wake-up since")
	}
	g := newReceiveGate(false)
	a := waiter(32, time.Minute)
	g.admit(a, 1, now)
	g.done(lookResult{gen: 1, contended: true}, now)
	adm, _, _, _ := g.admit(a, 1, now)
	require.Equal(t, admitLook, adm, "contended is not idle")
}

// Orderly gates do not share looks, and run as many at once as queues had new messages.
func TestOrderlyGateLooksApart(t *testing.T) {
	g := newReceiveGate(true)
	now := time.Now()
	ws := []*gateWaiter{waiter(32, time.Minute), waiter(32, time.Minute), waiter(32, time.Minute), waiter(32, time.Minute)}
	adm, _, _, _ := g.admit(ws[0], 1, now)
	require.Equal(t, admitLook, adm)
	adm, _, _, _ = g.admit(ws[1], 1, now)
	require.Equal(t, admitWait, adm)
	g.done(lookResult{gen: 1, got: true, ready: 3}, now)
	for _, w := range ws[1:] {
		adm, served, _, _ := g.admit(w, 1, now)
		require.Equal(t, admitLook, adm)
		require.Empty(t, served)
	}
	adm, _, _, _ = g.admit(ws[0], 1, now)
	require.Equal(t, admitWait, adm, "three looks at once at most")
}
