package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dripcel-go/dripcel"
)

// Reasons given in the rejects file.
const (
	reasonDuplicate        = "duplicate: Dripcel already has a sale with this cell, campaign and soldAt date"
	reasonInterruptedPause = "not sent: interrupted while pausing for Dripcel's rate limit"
)

// upload sends one batch and classes each of its rows. It returns an error
// when the upload must stop: the key was refused, or the network or
// Dripcel failed after retries.
//
// Dripcel does not document whether a batch holding one duplicate (or one
// unknown campaign) is refused whole or in part, so a batch it refuses is
// sent again one row at a time and each row is classed by its own answer.
// If Dripcel stored part of the refused batch, those rows come back as
// duplicates: they are in Dripcel either way.
func (u *upload) upload(ctx context.Context, batch []*record, sales []dripcel.Sale) error {
	outcomes := make([]outcome, len(batch))
	reasons := make([]string, len(batch))
	var stop error
	stopBatch := -1
	results := u.sendPatiently(ctx, sales)
	size := make(map[int]int) // rows in each request
	for _, r := range results {
		size[r.batch]++
	}
	for i, r := range results {
		switch {
		case r.err == nil:
			outcomes[i] = accepted
		case r.fate == dripcel.AlreadyRecorded || r.fate == dripcel.Refused:
			// The library settled the row on an answer about it alone.
			outcomes[i], reasons[i], _ = classOf(r.err, sales[i])
		case stop != nil && r.batch == stopBatch:
			// The rest of the request that stopped the upload.
			outcomes[i], reasons[i] = failed, failure(r.err)
		case !r.sent || stop != nil:
			outcomes[i], reasons[i] = notSent, "not sent: "+cause(r.err, stop)
		case refused(r.err) && size[r.batch] == 1:
			// Sent alone already: the answer is the row's own.
			outcomes[i], reasons[i], stop = classOf(r.err, sales[i])
		case refused(r.err):
			outcomes[i], reasons[i], stop = u.classify(ctx, sales[i])
		case errors.Is(r.err, dripcel.ErrRateLimited) && u.interrupted.Load():
			outcomes[i], reasons[i] = notSent, reasonInterruptedPause
		default:
			outcomes[i], reasons[i] = failed, failure(r.err)
			stop, stopBatch = r.err, r.batch
		}
	}
	sent := 0
	for i, rec := range batch {
		if outcomes[i] != notSent {
			sent++
		}
		if outcomes[i] == accepted {
			u.tally.add(accepted, rec.row)
			continue
		}
		u.reject(rec, outcomes[i], reasons[i])
	}
	u.tally.sent += sent
	u.progress.add(sent)
	return stop
}

// failure is the reason given for a row whose request failed.
func failure(err error) string {
	if errors.Is(err, context.Canceled) {
		return "failed: abandoned by a second Ctrl-C; Dripcel may or may not have it"
	}
	return "failed: " + err.Error()
}

// classify sends one sale on its own and classes the answer. A rate limit
// that outlasted a pause cut short by Ctrl-C leaves the row not sent, as
// it does for a whole batch, rather than stopping the upload as a failure.
func (u *upload) classify(ctx context.Context, s dripcel.Sale) (outcome, string, error) {
	err := u.sendPatiently(ctx, []dripcel.Sale{s})[0].err
	if errors.Is(err, dripcel.ErrRateLimited) && u.interrupted.Load() {
		return notSent, reasonInterruptedPause, nil
	}
	return classOf(err, s)
}

// classOf classes the answer to a request that held s alone.
func classOf(err error, s dripcel.Sale) (outcome, string, error) {
	switch {
	case err == nil:
		return accepted, "", nil
	case errors.Is(err, dripcel.ErrDuplicateSale):
		return duplicate, reasonDuplicate, nil
	case errors.Is(err, dripcel.ErrCampaignNotFound):
		return notFound, fmt.Sprintf("campaign not found: %q", s.CampaignID), nil
	case refused(err):
		var apiErr *dripcel.APIError
		errors.As(err, &apiErr)
		return invalid, fmt.Sprintf("refused by Dripcel: %d %s", apiErr.StatusCode, apiErr.Message), nil
	}
	return failed, failure(err), err
}

// refused reports whether Dripcel refused the sales themselves (any 4xx
// but an auth failure or a rate limit), so that sending them again one at a
// time tells which were at fault.
func refused(err error) bool {
	var apiErr *dripcel.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch code := apiErr.StatusCode; {
	case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusTooManyRequests:
		return false
	case code >= 200 && code < 300:
		return true // {"ok": false} on a 2xx
	default:
		return code >= 400 && code < 500
	}
}

// cause says why a row was not sent.
func cause(batchErr, stop error) string {
	if stop != nil {
		return "the upload stopped: " + stop.Error()
	}
	if errors.Is(batchErr, context.Canceled) {
		return "interrupted"
	}
	return batchErr.Error()
}
