package retry

import (
	"context"
	"errors"
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
		{"99999999999999999999", 0, false},
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

func TestCheckRetry(t *testing.T) {
	p := Policy{}
	ctx := context.Background()
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 404: false, 409: false,
		429: true, 500: true, 501: false, 502: true, 503: true, 504: true, 505: false} {
		if got, err := p.CheckRetry(ctx, response(code, ""), nil); got != want || err != nil {
			t.Errorf("status %d: retry %v, %v; want %v", code, got, err, want)
		}
	}
	if got, _ := p.CheckRetry(ctx, response(429, "61"), nil); got {
		t.Error("429 with Retry-After over the cap is retried")
	}
	if got, _ := p.CheckRetry(ctx, response(429, "60"), nil); !got {
		t.Error("429 with Retry-After at the cap is not retried")
	}
	if got, _ := p.CheckRetry(ctx, nil, errors.New("connection reset by peer")); !got {
		t.Error("transport error is not retried")
	}
	if got, _ := p.CheckRetry(ctx, nil, errors.New(`unsupported protocol scheme "ftp"`)); got {
		t.Error("unsupported scheme is retried")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := p.CheckRetry(cctx, nil, errors.New("x")); got || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: retry %v, err %v", got, err)
	}
}
