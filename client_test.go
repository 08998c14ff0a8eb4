package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

func TestRetryThenSuccess(t *testing.T) {
	for _, code := range []int{500, 502, 503, 504, 429} {
		for _, cl := range calls {
			t.Run(fmt.Sprint(cl.name, "/", code), func(t *testing.T) {
				srv := newRecordingServer(t, status(code, "busy"), ok200)
				c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries)
				if err := cl.do(context.Background(), c); err != nil {
					t.Fatalf("err = %v", err)
				}
				reqs := srv.requests()
				if len(reqs) != 2 {
					t.Fatalf("%d requests, want 2", len(reqs))
				}
				if string(reqs[0].Body) != string(reqs[1].Body) || reqs[0].RawQuery != reqs[1].RawQuery {
					t.Error("the retry did not resend the same request")
				}
			})
		}
	}
}

func TestMaxRetries(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		srv := newRecordingServer(t, status(502, "bad gateway"))
		c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries, dripcel.WithMaxRetries(n))
		err := c.Postback(context.Background(), sale(1))
		var apiErr *dripcel.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 {
			t.Fatalf("retries %d: err = %v", n, err)
		}
		if got := len(srv.requests()); got != n+1 || apiErr.Attempts != n+1 {
			t.Errorf("retries %d: %d requests, Attempts %d, want %d", n, got, apiErr.Attempts, n+1)
		}
	}
}

func TestRetryAfterIsHonouredAboveMaxWait(t *testing.T) {
	srv := newRecordingServer(t, status(429, "slow down", "Retry-After", "1"), ok200)
	c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries)
	start := time.Now()
	if err := c.Postback(context.Background(), sale(1)); err != nil {
		t.Fatal(err)
	}
	// The wait can only be longer than asked, never shorter: a lower bound
	// is not a timing race.
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("retried after %s, before the 1 s Retry-After", waited)
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestRetryAfterAboveCapFailsAtOnce(t *testing.T) {
	for _, ra := range []string{"3600", time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)} {
		for _, cl := range calls {
			t.Run(cl.name, func(t *testing.T) {
				srv := newRecordingServer(t, status(429, `{"ok":false,"error":"Rate limit"}`, "Retry-After", ra))
				c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries)
				err := cl.do(context.Background(), c)
				if !errors.Is(err, dripcel.ErrRateLimited) {
					t.Fatalf("err = %v, want ErrRateLimited", err)
				}
				var apiErr *dripcel.APIError
				if !errors.As(err, &apiErr) || apiErr.RetryAfter < 59*time.Minute {
					t.Errorf("RetryAfter = %v, want about an hour or more", apiErr.RetryAfter)
				}
				if n := len(srv.requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		}
	}
}

// A Retry-After far longer than the client waits is reported as the server
// gave it (100000 s, not cut to a day), while the call fails at once and
// neither this client nor a shared limiter is held back for it.
func TestLongRetryAfterIsReportedAsGiven(t *testing.T) {
	for _, cl := range calls {
		t.Run(cl.name, func(t *testing.T) {
			srv := newRecordingServer(t, status(429, `{"ok":false,"error":"Rate limit"}`, "Retry-After", "100000"), ok200)
			p := &pauser{}
			c, err := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries, dripcel.WithRateLimiter(p))
			if err != nil {
				t.Fatal(err)
			}
			// A deadline far inside the Retry-After: a client that meant to
			// wait it out would fail at once with the deadline instead, and
			// so would a next call held back by a pause that long.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = cl.do(ctx, c)
			var apiErr *dripcel.APIError
			if !errors.Is(err, dripcel.ErrRateLimited) || !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want ErrRateLimited", err)
			}
			if apiErr.RetryAfter != 100000*time.Second {
				t.Errorf("RetryAfter = %v, want %v as the server gave it", apiErr.RetryAfter, 100000*time.Second)
			}
			if errors.Is(err, context.DeadlineExceeded) || apiErr.Attempts != 1 {
				t.Errorf("err = %v after %d attempts, want a refusal at once, not a wait", err, apiErr.Attempts)
			}
			p.mu.Lock()
			pauses := p.pauses
			p.mu.Unlock()
			if len(pauses) != 0 {
				t.Errorf("shared limiter paused for %v, want no pause", pauses)
			}
			if err := cl.do(ctx, c); err != nil {
				t.Errorf("next call: %v, want it sent", err)
			}
			if n := len(srv.requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	arrived := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Postback(ctx, sale(1)) }()
	<-arrived
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to wrap context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Postback still waiting 10 s after its context was cancelled (Retry-After was 30 s)")
	}
	if len(arrived) != 0 {
		t.Error("a request was sent after the context was cancelled")
	}
}

func TestTransportErrorsAreRetriedAndKeyFree(t *testing.T) {
	// A listener that is closed at once: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	for _, cl := range calls {
		t.Run(cl.name, func(t *testing.T) {
			var logs logBuffer
			c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL("http://"+addr), fastRetries,
				dripcel.WithMaxRetries(2), dripcel.WithLogger(logs.logger()))
			err := cl.do(context.Background(), c)
			if err == nil {
				t.Fatal("no error from a refused connection")
			}
			assertNoKey(t, err, logs.String())
			if !strings.Contains(err.Error(), "after 3 attempts") {
				t.Errorf("err = %v, want it to say 3 attempts", err)
			}
			if strings.Contains(err.Error(), "?") || strings.Contains(logs.String(), "cell=") {
				t.Errorf("the query (customer's cell) reached the error or logs: %v\n%s", err, logs.String())
			}
			if strings.Count(logs.String(), "retrying request") != 2 {
				t.Errorf("want 2 retry log lines:\n%s", logs.String())
			}
		})
	}
}

// Dripcel's API does not redirect. A redirect is never followed: it would
// take an upload's body, or a postback's key in its query, to another
// address. It is an answer not from Dripcel, retried like a 5xx, and the
// error names the Location without its query.
func TestRedirectsAreNotFollowed(t *testing.T) {
	other := newRecordingServer(t, ok200)
	for _, cl := range calls {
		for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusMovedPermanently} {
			t.Run(fmt.Sprintf("%s/%d", cl.name, code), func(t *testing.T) {
				first := newRecordingServer(t, func(w http.ResponseWriter) {
					w.Header().Set("Location", other.URL+"/login?next=/sales&token=secret")
					w.WriteHeader(code)
				})
				c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(first.URL), fastRetries, dripcel.WithMaxRetries(1))
				err := cl.do(context.Background(), c)
				if !errors.Is(err, dripcel.ErrNotFromDripcel) || dripcel.FateOf(err) != dripcel.NotDelivered {
					t.Fatalf("err = %v (fate %v), want ErrNotFromDripcel, not delivered", err, dripcel.FateOf(err))
				}
				var apiErr *dripcel.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != code || apiErr.Location != other.URL+"/login" {
					t.Errorf("APIError = %+v, want status %d and Location %s/login", apiErr, code, other.URL)
				}
				if strings.Contains(err.Error(), "token=secret") || strings.Contains(err.Error(), "next=") {
					t.Errorf("the Location's query reached the error: %v", err)
				}
				if n := len(first.requests()); n != 2 {
					t.Errorf("first server saw %d requests, want 2 (the redirect is retried once)", n)
				}
				assertNoKey(t, err, "")
			})
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

func TestClientPrintsNoKey(t *testing.T) {
	c, _ := dripcel.NewClient(canaryKey)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, canaryKey) || strings.Contains(s, fmt.Sprintf("%x", canaryKey)) {
			t.Errorf("%s of a Client shows the key: %s", verb, s)
		}
	}
	if s := fmt.Sprint(c); !strings.Contains(s, dripcel.DefaultBaseURL) {
		t.Errorf("String() = %q, want the base URL", s)
	}
}

func TestDebugLogsAreSilentByDefaultAndKeyFree(t *testing.T) {
	srv := newRecordingServer(t, status(503, "x"), ok200)
	var logs logBuffer
	c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries, dripcel.WithLogger(logs.logger()))
	if err := c.Postback(context.Background(), sale(1)); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	assertNoKey(t, nil, out)
	for _, want := range []string{`"msg":"dripcel: request"`, `"msg":"dripcel: retrying request"`, `"status":200`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "cell=") || strings.Contains(out, "27630000001") {
		t.Errorf("logs hold the customer's cell:\n%s", out)
	}
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		key  string
		opt  dripcel.Option
	}{
		{"empty key", "", nil},
		{"blank key", "  ", nil},
		{"base URL not http", canaryKey, dripcel.WithBaseURL("ftp://example.com")},
		{"base URL without scheme", canaryKey, dripcel.WithBaseURL("api.dripcel.com")},
		{"base URL unparsable", canaryKey, dripcel.WithBaseURL("http://[::1")},
		{"base URL with query", canaryKey, dripcel.WithBaseURL("http://example.com/?key=x")},
		{"negative batch size", canaryKey, dripcel.WithBatchSize(-1)},
		{"batch bytes under 1 KiB", canaryKey, dripcel.WithMaxBatchBytes(1000)},
		{"negative retries", canaryKey, dripcel.WithMaxRetries(-1)},
		{"min wait above max", canaryKey, dripcel.WithRetryWait(2*time.Second, time.Second)},
		{"negative wait", canaryKey, dripcel.WithRetryWait(-time.Second, time.Second)},
		{"negative timeout", canaryKey, dripcel.WithTimeout(-time.Second)},
		{"nil http client", canaryKey, dripcel.WithHTTPClient(nil)},
		{"unknown region", canaryKey, dripcel.WithCellRegion("XX")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dripcel.NewClient(tt.key, tt.opt)
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want an error", c, err)
			}
			if strings.Contains(err.Error(), canaryKey) {
				t.Errorf("error holds the key: %v", err)
			}
		})
	}
	if _, err := dripcel.NewClient(canaryKey, dripcel.WithBaseURL("http://user:secret@example.com/p")); err != nil {
		t.Errorf("a base URL with a path prefix and user info was refused: %v", err)
	}
}

func TestCallersHTTPClientIsNotModified(t *testing.T) {
	srv := newRecordingServer(t, ok200)
	redirect := func(*http.Request, []*http.Request) error { return nil }
	base := &countingTransport{base: http.DefaultTransport}
	hc := &http.Client{Transport: base, Timeout: 7 * time.Second, CheckRedirect: redirect}
	c, err := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithHTTPClient(hc), dripcel.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Postback(context.Background(), sale(1)); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != base || hc.Timeout != 7*time.Second || hc.Jar != nil || fmt.Sprintf("%p", hc.CheckRedirect) != fmt.Sprintf("%p", redirect) {
		t.Errorf("caller's http.Client changed: %+v", hc)
	}
	if base.n != 1 {
		t.Errorf("the caller's transport carried %d requests, want 1", base.n)
	}
}

type countingTransport struct {
	mu   sync.Mutex
	n    int
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func TestPerAttemptTimeout(t *testing.T) {
	srv := dripceltest.NewServer(t, dripceltest.WithKey(canaryKey),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
	srv.Delay(1, time.Hour)
	c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries, dripcel.WithTimeout(200*time.Millisecond))
	if err := c.Postback(context.Background(), sale(1)); err != nil {
		t.Fatalf("the attempt after a timed-out one should succeed: %v", err)
	}
	if n := len(srv.Sales()); n != 1 {
		t.Errorf("%d sales recorded, want 1", n)
	}
}

func TestClientIsSafeForConcurrentUse(t *testing.T) {
	srv := dripceltest.NewServer(t, dripceltest.WithKey(canaryKey),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA", DefaultSaleValue: 10}))
	srv.Fail(5, http.StatusServiceUnavailable)
	c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries, dripcel.WithBatchSize(7), dripcel.WithCellRegion("ZA"))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := range 20 {
		wg.Go(func() {
			errs <- c.Postback(context.Background(), sale(g))
			batch := make([]dripcel.Sale, 10)
			for i := range batch {
				batch[i] = sale(1000 + g*10 + i)
			}
			errs <- c.UploadSales(context.Background(), batch)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Sales()); n != 20+200 {
		t.Errorf("%d sales recorded, want 220", n)
	}
}
