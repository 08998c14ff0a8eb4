package dripcel

// TEMPORARY: a stand-in for the outcome API the lead is landing on main
// ("outcomes:" commit). Deleted at that merge; the Reporter then takes each
// sale's Outcome from UploadError.Outcomes.

import (
	"context"
	"errors"
	"net/http"
)

// ErrNotFromDripcel stands in for the lead's sentinel.
var ErrNotFromDripcel = errors.New("dripcel: the answer was not from Dripcel")

// Fate stands in for the lead's Fate.
type Fate int

// Fates.
const (
	Recorded Fate = iota + 1
	AlreadyRecorded
	Refused
	NotDelivered
)

// Settled reports whether the fate is Dripcel's own verdict.
func (f Fate) Settled() bool { return f == Recorded || f == AlreadyRecorded || f == Refused }

// Outcome stands in for the lead's Outcome.
type Outcome struct {
	Fate Fate
	Err  error
}

// send uploads sales and returns each one's outcome.
func (r *Reporter) send(ctx context.Context, sales []Sale) []Outcome {
	err := r.client.UploadSales(ctx, sales)
	outs := make([]Outcome, len(sales))
	for i := range outs {
		outs[i] = Outcome{Fate: Recorded}
	}
	if err == nil {
		return outs
	}
	var ue *UploadError
	if !errors.As(err, &ue) {
		for i := range outs {
			outs[i] = bridgeClassify(err, true, len(sales))
		}
	} else {
		for _, be := range ue.Batches {
			o := bridgeClassify(be.Err, be.Sent, be.Last-be.First+1)
			for i := be.First; i <= be.Last && i < len(outs); i++ {
				outs[i] = o
			}
		}
	}
	for i, o := range outs {
		if o.Fate == 0 { // split: ask about this sale alone
			outs[i] = bridgeClassify(r.client.UploadSales(ctx, sales[i:i+1]), true, 1)
			if outs[i].Fate == 0 {
				outs[i] = Outcome{Fate: Recorded}
			}
		}
	}
	return outs
}

func bridgeClassify(err error, sent bool, n int) Outcome {
	if err == nil {
		return Outcome{Fate: Recorded}
	}
	if !sent {
		return Outcome{Fate: NotDelivered, Err: err}
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return Outcome{Fate: NotDelivered, Err: err}
	}
	code := apiErr.StatusCode
	switch {
	case n > 1 && code != http.StatusUnauthorized && code != http.StatusForbidden &&
		code != http.StatusRequestTimeout && code != http.StatusTooManyRequests && code < 500:
		return Outcome{} // split
	case errors.Is(apiErr, ErrDuplicateSale):
		return Outcome{Fate: AlreadyRecorded, Err: err}
	case code == http.StatusUnauthorized || code == http.StatusForbidden ||
		code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return Outcome{Fate: NotDelivered, Err: err}
	}
	return Outcome{Fate: Refused, Err: err}
}
