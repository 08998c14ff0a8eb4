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
func WithFixedWindow(limit int, window time.Duration) Option {
	return func(s *Server) {
		s.window.limit = max(limit, 0)
		s.window.length = window
	}
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
	limit  int // 0 for no limit
	length time.Duration
	now    func() time.Time
	index  int64 // which window count belongs to
	count  int
}

// admit counts one request and reports whether it is within the limit.
func (fw *fixedWindow) admit() bool {
	if fw.limit == 0 || fw.length <= 0 {
		return true
	}
	i := fw.now().UnixNano() / int64(fw.length)
	if i != fw.index {
		fw.index, fw.count = i, 0
	}
	fw.count++
	return fw.count <= fw.limit
}

// rateLimited answers r with 429 when it is over a limit, and reports
// whether it did. The fixed window is asked first, so a request it refuses
// takes nothing from the token bucket.
func (s *Server) rateLimited(w http.ResponseWriter, rec *Request) bool {
	s.mu.Lock()
	inWindow := s.window.admit()
	s.mu.Unlock()
	if !inWindow {
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
