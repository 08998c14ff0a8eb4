package upload

import (
	"context"
	"errors"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/fate"
)

// upload sends one batch and classes each row by the library's own outcome
// for its sale: recorded, already in Dripcel, refused (and why) or not
// delivered (and why). The library sends a batch Dripcel refuses again in
// smaller requests until each sale has Dripcel's answer about it alone, so
// the command needs no resending of its own. It returns an error when the
// upload must stop: a sale was not delivered for a cause that outlasts the
// batch (the key refused, the network or Dripcel failing after retries).
func (u *upload) upload(ctx context.Context, batch []*export.Row, sales []dripcel.Sale) error {
	_, u.settledBefore = u.sender.counts()
	var stop error
	for i, out := range outcomes(u.client.UploadSales(ctx, sales), len(sales)) {
		r := batch[i]
		if answered(out) {
			u.tally.sent++
			u.tally.sentBy[r.By]++
		}
		o, reason := u.classOf(out, &sales[i])
		switch {
		case o == recorded:
			u.tally.add(recorded, r.Row)
			continue
		case o != notDelivered:
		case u.interrupted.Load() && errors.Is(out.Err, context.Canceled):
		case stop == nil:
			stop = out.Err
		}
		u.reject(r.Record, o, reason)
	}
	u.done += len(batch)
	u.progress.set(u.done, u.timeLeft(u.toSend-u.done))
	return stop
}

// outcomes is each of n sales' outcome from UploadSales's error: the
// library's own per sale, or for an error that is not an *UploadError (the
// call failed whole) not delivered, each.
func outcomes(err error, n int) []dripcel.Outcome {
	res := make([]dripcel.Outcome, n)
	var upErr *dripcel.UploadError
	switch {
	case err == nil:
		for i := range res {
			res[i] = dripcel.Outcome{Fate: dripcel.Recorded}
		}
	case errors.As(err, &upErr):
		for i, out := range upErr.Outcomes() {
			res[i] = out
		}
	default:
		for i := range res {
			res[i] = dripcel.Outcome{Fate: dripcel.NotDelivered, Err: err}
		}
	}
	return res
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

// moved shows the rows settled while the library is still at work on a
// read-ahead: a refused request is settled sale by sale, which can take
// many requests.
func (u *upload) moved() {
	_, settled := u.sender.counts()
	u.progress.set(min(u.done+settled-u.settledBefore, u.toSend), u.timeLeft(u.toSend-u.done-settled+u.settledBefore))
}
