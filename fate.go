package dripcel

import (
	"errors"
	"net/http"
)

// Fate is what became of one sale given to UploadSales, UploadSalesSeq or
// Postback. Only Dripcel's own answer (its JSON envelope) settles a sale;
// anything else leaves it NotDelivered, safe to send again.
type Fate int

// The fates a sale can have. The zero Fate is not one of them.
const (
	// Recorded: Dripcel accepted a request holding the sale, in this call,
	// with {"ok": true}.
	Recorded Fate = iota + 1
	// AlreadyRecorded: Dripcel has the sale. It answered 409 "Duplicate
	// sale" for this sale alone, or the sale repeats (same identifier, cell
	// and soldAt date) an earlier sale of the same upload that Dripcel has,
	// or the client's Ledger holds it (Outcome.Err then matches
	// ErrKnownFromLedger, and the sale was not sent).
	// When Dripcel stores part of a batch it refuses, a sale it stored then
	// is also reported here: its own answer cannot tell the two apart.
	AlreadyRecorded
	// Refused: Dripcel refused this sale alone, with its envelope: 404
	// "Campaign not found" or another 4xx. Sending it again will not help.
	Refused
	// NotDelivered: Dripcel gave no verdict on the sale. It was not sent
	// (an earlier failure stopped the upload, the context ended), or the
	// answer was not Dripcel's (401 or 403, the rate budget, retries run
	// out, ErrNotFromDripcel). Outcome.Err says why. Sending it again is
	// safe: Dripcel refuses a sale it already has.
	NotDelivered
)

// String names the fate in words ("already recorded").
func (f Fate) String() string {
	switch f {
	case Recorded:
		return "recorded"
	case AlreadyRecorded:
		return "already recorded"
	case Refused:
		return "refused"
	case NotDelivered:
		return "not delivered"
	}
	return "unknown fate"
}

// Settled reports whether the fate is Dripcel's own verdict: Recorded,
// AlreadyRecorded or Refused. A sale not settled must be sent again.
func (f Fate) Settled() bool { return f == Recorded || f == AlreadyRecorded || f == Refused }

// Outcome is the fate of one sale and why.
type Outcome struct {
	Fate Fate
	// Err is nil for Recorded. For the others it is the cause: Dripcel's
	// answer as an *APIError (matching ErrDuplicateSale,
	// ErrCampaignNotFound, ErrNotFromDripcel, …), a transport or context
	// error, or the error that stopped the upload before the sale was sent.
	Err error
}

// FateOf classifies the error of a call that reported one sale: Postback, or
// UploadSales of a single sale. nil is Recorded; a 409 in Dripcel's envelope
// is AlreadyRecorded; another refusal in Dripcel's envelope is Refused;
// anything else (a transport error, an answer that is not Dripcel's, 401, a
// validation error, a context error) is NotDelivered.
func FateOf(err error) Fate {
	if err == nil {
		return Recorded
	}
	if errors.Is(err, ErrKnownFromLedger) {
		return AlreadyRecorded
	}
	var ue *UploadError
	if errors.As(err, &ue) && ue.Total == 1 {
		return ue.Outcome(0).Fate
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return NotDelivered
	}
	switch apiErr.verdict() {
	case verdictRefused:
		if apiErr.StatusCode == http.StatusConflict || apiErr.Is(ErrDuplicateSale) {
			return AlreadyRecorded
		}
		return Refused
	case verdictRecorded:
		return Recorded
	}
	return NotDelivered
}
