package dripcel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel/internal/retry"
	"golang.org/x/time/rate"
)

// Limiter paces a client's requests: Wait returns when one more request
// may be sent, or with an error when it may not be sent before ctx ends.
// x/time/rate's *rate.Limiter satisfies it, as do *Pacer and the Redis
// limiter of package dripcelredis. Give one to WithRateLimiter.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Pauser is a Limiter that can be told Dripcel answered 429: Pause holds
// back every Wait of every user of the limiter until d has passed, so that
// clients sharing a budget stop together instead of each spending a request
// to learn it is spent. A client calls it with the wait it takes itself
// (the Retry-After, or the budget's window). A Limiter that is not a Pauser
// still pauses the client that saw the 429.
type Pauser interface {
	Pause(ctx context.Context, d time.Duration) error
}

// PaceInterval is the gap a Pacer keeps between requests for a budget of n
// requests in any window of length per: per/n, widened so that the n
// requests after any request span the window plus a margin (a two-hundredth
// of the window, and at least 50 ms) for network jitter. A server counting
// in fixed windows then never sees n+1 in one window unless one request
// reaches it more than the margin later than the one n after it (a new
// connection's handshakes, say), and then only when a window's edge falls
// in that excess: a rare 429, which costs one request and the Retry-After.
// A wider margin would cost every window the same share of the budget to
// spare that request. A token-bucket server sees a little less than its
// rate. At the default budget (50 a minute) it is 1.206 s: 49.75 requests a
// minute.
func PaceInterval(n int, per time.Duration) time.Duration {
	if n < 1 || per <= 0 {
		return 0
	}
	margin := max(per/200, 50*time.Millisecond)
	return (per + margin) / time.Duration(n)
}

// Pacer spaces requests evenly, PaceInterval apart, so that no window of
// the budget's length holds more than its count, and never lets them
// bunch up: it has no burst. It is a Pauser: after a 429 it holds back every
// request for the wait the client takes. WithRateLimit gives each client a
// Pacer of its own; clients in one process that use the same organisation
// can share one through WithRateLimiter. For several processes see package
// dripcelredis. A Pacer is safe for concurrent use.
type Pacer struct {
	lim  *rate.Limiter
	hold hold
}

// NewPacer returns a Pacer for a budget of n requests in any window of
// length per.
func NewPacer(n int, per time.Duration) (*Pacer, error) {
	if n < 1 || per <= 0 {
		return nil, fmt.Errorf("dripcel: NewPacer: %d requests per %s is not a rate", n, per)
	}
	return &Pacer{lim: rate.NewLimiter(rate.Every(PaceInterval(n, per)), 1)}, nil
}

// Wait returns when the next request may be sent: after any pause, and
// PaceInterval after the one before. A wait that would end after ctx's
// deadline fails at once with an error matching context.DeadlineExceeded
// (and ErrRateLimited when it is a pause after a 429).
func (p *Pacer) Wait(ctx context.Context) error {
	if err := p.hold.wait(ctx); err != nil {
		return err
	}
	if err := limiterError(ctx, p.lim.Wait(ctx), true); err != nil {
		return err
	}
	// A 429 may have come while this waited for its turn: sending now
	// would be refused too.
	return p.hold.wait(ctx)
}

// Pause holds back every Wait until d has passed (or longer, if an earlier
// pause ends later). It never fails.
func (p *Pacer) Pause(_ context.Context, d time.Duration) error {
	p.hold.extend(d)
	return nil
}

// hold is a pause after a 429: requests wait until it ends.
type hold struct {
	mu    sync.Mutex
	until time.Time // monotonic
}

func (h *hold) extend(d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	h.mu.Lock()
	if until.After(h.until) {
		h.until = until
	}
	h.mu.Unlock()
}

// wait returns when the pause ends. A pause that would outlast ctx's
// deadline fails at once; one extended while waiting is waited out too.
func (h *hold) wait(ctx context.Context) error {
	for {
		h.mu.Lock()
		d := time.Until(h.until)
		h.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if retry.PastDeadline(ctx, d) {
			return errPausePastDeadline
		}
		if err := retry.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// errPausePastDeadline: the pause after a 429 ends after the context's
// deadline. Like the retry that stops for a Retry-After past the deadline,
// it matches both ErrRateLimited and context.DeadlineExceeded.
var errPausePastDeadline error = pauseDeadlineError{}

type pauseDeadlineError struct{}

func (pauseDeadlineError) Error() string {
	return "rate limited: the pause after a 429 would pass the context deadline"
}

func (pauseDeadlineError) Is(target error) bool {
	return target == ErrRateLimited || target == context.DeadlineExceeded
}

// pace waits, before a request, for the end of a pause after a 429 this
// client saw, then for the client's limiter, if it has one. It ends by
// asking ctx once more, since the wait may have been long: a context
// that has ended by now sends nothing, even when nothing has yet closed
// its Done channel (a LeasedQueue's claim context, in a process resumed
// after being frozen, learns only then that its lease is gone).
func (c *Client) pace(ctx context.Context) error {
	start := time.Now()
	defer func() { c.tel.waited(ctx, time.Since(start)) }()
	if err := c.hold.wait(ctx); err != nil {
		return err
	}
	if c.limiter != nil {
		_, xrate := c.limiter.(*rate.Limiter)
		if err := limiterError(ctx, c.limiter.Wait(ctx), xrate); err != nil {
			return err
		}
		// A 429 may have come while this waited for its turn: sending now
		// would be refused too.
		if err := c.hold.wait(ctx); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// limiterError puts err, from a limiter's Wait, in the form the client
// returns. x/time/rate refuses at once a wait that would outlast the
// deadline, with an error of its own: say so in a form errors.Is
// recognises, so an upload stops as it would when the deadline passes.
func limiterError(ctx context.Context, err error, xrate bool) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	if _, ok := ctx.Deadline(); ok && xrate {
		return fmt.Errorf("waiting for the rate limit would pass the deadline: %w", context.DeadlineExceeded)
	}
	return fmt.Errorf("rate limiter: %w", err)
}

// pauseTimeout bounds telling a shared limiter of a 429.
const pauseTimeout = 5 * time.Second

// pauseAll holds back this client's requests, and every user of its
// limiter if that is a Pauser, for d after a 429. It returns when the
// limiter has been told or when ctx ends, whichever comes first.
func (c *Client) pauseAll(ctx context.Context, d time.Duration) {
	c.hold.extend(d)
	p, ok := c.limiter.(Pauser)
	if !ok {
		return
	}
	// Telling the others must not fail with this call's context, which a
	// 429 past its deadline is about to end, so it goes on, bounded by
	// pauseTimeout, after the call has returned; but the call must not
	// wait on a slow shared limiter past its own context either.
	told := make(chan struct{})
	go func() {
		defer close(told)
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pauseTimeout)
		defer cancel()
		if err := p.Pause(pctx, d); err != nil {
			c.logger.WarnContext(pctx, "dripcel: could not pause the shared rate limiter", "error", err.Error())
		}
	}()
	select {
	case <-told:
	case <-ctx.Done():
	}
}
