package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dripcel-go/dripcel"
)

// defaultRateLimitPause is how long to pause after a 429 that names no
// wait. Dripcel documents a limit of about 50 requests a minute per
// organisation, so half a minute frees part of the window.
const defaultRateLimitPause = 30 * time.Second

// rowResult is what UploadSales made of one sale.
type rowResult struct {
	err  error // nil when accepted
	sent bool
	// batch names the request the sale went in, so that the rows of a
	// failed request fail together.
	batch int
	// fate is the library's outcome for the sale, when it reported one.
	fate dripcel.Fate
}

// sendPatiently uploads sales like UploadSales and returns each sale's
// result. When Dripcel still answers 429 after the client's own retries,
// it pauses (for the Retry-After asked, else half a minute) and sends the
// sales not yet accepted again, until --rate-limit-wait is used up: a long
// upload outlasts Dripcel's per-minute limit instead of failing at it.
func (u *upload) sendPatiently(ctx context.Context, sales []dripcel.Sale) []rowResult {
	res := make([]rowResult, len(sales))
	idx := make([]int, len(sales))
	for i := range idx {
		idx[i] = i
	}
	sub := sales
	for {
		err := u.client.UploadSales(ctx, sub)
		u.batches++
		for _, i := range idx {
			res[i] = rowResult{sent: true, batch: u.batches}
		}
		if err == nil {
			return res
		}
		var upErr *dripcel.UploadError
		if !errors.As(err, &upErr) {
			for _, i := range idx {
				res[i] = rowResult{err: err, batch: u.batches}
			}
			return res
		}
		var retry []int
		var pause time.Duration
		for _, be := range upErr.Batches {
			u.batches++
			limited := be.Sent && errors.Is(be.Err, dripcel.ErrRateLimited)
			if limited {
				pause = defaultRateLimitPause
				var apiErr *dripcel.APIError
				if errors.As(be.Err, &apiErr) && apiErr.RetryAfter > 0 {
					pause = apiErr.RetryAfter
				}
			}
			for i := be.First; i <= be.Last; i++ {
				res[idx[i]] = rowResult{err: be.Err, sent: be.Sent || be.Fate != dripcel.NotDelivered, batch: u.batches, fate: be.Fate}
				if limited || (!be.Sent && pause > 0) {
					retry = append(retry, idx[i])
				}
			}
		}
		if len(retry) == 0 || !u.pause(ctx, pause) {
			return res
		}
		idx = retry
		sub = make([]dripcel.Sale, len(idx))
		for j, i := range idx {
			sub[j] = sales[i]
		}
	}
}

// pause waits out a rate limit and reports whether to send again: not when
// the wait allowed is used up or the upload is interrupted.
func (u *upload) pause(ctx context.Context, d time.Duration) bool {
	if u.waited+d > u.flags.rateLimitWait {
		return false
	}
	u.waited += d
	u.std.err.printf("\nrate limited by Dripcel: pausing %s before sending again\n", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-u.stop:
	}
	return false
}

// rateLimitHelp describes --rate-limit-wait.
var rateLimitHelp = fmt.Sprintf("how long in all to pause for Dripcel's rate limit (429) before giving up; "+
	"each pause is the Retry-After asked, else %s", defaultRateLimitPause)
