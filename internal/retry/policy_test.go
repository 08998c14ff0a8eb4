package retry

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		// Long values as given, not cut to a day...
		{"86401", 86401 * time.Second, true},
		{"100000", 100000 * time.Second, true},
		{now.Add(1000 * time.Hour).Format(http.TimeFormat), 1000 * time.Hour, true},
		// ...up to the longest Duration, where they saturate.
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", math.MaxInt64, true},
		{"99999999999999999999", math.MaxInt64, true},
		{"-99999999999999999999", 0, false},
		{"Fri, 31 Dec 9999 23:59:59 GMT", math.MaxInt64, true},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func response(code int, retryAfter string) *http.Response {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: code, Header: h}
}

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	minW, maxW := 100*time.Millisecond, time.Second
	for _, j := range []float64{0, 0.5, 0.999} {
		p := Policy{Jitter: func() float64 { return j }}
		prevCeiling := time.Duration(0)
		for attempt := range 8 {
			d := p.Backoff(minW, maxW, attempt, nil)
			if d < minW || d > maxW {
				t.Errorf("jitter %v attempt %d: wait %v outside [%v, %v]", j, attempt, d, minW, maxW)
			}
			ceiling := Policy{Jitter: func() float64 { return 1 }}.Backoff(minW, maxW, attempt, nil)
			if ceiling < prevCeiling {
				t.Errorf("attempt %d: ceiling %v fell from %v", attempt, ceiling, prevCeiling)
			}
			prevCeiling = ceiling
		}
	}
	if d := (Policy{Jitter: func() float64 { return 1 }}).Backoff(minW, maxW, 20, nil); d != maxW {
		t.Errorf("late attempt waits %v, want the max %v", d, maxW)
	}
	a := Policy{Jitter: func() float64 { return 0.1 }}.Backoff(minW, maxW, 3, nil)
	b := Policy{Jitter: func() float64 { return 0.9 }}.Backoff(minW, maxW, 3, nil)
	if a == b {
		t.Error("jitter does not change the wait")
	}
}

func TestBackoffObeysRetryAfter(t *testing.T) {
	p := Policy{}
	if d := p.Backoff(time.Millisecond, 2*time.Millisecond, 0, response(429, "30")); d != 30*time.Second {
		t.Errorf("429 Retry-After 30: wait %v", d)
	}
	if d := p.Backoff(time.Millisecond, 2*time.Millisecond, 0, response(503, "2")); d != 2*time.Second {
		t.Errorf("503 Retry-After 2: wait %v", d)
	}
	if d := p.Backoff(time.Millisecond, 2*time.Millisecond, 0, response(500, "30")); d > 2*time.Millisecond {
		t.Errorf("Retry-After on a 500 was obeyed: wait %v", d)
	}
	if d := p.Backoff(time.Millisecond, 2*time.Millisecond, 0, response(429, "garbage")); d > 2*time.Millisecond {
		t.Errorf("unreadable Retry-After: wait %v, want the normal backoff", d)
	}
}

func TestDecide(t *testing.T) {
	p := Policy{MaxRetries: 3, MaxLimited: 5}
	ctx := context.Background()
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 404: false, 409: false,
		429: true, 500: true, 501: false, 502: true, 503: true, 504: true, 505: false} {
		if got, err := p.Decide(ctx, &Tally{}, response(code, ""), nil); got != want || err != nil {
			t.Errorf("status %d: retry %v, %v; want %v", code, got, err, want)
		}
	}
	if got, _ := p.Decide(ctx, &Tally{}, response(429, "61"), nil); got {
		t.Error("429 with Retry-After over the cap is retried")
	}
	if got, _ := p.Decide(ctx, &Tally{}, response(429, "60"), nil); !got {
		t.Error("429 with Retry-After at the cap is not retried")
	}
	if got, _ := (Policy{MaxLimited: 1, Window: 2 * time.Minute}).Decide(ctx, &Tally{}, response(429, "120"), nil); !got {
		t.Error("429 with Retry-After within a window above the cap is not retried")
	}
	if got, _ := p.Decide(ctx, &Tally{}, nil, errors.New("connection reset by peer")); !got {
		t.Error("transport error is not retried")
	}
	if got, _ := p.Decide(ctx, &Tally{}, nil, errors.New(`unsupported protocol scheme "ftp"`)); got {
		t.Error("unsupported scheme is retried")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := p.Decide(cctx, &Tally{}, nil, errors.New("x")); got || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: retry %v, err %v", got, err)
	}
}

// A 429 spends none of the retries meant for faults, and a streak of them
// has a bound of its own that a fault in between starts again.
func TestDecideCountsFaultsAnd429sApart(t *testing.T) {
	p := Policy{MaxRetries: 2, MaxLimited: 3, MinWait: time.Millisecond, MaxWait: time.Millisecond}
	ctx := context.Background()
	var tl Tally
	script := []struct {
		code  int
		retry bool
	}{
		{429, true}, {429, true}, {429, true}, // three waits, no fault retry spent
		{500, true}, // first fault retry; the 429 streak ends
		{429, true}, {429, true}, {429, true},
		{503, true},  // second fault retry
		{502, false}, // no fault retry left
	}
	for i, step := range script {
		got, err := p.Decide(ctx, &tl, response(step.code, ""), nil)
		if got != step.retry || err != nil {
			t.Fatalf("step %d (%d): retry %v, %v; want %v (tally %+v)", i, step.code, got, err, step.retry, tl)
		}
	}
	if tl.Faults != 2 {
		t.Errorf("Faults = %d, want 2", tl.Faults)
	}
	tl = Tally{}
	for range 3 {
		_, _ = p.Decide(ctx, &tl, response(429, ""), nil)
	}
	if got, _ := p.Decide(ctx, &tl, response(429, ""), nil); got {
		t.Error("a fourth 429 in a row is waited out; MaxLimited is 3")
	}
	if tl.Faults != 0 {
		t.Errorf("429s spent %d fault retries", tl.Faults)
	}
}

// The wait after a 429 without Retry-After is the budget's window, and one
// the deadline cannot cover stops at once with PastDeadline set.
func TestDecide429WaitsTheWindow(t *testing.T) {
	p := Policy{MaxRetries: 3, MaxLimited: 5, Window: time.Minute}
	if d, ok := p.ResumeAfter(response(429, "")); !ok || d != time.Minute {
		t.Errorf("429 without Retry-After: resume after %v, %v; want the window", d, ok)
	}
	if d, ok := p.ResumeAfter(response(429, "garbage")); !ok || d != time.Minute {
		t.Errorf("429 with unreadable Retry-After: resume after %v, %v; want the window", d, ok)
	}
	if d, ok := p.ResumeAfter(response(429, "7")); !ok || d != 7*time.Second {
		t.Errorf("429 Retry-After 7: resume after %v, %v", d, ok)
	}
	if _, ok := p.ResumeAfter(response(503, "")); ok {
		t.Error("503 without Retry-After asks for a budget wait")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var tl Tally
	if got, _ := p.Decide(ctx, &tl, response(429, ""), nil); got || !tl.PastDeadline {
		t.Errorf("429 with the window past the deadline: retry %v, PastDeadline %v; want false, true", got, tl.PastDeadline)
	}
	tl = Tally{}
	if got, _ := p.Decide(ctx, &tl, response(503, "45"), nil); got || !tl.PastDeadline {
		t.Errorf("503 Retry-After past the deadline: retry %v, PastDeadline %v; want false, true", got, tl.PastDeadline)
	}
	// With no retry left the call ends on the answer, not the deadline.
	tl = Tally{Limited: 5}
	if got, _ := p.Decide(ctx, &tl, response(429, ""), nil); got || tl.PastDeadline {
		t.Errorf("429 with no wait left: retry %v, PastDeadline %v; want false, false", got, tl.PastDeadline)
	}
}

func TestDecideSetsTheFaultBackoff(t *testing.T) {
	p := Policy{MaxRetries: 3, MinWait: time.Second, MaxWait: 8 * time.Second, Jitter: func() float64 { return 1 }}
	var tl Tally
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got, _ := p.Decide(context.Background(), &tl, response(500, ""), nil); !got || tl.Wait != w {
			t.Errorf("fault %d: retry %v, wait %v; want %v", i+1, got, tl.Wait, w)
		}
	}
	if got, _ := p.Decide(context.Background(), &tl, response(503, "2"), nil); got {
		t.Error("retried past MaxRetries")
	}
	tl = Tally{}
	if _, _ = p.Decide(context.Background(), &tl, response(429, ""), nil); tl.Wait != 0 {
		t.Errorf("a 429 set a fault backoff of %v; its wait is the pause", tl.Wait)
	}
}

// A Retry-After longer than the client waits is reported as the server gave
// it, while the call stops at once instead of waiting it out.
func TestLongRetryAfterIsReportedNotWaited(t *testing.T) {
	p := Policy{MaxRetries: 3, MaxLimited: 5, Window: time.Minute}
	for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		resp := response(code, "100000")
		if d, ok := p.ResumeAfter(resp); !ok || d != 100000*time.Second {
			t.Errorf("%d: ResumeAfter = %v, %v; want 100000s as the server gave it", code, d, ok)
		}
		tally := &Tally{}
		again, err := p.Decide(context.Background(), tally, resp, nil)
		if again || err != nil || tally.Wait != 0 || tally.PastDeadline {
			t.Errorf("%d: Decide = %v, %v with tally %+v; want no retry and no wait", code, again, err, *tally)
		}
	}
}
