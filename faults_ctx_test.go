package dripcel_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// The context rows of the fault matrix: a call returns as soon as its
// context ends, wraps the context's error, and sends nothing afterwards.
// "Promptly" is shown without a clock: the retry waits are an hour long, so
// a call that returns at all did not wait them out.

// checkCtxErr checks that err wraps want and matches sentinel (nil for
// none), and that the server saw exactly requests requests, counted after
// it has stopped, so nothing can arrive later.
func checkCtxErr(t *testing.T, err, want, sentinel error, stop func(), count func() int, requests int) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("err = %v, want it to wrap %v", err, want)
	}
	checkSentinel(t, err, sentinel)
	stop()
	if n := count(); n != requests {
		t.Errorf("server got %d requests, want %d", n, requests)
	}
}

func TestFaultContext(t *testing.T) {
	t.Parallel()
	hour := dripcel.WithRetryWait(time.Hour, time.Hour)
	for _, call := range faultCalls {
		t.Run("cancelled before the call/"+call.name, func(t *testing.T) {
			t.Parallel()
			srv, s := serveScript(t, okAnswer())
			r := newRig(t, srv.URL)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := call.run(ctx, r.client)
			checkCtxErr(t, err, context.Canceled, nil, srv.Close, func() int { return len(s.requests()) }, 0)
			var ue *dripcel.UploadError
			if errors.As(err, &ue) && (len(ue.Batches) != 1 || ue.Batches[0].Sent) {
				t.Errorf("batches = %+v, want one batch not sent", ue.Batches)
			}
		})

		t.Run("cancelled during a request/"+call.name, func(t *testing.T) {
			t.Parallel()
			ts := serveTCP(t, headersNeverArrive)
			r := newRig(t, ts.url(), hour)
			ctx, cancel := context.WithCancel(context.Background())
			r.attempts.base = cancelOnRequest(r.attempts.base, ts, cancel)
			err := call.run(ctx, r.client)
			checkCtxErr(t, err, context.Canceled, nil, ts.close, func() int { return int(ts.requests.Load()) }, 1)
		})

		t.Run("cancelled during a backoff/"+call.name, func(t *testing.T) {
			t.Parallel()
			srv, s := serveScript(t, statusAnswer(503))
			r := newRig(t, srv.URL, hour)
			ctx, cancel := context.WithCancel(context.Background())
			// Cancelled once the 503 is in hand: the retry layer is then
			// deciding to wait, or waiting, an hour.
			r.attempts.after = func(*http.Response, error) { cancel() }
			err := call.run(ctx, r.client)
			checkCtxErr(t, err, context.Canceled, nil, srv.Close, func() int { return len(s.requests()) }, 1)
		})

		t.Run("deadline during a backoff/"+call.name, func(t *testing.T) {
			t.Parallel()
			srv, s := serveScript(t, statusAnswer(503))
			r := newRig(t, srv.URL, hour)
			// Long enough for the first answer to arrive on a loaded machine.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := call.run(ctx, r.client)
			checkCtxErr(t, err, context.DeadlineExceeded, nil, srv.Close, func() int { return len(s.requests()) }, 1)
		})

		// Defect fixed: the client used to sleep until the deadline and only
		// then fail. The deadline is 30 s away and the call must return
		// before it, with both the rate limit and the deadline in its error.
		t.Run("deadline shorter than Retry-After/"+call.name, func(t *testing.T) {
			t.Parallel()
			srv, s := serveScript(t, rateLimit("60"), okAnswer())
			r := newRig(t, srv.URL)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := call.run(ctx, r.client)
			if ctx.Err() != nil {
				t.Fatal("the call waited until its deadline")
			}
			checkCtxErr(t, err, context.DeadlineExceeded, dripcel.ErrRateLimited, srv.Close, func() int { return len(s.requests()) }, 1)
			var apiErr *dripcel.APIError
			if !errors.Is(err, dripcel.ErrRateLimited) || !errors.As(err, &apiErr) || apiErr.RetryAfter != time.Minute {
				t.Errorf("err = %v, want ErrRateLimited with RetryAfter 1m", err)
			}
			r.checkSecrets(t, err)
		})

		t.Run("Retry-After within the deadline is waited out/"+call.name, func(t *testing.T) {
			t.Parallel()
			srv, s := serveScript(t, rateLimit("0"), okAnswer())
			r := newRig(t, srv.URL)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := call.run(ctx, r.client); err != nil || len(s.requests()) != 2 {
				t.Errorf("err = %v after %d requests, want success after 2", err, len(s.requests()))
			}
		})
	}
}

// cancelOnRequest returns a transport that cancels once ts has read the
// request, so the call is cancelled while waiting for the answer.
func cancelOnRequest(base http.RoundTripper, ts *tcpServer, cancel context.CancelFunc) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		go func() {
			for ts.requests.Load() == 0 {
				select {
				case <-req.Context().Done():
					return
				case <-time.After(time.Millisecond):
				}
			}
			cancel()
		}()
		return base.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error {
	b.closed.Store(true)
	return nil
}

// An answer that arrives as the context ends: a final one stands (defect
// fixed: a 200 used to be reported as the context's error, so the caller
// would send the sale again), a retryable one gives way to the context, and
// either way its body is closed (defect fixed: it leaked).
func TestFaultContextEndsAsAnswerArrives(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		want   error
	}{
		{200, nil},
		{409, dripcel.ErrDuplicateSale},
		{503, context.Canceled},
	} {
		for _, call := range faultCalls {
			t.Run(http.StatusText(tc.status)+"/"+call.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithCancel(context.Background())
				var bodies []*trackedBody
				rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
					cancel()
					body := `{"ok":false}`
					if tc.status == http.StatusOK {
						body = `{"ok":true}`
					}
					b := &trackedBody{Reader: strings.NewReader(body)}
					bodies = append(bodies, b)
					return &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: b}, nil
				})
				r := newRigTransport(t, "http://dripcel.invalid", rt)
				err := call.run(ctx, r.client)
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
				if len(bodies) != 1 || !bodies[0].closed.Load() {
					t.Errorf("%d responses, body closed: %v", len(bodies), len(bodies) == 1 && bodies[0].closed.Load())
				}
				r.checkSecrets(t, err)
			})
		}
	}
}
