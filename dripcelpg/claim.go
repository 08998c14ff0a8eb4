package dripcelpg

import (
	"context"

	"github.com/dripcel-go/dripcel"
)

// claimContext is the context a claim is sent with. It ends, with cause
// dripcel.ErrLeaseLost, when the instance gives up the term the claim was
// made under: at once when the elector drops the term (a renewal found the
// lease taken or expired, the trust window ended, a resignation), and, in
// Err, whenever it is asked after the trust window has ended. The latter
// matters for a process that was frozen (SIGSTOP, a paused VM) past its
// lease: when it resumes, all its goroutines run again at once, and the
// one sending may ask its context before the elector's goroutine or any
// timer has run. The uploader asks before each request, so such a process
// sends at most the one it was about to send.
type claimContext struct {
	context.Context // Done closed by cancel
	cancel          context.CancelCauseFunc
	e               *elector
	term            int64
}

var _ context.Context = (*claimContext)(nil)

// newClaimContext returns the context for a claim under term, derived from
// parent, and the function that releases it.
func newClaimContext(parent context.Context, e *elector, term int64) (*claimContext, func()) {
	inner, cancel := context.WithCancelCause(parent)
	c := &claimContext{Context: inner, cancel: cancel, e: e, term: term}
	lost := e.lostCh(term)
	if lost == nil {
		cancel(dripcel.ErrLeaseLost)
		return c, func() {}
	}
	go func() {
		select {
		case <-lost:
			cancel(dripcel.ErrLeaseLost)
		case <-inner.Done():
		}
	}()
	return c, func() { cancel(context.Canceled) }
}

// Err is the context's error, after checking that the lease is still
// trusted: if it is not, the context ends now, with ErrLeaseLost.
func (c *claimContext) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !c.e.holds(c.term) {
		c.cancel(dripcel.ErrLeaseLost)
	}
	return c.Context.Err()
}
