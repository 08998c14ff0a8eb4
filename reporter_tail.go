package dripcel

import (
	"context"
	"errors"
	"log/slog"
)

// Full requests across batch ends.
//
// A Reporter claims a batch of sales (10,000 by default) and uploads it;
// the client cuts it into requests as full as the body cap allows, and the
// last is part full. With a backlog, every batch would end in such a
// request: about 4 points of the budget's ceiling lost. So when the claim
// was full (more sales are likely waiting) and nobody asked for the queue to
// be emptied now (Flush, Close), the last part-full request is not sent:
// its sales go back to the head of the queue, and lead the next claim into
// full requests. An upload that has sent nothing sends its tail anyway, so
// that a batch smaller than one request still goes.

// errTailHeld is the cause given to the sales of a tail kept back.
var errTailHeld = errors.New("dripcel: kept back to fill the next request")

// holdTail reports whether an upload of claimed sales should keep its
// last part-full request back for the sales that follow. A full claim is
// one of claimLimit's size, which a LeasedQueue caps below a batch.
func (r *Reporter) holdTail(claimed int) bool {
	full := claimed >= r.claimLimit()
	r.mu.Lock()
	defer r.mu.Unlock()
	return full && r.flushing == 0 && !r.closed
}

// keepTail puts sales kept back by holdTail back in the queue, at its head,
// as sales that are not failures: no retry, no backoff.
func (r *Reporter) keepTail(ctx context.Context, held []QueuedSale) {
	if len(held) == 0 {
		return
	}
	if err := r.queue.Keep(ctx, held, nil); err != nil {
		r.client.logger.LogAttrs(r.sendCtx, slog.LevelWarn, "dripcel: reporter: could not put unsettled sales back in the queue",
			slog.String("error", err.Error()))
	}
}
