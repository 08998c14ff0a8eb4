package dripcel

import (
	"context"
	"fmt"
)

// pace waits for the client's rate limiter, if it has one, before a request.
func (c *Client) pace(ctx context.Context) error {
	if c.limiter == nil {
		return nil
	}
	err := c.limiter.Wait(ctx)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if _, ok := ctx.Deadline(); !ok {
		return fmt.Errorf("rate limiter: %w", err) // a limiter with no burst
	}
	// The limiter refuses at once a wait that would outlast the deadline;
	// say so in a form errors.Is recognises, so the upload stops as it would
	// when the deadline passes.
	return fmt.Errorf("waiting for the rate limit would pass the deadline: %w", context.DeadlineExceeded)
}
