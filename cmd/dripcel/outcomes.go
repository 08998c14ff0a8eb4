package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dripcel-go/dripcel"
)

// upload sends one batch and classes each row by the library's own outcome
// for its sale: recorded, already in Dripcel, refused (and why) or not
// delivered (and why). The library sends a batch Dripcel refuses again in
// smaller requests until each sale has Dripcel's answer about it alone, so
// the command needs no resending of its own. It returns an error when the
// upload must stop: a sale was not delivered for a cause that outlasts the
// batch (the key refused, the network or Dripcel failing after retries).
func (u *upload) upload(ctx context.Context, batch []*record, sales []dripcel.Sale) error {
	var stop error
	for i, r := range u.sendBatch(ctx, sales) {
		rec := batch[i]
		if r.sent {
			u.tally.sent++
			u.tally.sentBy[identifierOf(&sales[i])]++
		}
		o, reason := classOf(r.outcome(), sales[i])
		switch {
		case o == recorded:
			u.tally.add(recorded, rec.row)
			continue
		case o != notDelivered:
		case u.interrupted.Load() && errors.Is(r.err, context.Canceled):
		case stop == nil:
			stop = r.err
		}
		u.reject(rec, o, reason)
	}
	u.progress.eta(u.timeLeft(u.toSend - u.tally.sent))
	u.progress.add(len(batch))
	return stop
}

// rowResult is what UploadSales made of one sale.
type rowResult struct {
	err  error // nil when recorded
	sent bool
	// fate is the library's outcome for the sale, when it reported one.
	fate dripcel.Fate
}

// sendBatch uploads sales and returns each one's result.
func (u *upload) sendBatch(ctx context.Context, sales []dripcel.Sale) []rowResult {
	res := make([]rowResult, len(sales))
	err := u.client.UploadSales(ctx, sales)
	var upErr *dripcel.UploadError
	switch {
	case err == nil:
		for i := range res {
			res[i].sent = true
		}
	case !errors.As(err, &upErr):
		for i := range res {
			res[i].err = err
		}
	default:
		for i := range res {
			res[i].sent = true
		}
		for _, be := range upErr.Batches {
			for i := be.First; i <= be.Last; i++ {
				res[i] = rowResult{err: be.Err, sent: be.Sent || be.Fate != dripcel.NotDelivered, fate: be.Fate}
			}
		}
	}
	return res
}

// outcome is the library's outcome for the row's sale: a sale outside every
// failed run was recorded, and an error that was not an *UploadError (the
// call failed whole) left it undelivered.
func (r rowResult) outcome() dripcel.Outcome {
	switch {
	case r.err == nil:
		return dripcel.Outcome{Fate: dripcel.Recorded}
	case r.fate == 0:
		return dripcel.Outcome{Fate: dripcel.NotDelivered, Err: r.err}
	}
	return dripcel.Outcome{Fate: r.fate, Err: r.err}
}

// classOf turns a sale's outcome into the row's, with the reason the
// rejects file gives.
func classOf(out dripcel.Outcome, s dripcel.Sale) (outcome, string) {
	switch out.Fate {
	case dripcel.Recorded:
		return recorded, ""
	case dripcel.AlreadyRecorded:
		return already, "already in Dripcel: it has a sale with this cell, campaign and soldAt date"
	case dripcel.Refused:
		if errors.Is(out.Err, dripcel.ErrCampaignNotFound) {
			return notFound, notFoundReason(out.Err, &s)
		}
		var apiErr *dripcel.APIError
		if errors.As(out.Err, &apiErr) {
			return refused, fmt.Sprintf("refused by Dripcel: %d %s", apiErr.StatusCode, apiErr.Message)
		}
		return refused, "refused by Dripcel: " + plain(out.Err)
	}
	return notDelivered, failure(out.Err)
}

// notFoundReason says what Dripcel did not find: the campaign, or the send
// or click the sale names ("Send not found", "Click not found"), or the
// campaign of a send or click it knows.
func notFoundReason(err error, s *dripcel.Sale) string {
	noun, id := idOf(s)
	if noun == "campaign" {
		return "campaign not found: " + quote(id)
	}
	var apiErr *dripcel.APIError
	if errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.Message), "campaign") {
		return fmt.Sprintf("campaign not found: the campaign of %s %s", noun, quote(id))
	}
	return fmt.Sprintf("%s not found: %s", noun, quote(id))
}

// failure is the reason given for a row Dripcel gave no verdict on.
func failure(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "not delivered: abandoned by a second Ctrl-C; Dripcel may or may not have it (sending it again is safe)"
	case err == nil:
		return "not delivered"
	}
	return "not delivered: " + plain(err)
}
