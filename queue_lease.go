package dripcel

import (
	"context"
	"errors"
	"time"
)

// LeasedQueue is a Queue shared by several Reporters of which one at a time
// delivers, under a lease that it can lose: when it stops renewing in time
// (frozen, cut off from the database) another instance takes over and
// sends the same sales. Package dripcelpg's outbox is one.
//
// A Reporter given a LeasedQueue claims with ClaimLeased and sends the
// claim with the context it returns, so that an instance that has lost
// the lease stops within one request instead of spending the budget the
// new holder is spending too. It also claims no more than its client's
// budget can send within LeaseTerm, so that a claim does not outlive its
// lease by design.
//
// Its Close gives up the lease, and must be safe while an Add, Settle or
// Keep is still running (they then end with their own outcome): a Reporter
// whose Close outlives its context closes a LeasedQueue at once, so that
// another instance delivers now rather than when a stalled call returns.
type LeasedQueue interface {
	Queue
	// ClaimLeased is Claim under the lease. With the sales it returns a
	// context, derived from ctx, that ends, with ErrLeaseLost as its
	// cause, as soon as this instance may no longer be the holder of
	// the lease they were claimed under: its Err must say so as soon as
	// it is called after the lease is lost, even if nothing has yet
	// noticed it (a process resumed after being frozen), since it is
	// checked before each request. The context stays valid until the
	// next ClaimLeased or Close. With no sales it returns ctx.
	ClaimLeased(ctx context.Context, max int) (context.Context, []QueuedSale, error)
	// LeaseTerm is how long the holder may rely on the lease after a
	// claim without renewing it. A Reporter sizes its claims to what its
	// client's budget can send within it.
	LeaseTerm() time.Duration
}

// ErrLeaseLost is the cause of a LeasedQueue's claim context ending
// because the instance lost the lease: another instance may be sending
// the same sales. Sales not sent are left to the next holder.
var ErrLeaseLost = errors.New("dripcel: the lease was lost; another instance delivers")

// saleBytesEstimate is the size, in bytes of JSON, assumed for a sale when
// the client cuts requests by size: a realistic sale with a 24-hex
// campaign_id, a cell, a soldAt with its clock and a value is about 150.
// Smaller sales make claims a little smaller than the budget allows, never
// larger.
const saleBytesEstimate = 150

// salesWithin is how many sales the client's budget can send within d:
// the requests its pacing allows in d (at least one) times the sales a
// request holds (the batch size, or the body cap over saleBytesEstimate).
// The budget is the one given with WithRateLimit (Dripcel's 50 a minute by
// default), which a shared limiter only divides further.
func (c *Client) salesWithin(d time.Duration) int {
	requests := 1
	if c.paceGap > 0 {
		requests = max(1, int(d/c.paceGap))
	}
	perRequest := max(1, c.bodyCap.limit()/saleBytesEstimate)
	if c.batchSize > 0 {
		perRequest = min(perRequest, c.batchSize)
	}
	return requests * perRequest
}
