package dripcel

import (
	"context"
	"time"
)

// Queue is where a Reporter keeps sales until Dripcel has given its verdict
// on each. A Reporter uses one: in memory (the default), the bbolt spool
// (WithSpool), or any other given with WithQueue, such as the PostgreSQL
// outbox of package dripcelpg.
//
// The Reporter is the only one to Claim from a Queue it was given, and it
// claims again only once it has passed every sale of the last claim to
// Settle or Keep. A sale leaves a Queue only through Settle, that is on
// Dripcel's own verdict (Recorded, AlreadyRecorded or Refused); a sale that
// got no verdict goes back with Keep and is claimed again, ahead of sales
// added after it.
//
// Methods may be called from several goroutines at once (Add from the
// Report calls, the rest from the Reporter's sending goroutine).
type Queue interface {
	// Add keeps sales, in order, and returns once they are kept as
	// durably as the Queue keeps anything. It returns an error matching
	// ErrQueueFull, at once, when it has no room. It must return when ctx
	// ends, saying whether the sales may still have been kept.
	Add(ctx context.Context, sales []Sale) error
	// Claim returns up to max sales to send, oldest first, with their IDs.
	// It returns none when there is nothing to send or, for a Queue shared
	// by several Reporters, when this one may not deliver now.
	Claim(ctx context.Context, max int) ([]QueuedSale, error)
	// Settle removes claimed sales on Dripcel's verdict. A Queue that can
	// keeps the refused ones apart, with Dripcel's answer, rather than
	// forgetting them. It is called as Dripcel answers each request of
	// a claim, so several times a claim, for different sales.
	Settle(ctx context.Context, verdicts []Verdict) error
	// Keep puts back claimed sales that got no verdict, to be claimed
	// again; cause is why they were not delivered.
	Keep(ctx context.Context, sales []QueuedSale, cause error) error
	// Len is how many sales are queued, claimed ones included.
	Len(ctx context.Context) (int, error)
	// Mark is the ID of the newest sale queued, or 0 when there is none;
	// Flush waits until Holds(Mark()) is false.
	Mark(ctx context.Context) (uint64, error)
	// Holds reports whether any sale with an ID at most upTo is queued.
	Holds(ctx context.Context, upTo uint64) (bool, error)
	// Close releases what the Queue holds (a file, connections). Sales
	// stay where a durable Queue keeps them.
	Close() error
}

// FencedQueue is a Queue whose Settle may drop verdicts: package dripcelpg's
// outbox applies a verdict only while the sale is still claimed under the
// lease term that claimed it, so that an instance that lost the lease never
// undoes what the next holder has done. A Reporter on a FencedQueue hands a
// refused sale to OnRejected only once its verdict was applied: a dropped
// verdict reaches neither the queue nor OnRejected (the holder that sends
// the sale again reports its own). On other queues OnRejected is called
// before the verdict is kept, so that a crash between the two repeats the
// call rather than losing it.
type FencedQueue interface {
	Queue
	// SettleApplied is Settle, returning the IDs of the sales whose
	// verdicts it applied. It applies all it applies or nothing: with an
	// error it has applied none, and returns no IDs.
	SettleApplied(ctx context.Context, verdicts []Verdict) (applied []uint64, err error)
}

// AgedQueue is a Queue that can say how long its oldest sale has waited.
// The Reporter's queues and dripcelpg's are: ReporterStats.Oldest and the
// dripcel.reporter.queue.oldest_age metric read it.
type AgedQueue interface {
	Queue
	// Oldest is how long the oldest sale queued has waited since it was
	// added, or 0 when none is queued (or none says when it was added).
	Oldest(ctx context.Context) (time.Duration, error)
}

// QueuedSale is a sale kept in a Queue.
type QueuedSale struct {
	// ID orders sales: a later Add gets a higher ID. It is the Queue's
	// own, never sent.
	ID uint64
	// Sale is the sale as reported, with its Ref.
	Sale Sale
	// Attempts is how many times the sale was claimed, this claim
	// included, where the Queue counts them (0 where it does not).
	Attempts int
}

// Verdict is Dripcel's own verdict on a claimed sale: Outcome.Fate is
// Recorded, AlreadyRecorded or Refused, and for Refused Outcome.Err is
// Dripcel's answer.
type Verdict struct {
	QueuedSale
	Outcome Outcome
}
