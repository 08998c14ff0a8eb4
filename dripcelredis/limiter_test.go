package dripcelredis_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelredis"
	"github.com/dripcel-go/dripcel/internal/fixedwindow"
)

func newLimiter(t *testing.T, key string, n int, per time.Duration) *dripcelredis.Limiter {
	t.Helper()
	// A client of its own, as another process would have.
	lim, err := dripcelredis.NewLimiter(redisClient(t), key, n, per)
	if err != nil {
		t.Fatal(err)
	}
	return lim
}

// Limiters on one key, as in separate processes, share one spacing: k
// requests among them take at least k-1 intervals, with no burst at the
// start.
func TestLimitersOnOneKeyShareTheBudget(t *testing.T) {
	rdb := redisClient(t)
	key := testKey(t, rdb)
	const n, per, each = 20, time.Second, 4
	interval := dripcel.PaceInterval(n, per)
	lims := []*dripcelredis.Limiter{newLimiter(t, key, n, per), newLimiter(t, key, n, per), newLimiter(t, key, n, per)}
	start := time.Now()
	var wg sync.WaitGroup
	for _, lim := range lims {
		wg.Go(func() {
			for range each {
				if err := lim.Wait(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if took, least := time.Since(start), time.Duration(len(lims)*each-1)*interval; took < least {
		t.Errorf("%d waits took %s, less than %s: the limiters did not share one spacing", len(lims)*each, took, least)
	}
}

// A key of its own is a budget of its own.
func TestLimitersOnOtherKeysDoNotWait(t *testing.T) {
	rdb := redisClient(t)
	a, b := newLimiter(t, testKey(t, rdb), 1, time.Hour), newLimiter(t, testKey(t, rdb), 1, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("a key's budget was spent by another key's request: %v", err)
	}
	// a's next request is an hour away: past the deadline, so at once.
	if err := a.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, dripcel.ErrRateLimited) {
		t.Errorf("err = %v, want DeadlineExceeded (pacing, not a 429)", err)
	}
	if ctx.Err() != nil {
		t.Error("the wait ran to the deadline instead of failing at once")
	}
}

// A pause after a 429 holds back every limiter on the key, only ever
// grows, and fails at once a wait it would take past the deadline.
func TestPauseHoldsEveryProcess(t *testing.T) {
	rdb := redisClient(t)
	key := testKey(t, rdb)
	a, b := newLimiter(t, key, 1000, time.Second), newLimiter(t, key, 1000, time.Second)
	const pause = 200 * time.Millisecond
	start := time.Now()
	if err := a.Pause(context.Background(), pause); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause(context.Background(), time.Millisecond); err != nil { // must not shorten it
		t.Fatal(err)
	}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Redis keeps the expiry to the millisecond.
	if waited := time.Since(start); waited < pause-2*time.Millisecond {
		t.Errorf("the other limiter waited %s, inside the %s pause", waited, pause)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.Pause(ctx, time.Minute)
	err := b.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, dripcel.ErrRateLimited) {
		t.Errorf("err = %v, want DeadlineExceeded and ErrRateLimited", err)
	}
	if ctx.Err() != nil {
		t.Error("the wait ran to the deadline instead of failing at once")
	}
}

func TestNewLimiterRejectsNonsense(t *testing.T) {
	rdb := redisClient(t)
	for _, tc := range []struct {
		key string
		n   int
		per time.Duration
	}{{"", 50, time.Minute}, {"org", 0, time.Minute}, {"org", 50, 0}} {
		if _, err := dripcelredis.NewLimiter(rdb, tc.key, tc.n, tc.per); err == nil {
			t.Errorf("NewLimiter(%q, %d, %s) accepted", tc.key, tc.n, tc.per)
		}
	}
	if _, err := dripcelredis.NewLimiter(nil, "org", 50, time.Minute); err == nil {
		t.Error("nil client accepted")
	}
}

// Two clients sharing the limiter against a fixed-window server: no 429,
// and a 429 caused from outside (another program) pauses both.
func TestClientsSharingTheLimiter(t *testing.T) {
	rdb := redisClient(t)
	key := testKey(t, rdb)
	const n, w = 10, 500 * time.Millisecond
	fw := fixedwindow.New(n, w, 0)
	srv := httptest.NewServer(fw)
	t.Cleanup(srv.Close)
	var wg sync.WaitGroup
	for g := range 2 {
		c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), dripcel.WithRateLimit(n, w),
			dripcel.WithRateLimiter(newLimiter(t, key, n, w)), dripcel.WithBatchSize(1))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			sales := make([]dripcel.Sale, 10)
			for i := range sales {
				sales[i] = dripcel.Sale{CampaignID: "c", Cell: "2763" + string(rune('0'+g)) + "00000" + string(rune('0'+i))}
			}
			if err := c.UploadSales(context.Background(), sales); err != nil {
				t.Errorf("client %d: %v", g, err)
			}
		})
	}
	wg.Wait()
	if st := fw.Stats(); st.Limited != 0 || st.Sales != 20 || st.MaxInWindow > n {
		t.Errorf("%d answers 429, %d sales, %d requests within a window; want 0, 20, at most %d",
			st.Limited, st.Sales, st.MaxInWindow, n)
	}
}
