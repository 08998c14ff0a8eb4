package dripceltest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// clock is a settable clock for WithRateClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// uploads sends n uploads of fresh sales (cellN(first) on) and returns the statuses.
func uploads(t *testing.T, srv *dripceltest.Server, first, n int) []int {
	t.Helper()
	var got []int
	for i := first; i < first+n; i++ {
		a := postSales(t, srv, batch(saleJSON("za", cellN(i))))
		if a.status == http.StatusTooManyRequests {
			wantEnvelope(t, a, http.StatusTooManyRequests)
			if ra, ok := a.header["Retry-After"]; ok {
				t.Errorf("429 with Retry-After %q; the fixed window sends none", ra)
			}
		}
		got = append(got, a.status)
	}
	return got
}

// cellN is a distinct valid South African cell for each i.
func cellN(i int) string { return fmt.Sprintf("2782%07d", i) }

func TestFixedWindow(t *testing.T) {
	// 09:59:59.9: the window of 10:00:00 starts 100 ms later.
	clk := &clock{now: time.Date(2026, 3, 1, 9, 59, 59, 900e6, time.UTC)}
	srv := start(t, dripceltest.WithFixedWindow(3, time.Minute), dripceltest.WithRateClock(clk.Now))

	if got := uploads(t, srv, 0, 5); !slices.Equal(got, []int{200, 200, 200, 429, 429}) {
		t.Errorf("first window: %v", got)
	}
	// The next window begins at the minute, not a minute after the first
	// request, and is full again at once: a fixed window, not a sliding one.
	clk.Set(clk.Now().Add(100 * time.Millisecond))
	if got := uploads(t, srv, 5, 4); !slices.Equal(got, []int{200, 200, 200, 429}) {
		t.Errorf("second window: %v", got)
	}
	clk.Set(clk.Now().Add(59*time.Second + 999*time.Millisecond))
	if got := uploads(t, srv, 9, 1); !slices.Equal(got, []int{429}) {
		t.Errorf("end of the second window: %v", got)
	}
	if n := srv.RateLimited(); n != 4 {
		t.Errorf("RateLimited() = %d, want 4", n)
	}
	if n := len(srv.Sales()); n != 6 {
		t.Errorf("%d sales stored, want 6: refused requests store nothing", n)
	}
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests && (r.Sales != 0 || r.Stored != 0) {
			t.Errorf("refused request recorded as %+v", r)
		}
	}
}

// TestFixedWindowRetryAfter: with WithFixedWindowRetryAfter a 429 says, as
// express-rate-limit does, how many whole seconds are left of the window,
// rounded up; everything else is as without it.
func TestFixedWindowRetryAfter(t *testing.T) {
	clk := &clock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	srv := start(t, dripceltest.WithFixedWindow(2, time.Minute), dripceltest.WithFixedWindowRetryAfter(),
		dripceltest.WithRateClock(clk.Now))
	status := func(i int) (int, string) {
		a := postSales(t, srv, batch(saleJSON("za", cellN(i))))
		return a.status, a.header.Get("Retry-After")
	}
	for i := range 2 {
		if got, ra := status(i); got != 200 || ra != "" {
			t.Errorf("request %d within the limit: %d, Retry-After %q", i, got, ra)
		}
	}
	for i, tt := range []struct {
		at   time.Duration // into the window
		want string
	}{
		{0, "60"},
		{400 * time.Millisecond, "60"}, // 59.6 s left: rounded up
		{59 * time.Second, "1"},
		{59*time.Second + 999*time.Millisecond, "1"}, // a millisecond left is still a second
	} {
		clk.Set(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Add(tt.at))
		got, ra := status(2 + i)
		if got != http.StatusTooManyRequests || ra != tt.want {
			t.Errorf("%s into a full window: %d, Retry-After %q; want 429, %q", tt.at, got, ra, tt.want)
		}
	}
	// The next window lets requests through again, without the header.
	clk.Set(time.Date(2026, 3, 1, 10, 1, 0, 0, time.UTC))
	if got, ra := status(10); got != 200 || ra != "" {
		t.Errorf("next window: %d, Retry-After %q", got, ra)
	}
	if n := srv.RateLimited(); n != 4 {
		t.Errorf("RateLimited() = %d, want 4", n)
	}

	// A window shorter than a second is told in whole seconds: 1.
	short := start(t, dripceltest.WithFixedWindow(1, 200*time.Millisecond), dripceltest.WithFixedWindowRetryAfter(),
		dripceltest.WithRateClock(clk.Now))
	for i, want := range []string{"", "1"} {
		a := postSales(t, short, batch(saleJSON("za", cellN(20+i))))
		if ra := a.header.Get("Retry-After"); ra != want {
			t.Errorf("200 ms window, request %d: %d, Retry-After %q; want %q", i, a.status, ra, want)
		}
	}
}

// TestFixedWindowCountsFaults: a request a fault answers still counts, and
// one the window refuses uses up no fault.
func TestFixedWindowCountsFaults(t *testing.T) {
	clk := &clock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	srv := start(t, dripceltest.WithFixedWindow(2, time.Minute), dripceltest.WithRateClock(clk.Now))
	srv.Fail(1, 503)
	srv.Respond(1, 404, "text/html", dripceltest.ProxyPage(404))
	if got := uploads(t, srv, 0, 3); !slices.Equal(got, []int{503, 404, 429}) {
		t.Errorf("statuses %v", got)
	}
	clk.Set(clk.Now().Add(time.Minute))
	if got := uploads(t, srv, 3, 2); !slices.Equal(got, []int{200, 200}) {
		t.Errorf("next window: %v", got)
	}
}

// TestFixedWindowRealClock: without WithRateClock the window runs on the
// wall clock, and ends.
func TestFixedWindowRealClock(t *testing.T) {
	srv := start(t, dripceltest.WithFixedWindow(1, 200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	refused := false
	for i := 0; ctx.Err() == nil; i++ {
		status := uploads(t, srv, i, 1)[0]
		if status == http.StatusTooManyRequests {
			refused = true
		} else if status != http.StatusOK {
			t.Fatalf("status %d", status)
		} else if refused {
			return // a later window let a request through
		}
	}
	t.Fatalf("refused %v; no request got through after a 429 within 20 s", refused)
}

// TestWithRateLimitTokenBucket keeps the token bucket's Retry-After.
func TestWithRateLimitTokenBucket(t *testing.T) {
	srv := start(t, dripceltest.WithRateLimit(1, 2))
	got := uploads(t, srv, 0, 2)
	a := postSales(t, srv, batch(saleJSON("za", cellN(2))))
	if !slices.Equal(got, []int{200, 200}) || a.status != 429 || a.header.Get("Retry-After") == "" {
		t.Errorf("statuses %v then %d with Retry-After %q", got, a.status, a.header.Get("Retry-After"))
	}
}
