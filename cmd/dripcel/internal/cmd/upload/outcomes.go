package upload

import (
	"context"
	"errors"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/fate"
)

// results is what became of an upload's n sales: the runs of those not
// recorded, in order, as the library's *UploadError gives them, read
// forward one sale at a time.
type results struct {
	n    int
	runs []*dripcel.BatchError
	// whole is the error of a call that failed whole (not an
	// *UploadError): every sale is then not delivered, for it.
	whole error
	at    int // the run next reads from
}

func newResults(err error, n int) *results {
	res := &results{n: n}
	var upErr *dripcel.UploadError
	switch {
	case err == nil:
	case errors.As(err, &upErr):
		res.runs = upErr.Batches
	default:
		res.whole = err
	}
	return res
}

// allRecorded reports whether every sale was recorded.
func (r *results) allRecorded() bool { return r.whole == nil && len(r.runs) == 0 }

// next is the outcome of sale i; calls go forward, i ascending.
func (r *results) next(i int) dripcel.Outcome {
	if r.whole != nil {
		return dripcel.Outcome{Fate: dripcel.NotDelivered, Err: r.whole}
	}
	for r.at < len(r.runs) && r.runs[r.at].Last < i {
		r.at++
	}
	if r.at < len(r.runs) && r.runs[r.at].First <= i {
		b := r.runs[r.at]
		return dripcel.Outcome{Fate: b.Fate, Err: b.Err}
	}
	return dripcel.Outcome{Fate: dripcel.Recorded}
}

// settled is how many sales have their fate: all but those not delivered.
func (r *results) settled() int {
	if r.whole != nil {
		return 0
	}
	n := r.n
	for _, b := range r.runs {
		if b.Fate == dripcel.NotDelivered {
			n -= b.Last - b.First + 1
		}
	}
	return n
}

// unsentTail is the first sale of the run of sales at the end that were
// never sent because the upload stopped (known ones from the ledger may be
// among them), or n when there is none.
func (r *results) unsentTail() int {
	if r.whole != nil {
		return 0
	}
	cut, end := r.n, r.n
	for k := len(r.runs) - 1; k >= 0; k-- {
		b := r.runs[k]
		if b.Last != end-1 {
			break // a recorded sale follows
		}
		switch {
		case b.Fate == dripcel.NotDelivered && !b.Sent:
			cut = b.First
		case errors.Is(b.Err, dripcel.ErrKnownFromLedger):
		default:
			return cut
		}
		end = b.First
	}
	return cut
}

// stopCause is why the upload stopped before the end, if it did: the first
// cause of sales not delivered, unless it is the Ctrl-C that interrupted
// it (which is reported as such).
func (r *results) stopCause(interrupted bool) error {
	if r.whole != nil {
		return r.whole
	}
	for _, b := range r.runs {
		if b.Fate != dripcel.NotDelivered {
			continue
		}
		if interrupted && errors.Is(b.Err, context.Canceled) {
			return nil
		}
		return b.Err
	}
	return nil
}

// answered reports whether the sale's request got an answer: a verdict, or
// an answer that is not one (401, a 5xx, a proxy's page). The summary
// counts those rows as sent.
func answered(out dripcel.Outcome) bool {
	var apiErr *dripcel.APIError
	return out.Fate != dripcel.NotDelivered || errors.As(out.Err, &apiErr)
}

// classOf turns a sale's outcome into the row's, with the reason the
// rejects file gives.
func (u *upload) classOf(out dripcel.Outcome, s *dripcel.Sale) (outcome, string) {
	switch out.Fate {
	case dripcel.Recorded:
		return recorded, ""
	case dripcel.AlreadyRecorded:
		if errors.Is(out.Err, dripcel.ErrKnownFromLedger) {
			return known, ""
		}
		return already, fate.AlreadyReason
	case dripcel.Refused:
		missing, reason := fate.Refusal(out.Err, s)
		if missing {
			return notFound, reason
		}
		return refused, reason
	}
	if errors.Is(out.Err, context.Canceled) {
		return notDelivered, u.interruptReason()
	}
	return notDelivered, fate.Failure(out.Err)
}

// interruptReason is the reason given for a row a Ctrl-C kept from
// Dripcel's answer.
func (u *upload) interruptReason() string {
	if u.abandoned.Load() {
		return "not delivered: abandoned by a second Ctrl-C; Dripcel may or may not have it (sending it again is safe)"
	}
	return "not delivered: not sent after Ctrl-C (sending it again is safe)"
}

// moved shows the rows settled while the library is at work: a refused
// request is settled sale by sale, which can take many requests.
func (u *upload) moved() {
	_, settled := u.sender.counts()
	u.progress.set(min(settled, u.toSend), u.timeLeft(u.toSend-settled))
}
