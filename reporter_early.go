package dripcel

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Settling as Dripcel answers.
//
// A claim holds up to thousands of sales, sent in many requests over a
// minute or more. Settled only at the end of the claim, every sale Dripcel
// had accepted would stay queued until then: a crash, a kill or a lost
// lease in between would send them again, and Dripcel answers such resends
// as duplicates, in refused batches that cost about a request a sale to
// settle. So each answer is passed to the queue as it comes: a request
// accepted, or a sale refused alone. What is left (sales settled without a
// request: repeats, sales known from the ledger, sales the client would not
// send) is settled with the rest of the claim, as are the sales of an early
// settle that failed.

// earlySettle settles one claim's sales as Dripcel answers them.
type earlySettle struct {
	r     *Reporter
	fq    FencedQueue // nil for a queue that applies every verdict
	batch []QueuedSale

	// mu makes one settle at a time: with WithConcurrency, answers come
	// from several uploads at once.
	mu      sync.Mutex
	settled []bool // by claim index: the queue has the verdict
	told    []bool // by claim index: OnRejected was called
}

func (r *Reporter) newEarlySettle(batch []QueuedSale, fq FencedQueue) *earlySettle {
	return &earlySettle{r: r, fq: fq, batch: batch, settled: make([]bool, len(batch)), told: make([]bool, len(batch))}
}

// answered is the upload's answered hook, with indexes into the claim.
func (e *earlySettle) answered(idx []int, f Fate, err error) {
	verdicts := make([]Verdict, len(idx))
	for k, i := range idx {
		verdicts[k] = Verdict{QueuedSale: e.batch[i], Outcome: Outcome{Fate: f, Err: err}}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if f == Refused && e.fq == nil {
		// Before the queue forgets it, as at the end of a claim.
		for _, i := range idx {
			e.r.rejectSale(e.batch[i].Sale, err)
			e.told[i] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.r.sendCtx), 30*time.Second)
	defer cancel()
	if serr := e.r.settle(ctx, e.fq, verdicts); serr != nil {
		e.r.client.logger.LogAttrs(e.r.sendCtx, slog.LevelDebug, "dripcel: reporter: settling as answered failed; tried again with the rest of the claim",
			slog.Int("sales", len(idx)), slog.String("error", serr.Error()))
		return
	}
	for _, i := range idx {
		e.settled[i] = true
	}
}

// done reports whether the sale at claim index i was settled already, and
// whether OnRejected was called for it.
func (e *earlySettle) done(i int) (settled, told bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settled[i], e.told[i]
}
