package dripceltest

import (
	"net/http"
	"time"
)

// fault is a misbehaviour applied to the next count requests.
type fault struct {
	count      int
	status     int
	retryAfter string
	body       string
	delay      time.Duration
	drop       bool
}

// Fail answers the next n requests with status and a Dripcel-style error
// body, without looking at them.
func (s *Server) Fail(n, status int) {
	s.inject(&fault{count: n, status: status})
}

// FailWithBody answers the next n requests with status and body as given
// (an HTML error page from a proxy, say).
func (s *Server) FailWithBody(n, status int, body string) {
	s.inject(&fault{count: n, status: status, body: body})
}

// RateLimit answers the next n requests with 429 and the Retry-After header
// set to retryAfter ("2", an HTTP date, or "" for none).
func (s *Server) RateLimit(n int, retryAfter string) {
	s.inject(&fault{count: n, status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

// Delay holds each of the next n requests for d before answering it
// normally. A held request ends early if the client gives up or the server
// is closed. Use a long d to simulate a server that hangs. A d of zero or
// less is Pass.
func (s *Server) Delay(n int, d time.Duration) {
	s.inject(&fault{count: n, delay: max(d, 0)})
}

// Pass answers the next n requests normally. Put it before another fault to
// let some requests through first: Pass(2) then Fail(1, 503) fails the third.
func (s *Server) Pass(n int) {
	s.inject(&fault{count: n})
}

// Drop closes the connection of each of the next n requests without
// answering, as a crashed server or a reset connection would.
func (s *Server) Drop(n int) {
	s.inject(&fault{count: n, drop: true})
}

func (s *Server) inject(f *fault) {
	if f.count <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// nextFault takes one use of the oldest pending fault.
func (s *Server) nextFault() *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	f := s.faults[0]
	f.count--
	if f.count == 0 {
		s.faults = s.faults[1:]
	}
	return f
}

// applyFault carries out f and reports whether it answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *fault, rec *Request) bool {
	switch {
	case f.drop:
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: rec.Method, Path: rec.Path})
		s.mu.Unlock()
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.delay > 0:
		if err := s.waitOrDone(r.Context(), f.delay); err != nil {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: rec.Method, Path: rec.Path})
			s.mu.Unlock()
			panic(http.ErrAbortHandler)
		}
		return false
	case f.status == 0:
		return false // Pass, or a Delay of zero
	}
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	if f.body != "" {
		rec.Status = f.status
		s.mu.Lock()
		s.requests = append(s.requests, *rec)
		s.mu.Unlock()
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(f.body))
		return true
	}
	s.write(w, rec, reply{f.status, http.StatusText(f.status)})
	return true
}
