package dripceltest

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// WithRateLimit makes the server limit requests with a token bucket: it
// accepts perMinute requests a minute on average, and up to burst at once,
// and answers the others with 429 and a Retry-After header (whole seconds,
// at least 1). Requests refused this way are recorded with status 429 and
// change nothing. WithFixedWindow is the stricter model of Dripcel's limit.
//
// Tests can scale the limit down in time: WithRateLimit(6000, 2) allows 100
// requests a second, in bursts of at most 2.
func WithRateLimit(perMinute float64, burst int) Option {
	return func(s *Server) {
		s.limiter = rate.NewLimiter(rate.Limit(perMinute/60), max(burst, 1))
	}
}

// WithFixedWindow limits requests as express-rate-limit's default memory
// store does, and so perhaps Dripcel ("~50 requests per minute per
// organisation"): at most limit requests in each fixed window of length
// window, the windows aligned to multiples of window on the rate clock (see
// WithRateClock). Every request that arrives counts, refused or not, faults
// included; those beyond the limit are answered 429 with Dripcel's envelope
// and no Retry-After, as Dripcel documents none, change nothing, and are
// counted by RateLimited.
//
// WithFixedWindow(50, time.Minute) is Dripcel's documented budget; tests
// shrink the window, WithFixedWindow(50, 600*time.Millisecond). Unlike a
// token bucket, a fixed window lets 2×limit requests through around a
// window's edge, and gives a client nothing to pace itself by.
// WithFixedWindowRetryAfter adds the Retry-After express-rate-limit sends.
func WithFixedWindow(limit int, window time.Duration) Option {
	return func(s *Server) {
		s.window.limit = max(limit, 0)
		s.window.length = window
	}
}

// WithFixedWindowRetryAfter makes the 429s of WithFixedWindow carry a
// Retry-After header as express-rate-limit (version 7) sends it: the
// seconds until the current window ends, rounded up, so at least 1 (a
// window shorter than a second is still told in whole seconds). Dripcel
// documents no Retry-After, so WithFixedWindow sends none unless this
// option is given too; with it, a test sees how a client does against an
// Express service running express-rate-limit with its defaults. Without
// WithFixedWindow it changes nothing.
func WithFixedWindowRetryAfter() Option {
	return func(s *Server) { s.window.retryAfter = true }
}

// WithRateClock sets the clock the fixed window is counted on (time.Now by
// default), so a test can move from one window to the next without waiting.
// WithClock does not change it: a test that fixes the time of its sales
// still needs its windows to pass.
func WithRateClock(now func() time.Time) Option {
	return func(s *Server) { s.window.now = now }
}

// fixedWindow counts requests in the current window. Guarded by Server.mu.
type fixedWindow struct {
	limit      int // 0 for no limit
	length     time.Duration
	now        func() time.Time
	retryAfter bool  // WithFixedWindowRetryAfter
	index      int64 // which window count belongs to
	count      int
}

// admit counts one request and reports whether it is within the limit; when
// it is not, left is the time until the window ends.
func (fw *fixedWindow) admit() (ok bool, left time.Duration) {
	if fw.limit == 0 || fw.length <= 0 {
		return true, 0
	}
	now := fw.now().UnixNano()
	i := now / int64(fw.length)
	if i != fw.index {
		fw.index, fw.count = i, 0
	}
	fw.count++
	if fw.count <= fw.limit {
		return true, 0
	}
	return false, time.Duration((i+1)*int64(fw.length) - now)
}

// retryAfterSeconds is express-rate-limit's Retry-After for a window that
// ends in left: whole seconds, rounded up.
func retryAfterSeconds(left time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(left.Seconds())), 10)
}

// rateLimited answers r with 429 when it is over a limit, and reports
// whether it did. The fixed window is asked first, so a request it refuses
// takes nothing from the token bucket.
func (s *Server) rateLimited(w http.ResponseWriter, rec *Request) bool {
	s.mu.Lock()
	inWindow, left := s.window.admit()
	retryAfter := s.window.retryAfter
	s.mu.Unlock()
	if !inWindow {
		if retryAfter {
			w.Header().Set("Retry-After", retryAfterSeconds(left))
		}
		s.write(w, rec, reply{http.StatusTooManyRequests, "Too many requests"})
		return true
	}
	if s.limiter == nil {
		return false
	}
	res := s.limiter.Reserve()
	delay := res.Delay()
	if delay == 0 {
		return false
	}
	// Refused requests do not use up the limit.
	res.Cancel()
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(delay.Seconds()))))
	s.write(w, rec, reply{http.StatusTooManyRequests, "Too many requests"})
	return true
}

// MaxInWindow is the most requests that arrived within any span of length
// w, refused ones included: a sliding window, stricter than the fixed ones
// WithFixedWindow counts in. A client that keeps to n requests in any
// window of w never puts more than n in one, network jitter aside.
func (s *Server) MaxInWindow(w time.Duration) int {
	reqs := s.Requests()
	at := make([]time.Time, len(reqs))
	for i, r := range reqs {
		at[i] = r.At
	}
	slices.SortFunc(at, time.Time.Compare)
	most, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// RateLimited is how many requests the server answered with 429, under
// WithFixedWindow, WithRateLimit or RateLimit.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}
