package dripceltest

import (
	"math"
	"net/http"
	"strconv"

	"golang.org/x/time/rate"
)

// WithRateLimit makes the server limit requests as Dripcel does (about 50 a
// minute per organisation): it accepts perMinute requests a minute on
// average, and up to burst at once, and answers the others with 429 and a
// Retry-After header (whole seconds, at least 1). Requests refused this way
// are recorded with status 429 and change nothing.
//
// Tests can scale the limit down in time: WithRateLimit(6000, 2) allows 100
// requests a second, in bursts of at most 2.
func WithRateLimit(perMinute float64, burst int) Option {
	return func(s *Server) {
		s.limiter = rate.NewLimiter(rate.Limit(perMinute/60), max(burst, 1))
	}
}

// rateLimited answers r with 429 when it is over the limit, and reports
// whether it did.
func (s *Server) rateLimited(w http.ResponseWriter, rec *Request) bool {
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

// RateLimited is how many requests the server answered with 429, under
// WithRateLimit or RateLimit.
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
