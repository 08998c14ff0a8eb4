package dripcel

import (
	"context"
	"errors"
)

// What the Reporter does differently with a LeasedQueue (queue_lease.go):
// it sizes claims to the budget of one lease term and sends each claim with
// the claim's own context, which ends when the lease is lost.

// claim takes the next batch from the queue, with the context to send it
// with: the Reporter's own, or a LeasedQueue's claim context.
func (r *Reporter) claim() (context.Context, []QueuedSale, error) {
	if lq, ok := r.queue.(LeasedQueue); ok {
		ctx, batch, err := lq.ClaimLeased(r.sendCtx, r.claimLimit())
		if ctx == nil {
			ctx = r.sendCtx
		}
		return ctx, batch, err
	}
	batch, err := r.queue.Claim(r.sendCtx, r.claimLimit())
	return r.sendCtx, batch, err
}

// claimLimit is how many sales one claim takes at most: a full batch, and
// from a LeasedQueue no more than the client's budget can send within one
// lease term, so that a claim does not outlive its lease by design.
func (r *Reporter) claimLimit() int {
	n := r.batchLimit()
	if lq, ok := r.queue.(LeasedQueue); ok {
		n = min(n, r.client.salesWithin(lq.LeaseTerm()))
	}
	return n
}

// leaseLost reports whether ctx, a claim's context, ended because the
// lease was lost.
func leaseLost(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrLeaseLost)
}
