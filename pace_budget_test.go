package dripcel_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
	"golang.org/x/time/rate"
)

// Tests of the rate budget: pacing on by default, at most N requests in any
// window of length W (retries included), and a 429 taken as the budget being
// spent. Windows are scaled down so the tests run in seconds; every wait
// the client derives from the budget scales with them.

// budgetServer starts a fake Dripcel that knows campaign "c1" (streamSale)
// and keeps a budget as express-rate-limit does by default: n requests in
// each fixed window w, 429 without Retry-After beyond.
func budgetServer(t *testing.T, n int, w time.Duration) (*dripceltest.Server, string) {
	t.Helper()
	srv := streamServer(t, dripceltest.WithFixedWindow(n, w))
	return srv, srv.URL
}

// budgetStats is what a budget server saw.
type budgetStats struct {
	requests, limited, sales int
	maxInWindow              int // the most requests in any span of a window
	first, last              time.Time
}

func statsOf(srv *dripceltest.Server, w time.Duration) budgetStats {
	reqs := srv.Requests()
	st := budgetStats{requests: len(reqs), limited: srv.RateLimited(), sales: len(srv.Sales()), maxInWindow: srv.MaxInWindow(w)}
	for i, r := range reqs {
		if i == 0 || r.At.Before(st.first) {
			st.first = r.At
		}
		if r.At.After(st.last) {
			st.last = r.At
		}
	}
	return st
}

func budgetClient(t *testing.T, url string, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	c, err := dripcel.NewClient(dripceltest.DefaultKey, append([]dripcel.Option{dripcel.WithBaseURL(url)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// With no rate option a client keeps to Dripcel's documented budget, 50
// requests a minute, evenly spaced: the second request may not go out
// within a second of the first. The deadline makes this a check of the
// spacing without a sleep: the wait would pass it, so the call fails at once.
func TestDefaultPacingIsDripcelsBudget(t *testing.T) {
	fw, url := budgetServer(t, 1000, time.Minute)
	c := budgetClient(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.Postback(ctx, streamSale(1)); err != nil {
		t.Fatal(err)
	}
	err := c.Postback(ctx, streamSale(2))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, dripcel.ErrRateLimited) {
		t.Fatalf("err = %v, want a pacing wait past the deadline (DeadlineExceeded, not a 429)", err)
	}
	if ctx.Err() != nil {
		t.Error("the call waited for the deadline instead of failing at once")
	}
	if got := len(fw.Requests()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
	if got, want := dripcel.PaceInterval(dripcel.DefaultRateLimit, dripcel.DefaultRateWindow), 1206*time.Millisecond; got != want {
		t.Errorf("default interval %s, want %s (49.75 requests a minute)", got, want)
	}
}

// The budget's count in any window, fixed or sliding, is never exceeded
// by a client paced to it, even with several uploads at once; without the
// pacing the same load is refused.
func TestPacingKeepsAFixedWindow(t *testing.T) {
	const n, w, requests = 20, time.Second, 40
	load := func(t *testing.T, opts ...dripcel.Option) budgetStats {
		fw, url := budgetServer(t, n, w)
		c := budgetClient(t, url, append([]dripcel.Option{dripcel.WithBatchSize(1), dripcel.WithConcurrency(3)}, opts...)...)
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() {
				if err := c.UploadSales(context.Background(), salesFrom(g*requests/2, requests/2)); err != nil {
					t.Errorf("upload %d: %v", g, err)
				}
			})
		}
		wg.Wait()
		return statsOf(fw, w)
	}
	t.Run("paced", func(t *testing.T) {
		st := load(t, dripcel.WithRateLimit(n, w))
		if st.limited != 0 || st.sales != requests {
			t.Errorf("%d answers 429, %d sales accepted; want 0 and %d", st.limited, st.sales, requests)
		}
		if st.maxInWindow > n+1 {
			t.Errorf("%d requests within one window's span, budget %d", st.maxInWindow, n)
		}
		// At least 90% of the ceiling (n per window) over the span used.
		span := st.last.Sub(st.first)
		if share := float64(requests-1) * float64(w) / (float64(n) * float64(span)); share < 0.9 {
			t.Errorf("%d requests in %s: %.0f%% of the ceiling, want 90%% or more", requests, span, 100*share)
		}
	})
	t.Run("unpaced", func(t *testing.T) {
		st := load(t, dripcel.WithoutPacing(), dripcel.WithRateLimit(n, w))
		if st.limited == 0 {
			t.Error("no 429 without pacing: the paced run proves nothing")
		}
		if st.sales != requests {
			t.Errorf("%d sales accepted, want %d: the 429s were not waited out", st.sales, requests)
		}
	})
}

func salesFrom(first, n int) []dripcel.Sale {
	s := make([]dripcel.Sale, n)
	for i := range s {
		s[i] = streamSale(first + i)
	}
	return s
}

// Retries spend the same budget as first attempts: a run of faults
// answered at once, with no backoff, still never puts more than n requests
// in a window.
func TestPacingIncludesRetries(t *testing.T) {
	const n, w = 3, 300 * time.Millisecond
	for _, paced := range []bool{true, false} {
		fw, url := budgetServer(t, n, w)
		fw.Fail(5, http.StatusInternalServerError)
		opts := []dripcel.Option{dripcel.WithRateLimit(n, w), dripcel.WithRetryWait(0, 0), dripcel.WithMaxRetries(10)}
		if !paced {
			opts = append(opts, dripcel.WithoutPacing())
		}
		c := budgetClient(t, url, opts...)
		for i := range 3 {
			if err := c.Postback(context.Background(), streamSale(i)); err != nil {
				t.Fatalf("paced %v: postback %d: %v", paced, i, err)
			}
		}
		st := statsOf(fw, w)
		switch {
		case paced && (st.limited != 0 || st.maxInWindow > n+1):
			t.Errorf("paced: %d answers 429, %d requests within one window; want 0 and at most %d", st.limited, st.maxInWindow, n+1)
		case !paced && st.limited == 0:
			t.Error("unpaced retries were never refused: the paced run proves nothing")
		}
	}
}

// The Reporter retrying through an outage goes no faster than the budget.
func TestReporterRetriesArePaced(t *testing.T) {
	const n, w = 3, 300 * time.Millisecond
	fw := reporterServer(t, dripceltest.WithFixedWindow(n, w))
	url := fw.URL
	fw.Fail(6, http.StatusInternalServerError)
	c := budgetClient(t, url, dripcel.WithRateLimit(n, w), dripcel.WithRetryWait(0, 0), dripcel.WithMaxRetries(0))
	r := newReporter(t, c, dripcel.WithFlushInterval(time.Millisecond))
	for i := range 3 {
		report(t, r, testSale(i))
	}
	if err := r.Flush(within(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st := statsOf(fw, w); st.limited != 0 || st.maxInWindow > n+1 || st.sales != 3 {
		t.Errorf("%d answers 429, at most %d requests in a window, %d sales; want 0, at most %d, 3",
			st.limited, st.maxInWindow, st.sales, n+1)
	}
}

// A 429 is the budget being spent, not a fault: its waits spend none of
// the retries meant for faults. Three 429s and three 500s in one call,
// with WithMaxRetries(3), end in success.
func TestRateLimitWaitsDoNotSpendFaultRetries(t *testing.T) {
	const window = 20 * time.Millisecond
	limited := status(http.StatusTooManyRequests, `{"ok":false,"error":"Too many requests"}`)
	fault := status(http.StatusInternalServerError, `{"ok":false,"error":"boom"}`)
	srv := newRecordingServer(t, limited, limited, limited, fault, fault, fault, ok200)
	c := budgetClient(t, srv.URL, dripcel.WithRateLimit(1_000_000, window), dripcel.WithMaxRetries(3),
		dripcel.WithRetryWait(0, 0))
	start := time.Now()
	if err := c.Postback(context.Background(), sale(1)); err != nil {
		t.Fatalf("err = %v, want success after 3 waits for the budget and 3 fault retries", err)
	}
	if n := len(srv.requests()); n != 7 {
		t.Errorf("%d requests, want 7", n)
	}
	// Each 429 without Retry-After waits the window: a lower bound.
	if took := time.Since(start); took < 3*window {
		t.Errorf("took %s; three 429s should have waited %s", took, 3*window)
	}
}

// After DefaultMaxRateLimitWaits waits the call gives up, and the error says when
// to send again even without a Retry-After: one window on.
func TestRateLimitErrorSaysWhenToSendAgain(t *testing.T) {
	const window = 10 * time.Millisecond
	srv := newRecordingServer(t, status(http.StatusTooManyRequests, `{"ok":false,"error":"Too many requests"}`))
	c := budgetClient(t, srv.URL, dripcel.WithRateLimit(1_000_000, window))
	err := c.Postback(context.Background(), sale(1))
	var apiErr *dripcel.APIError
	if !errors.Is(err, dripcel.ErrRateLimited) || !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	if apiErr.RetryAfter != window || apiErr.Attempts != 1+dripcel.DefaultMaxRateLimitWaits {
		t.Errorf("RetryAfter %s after %d attempts, want %s after %d", apiErr.RetryAfter, apiErr.Attempts,
			window, 1+dripcel.DefaultMaxRateLimitWaits)
	}
}

// With WithMaxRateLimitWaits(0) a 429 comes back at once, saying when to
// send again, for a caller that schedules its own resends; the client still
// holds back its next request until then.
func TestNoRateLimitWaits(t *testing.T) {
	const window = 150 * time.Millisecond
	srv := newRecordingServer(t, status(http.StatusTooManyRequests, `{"ok":false,"error":"Too many requests"}`), ok200)
	c := budgetClient(t, srv.URL, dripcel.WithRateLimit(1_000_000, window), dripcel.WithMaxRateLimitWaits(0))
	start := time.Now()
	err := c.Postback(context.Background(), sale(1))
	var apiErr *dripcel.APIError
	if !errors.Is(err, dripcel.ErrRateLimited) || !errors.As(err, &apiErr) || apiErr.Attempts != 1 || apiErr.RetryAfter != window {
		t.Fatalf("err = %v, want ErrRateLimited after 1 attempt with RetryAfter %s", err, window)
	}
	if err := c.Postback(context.Background(), sale(2)); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < window {
		t.Errorf("the next call went out %s after the 429, inside its %s", waited, window)
	}
}

// A wait for the window that would pass the deadline fails at once, with
// both the rate limit and the deadline in the error, as a Retry-After does.
func TestRateLimitWindowPastDeadlineFailsAtOnce(t *testing.T) {
	srv := newRecordingServer(t, status(http.StatusTooManyRequests, `{"ok":false,"error":"Too many requests"}`), ok200)
	c := budgetClient(t, srv.URL) // the default window, a minute
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Postback(ctx, sale(1))
	if ctx.Err() != nil {
		t.Fatal("the call waited until its deadline")
	}
	var apiErr *dripcel.APIError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, dripcel.ErrRateLimited) ||
		!errors.As(err, &apiErr) || apiErr.RetryAfter != time.Minute {
		t.Fatalf("err = %v, want ErrRateLimited and DeadlineExceeded with RetryAfter 1m", err)
	}
	// The pause holds the client's next call too: it fails at once, sending
	// nothing.
	err = c.Postback(ctx, sale(2))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, dripcel.ErrRateLimited) {
		t.Errorf("next call: err = %v, want the pause past the deadline", err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// pauser is a shared limiter that records what it is told.
type pauser struct {
	mu     sync.Mutex
	pauses []time.Duration
}

func (p *pauser) Wait(context.Context) error { return nil }

func (p *pauser) Pause(_ context.Context, d time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pauses = append(p.pauses, d)
	return nil
}

// A shared limiter is told of each 429, with the wait, so all its users
// hold back; the Retry-After when there is one, the window otherwise.
func TestSharedLimiterIsToldOf429(t *testing.T) {
	limited := status(http.StatusTooManyRequests, `{"ok":false,"error":"Too many requests"}`)
	srv := newRecordingServer(t, limited, status(http.StatusTooManyRequests, "", "Retry-After", "0"), ok200)
	p := &pauser{}
	c := budgetClient(t, srv.URL, dripcel.WithRateLimit(1_000_000, 5*time.Millisecond), dripcel.WithRateLimiter(p))
	if err := c.Postback(context.Background(), sale(1)); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pauses) != 2 || p.pauses[0] != 5*time.Millisecond || p.pauses[1] != 0 {
		t.Errorf("pauses %v, want [5ms 0s]", p.pauses)
	}
}

// A Pacer holds every user back for a pause, and spaces them after it.
func TestPacerPauseHoldsEveryUser(t *testing.T) {
	p, err := dripcel.NewPacer(1000, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const pause = 150 * time.Millisecond
	start := time.Now()
	_ = p.Pause(context.Background(), pause)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := p.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			if waited := time.Since(start); waited < pause {
				t.Errorf("Wait returned after %s, inside the %s pause", waited, pause)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = p.Pause(ctx, 2*time.Minute)
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, dripcel.ErrRateLimited) {
		t.Errorf("Wait in a pause past the deadline: %v, want DeadlineExceeded and ErrRateLimited", err)
	}
	if _, err := dripcel.NewPacer(0, time.Second); err == nil {
		t.Error("NewPacer(0, 1s) accepted")
	}
}

// WithRateLimiter takes any Limiter; x/time/rate's still fits.
func TestWithRateLimiterTakesAnInterface(t *testing.T) {
	var _ dripcel.Limiter = rate.NewLimiter(1, 1)
	var _ dripcel.Pauser = (*dripcel.Pacer)(nil)
	var nilPacer *dripcel.Pacer
	if _, err := dripcel.NewClient("key", dripcel.WithRateLimiter(nilPacer)); err == nil {
		t.Error("a nil *Pacer accepted")
	}
}
