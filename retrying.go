package dripcel

import (
	"context"
	"net/http"

	"github.com/dripcel-go/dripcel/internal/retry"
)

// newPolicy is the retry policy cfg describes. Unless WithRetryWait set
// them, the backoff bounds scale with the budget's window (a 120th and a
// sixth of it: 0.5 s and 10 s at a minute), so a test that shrinks the
// window shrinks every wait with it.
func newPolicy(cfg config) retry.Policy {
	p := retry.Policy{
		MinWait:    cfg.retryWaitMin,
		MaxWait:    cfg.retryWaitMax,
		MaxRetries: cfg.maxRetries,
		MaxLimited: cfg.rateWaits,
		Window:     cfg.rateWindow,
		Now:        cfg.now,
	}
	if !cfg.retryWaitSet {
		p.MinWait, p.MaxWait = cfg.rateWindow/120, cfg.rateWindow/6
	}
	return p
}

// tally is the retry tally of the call whose context is ctx.
func tally(ctx context.Context) *retry.Tally {
	if a, ok := ctx.Value(attemptsKey{}).(*attempts); ok {
		return &a.tally
	}
	return &retry.Tally{}
}

// decideRetry is what checkRetry (verdict.go) asks once it has found the
// answer to be Dripcel's own, or a transport error. A 429 holds back every
// request of the budget, this call's retry included, for the wait it asks:
// that is the wait before the retry.
func (c *Client) decideRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	again, checkErr := c.policy.Decide(ctx, tally(ctx), resp, err)
	if err == nil && resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		// A wait longer than the client holds a call open fails the call
		// at once; it is the caller's to schedule, and holding back other
		// calls for it would make them hang instead of failing fast too.
		if d, ok := c.policy.ResumeAfter(resp); ok && d <= max(retry.MaxRetryAfter, c.policy.Window) {
			c.pauseAll(ctx, d)
		}
	}
	return again, checkErr
}

// prepareRetry is the retry layer's PrepareRetry: the backoff after a
// fault, then the pacing every request goes through (the pause after a 429
// and the limiter), so retries spend the same budget as first attempts.
func (c *Client) prepareRetry(req *http.Request) error {
	ctx := req.Context()
	if d := tally(ctx).Wait; d > 0 {
		if err := retry.Sleep(ctx, d); err != nil {
			return err
		}
	}
	return c.pace(ctx)
}
