package dripceltest

import (
	"math"
	"net/http"
	"time"
)

// UntilCleared, given as n to any fault, makes it apply to every request
// from its turn on until ClearFaults: an outage of unknown length, ended by
// the test rather than by counting requests. Faults queued behind it are
// never reached.
const UntilCleared = math.MaxInt

// fault is a misbehaviour applied to the next count requests.
type fault struct {
	count      int // UntilCleared for an outage
	status     int
	retryAfter string
	delay      time.Duration
	drop       bool

	// An answer that is not Dripcel's envelope: body (and contentType,
	// location) exactly as given. sniff lets net/http pick the content type.
	page        bool
	body        string
	contentType string
	sniff       bool
	location    string
}

// Fail answers the next n requests with status and a Dripcel-style error
// body, without looking at them.
func (s *Server) Fail(n, status int) {
	s.inject(&fault{count: n, status: status})
}

// FailWithBody answers the next n requests with status and body as given
// (an HTML error page from a proxy, say), with the content type net/http
// guesses from the body. An empty body is Fail. Respond sets the content
// type.
func (s *Server) FailWithBody(n, status int, body string) {
	s.inject(&fault{count: n, status: status, page: body != "", body: body, sniff: true})
}

// Respond answers the next n requests with status, a Content-Type of
// contentType (none when empty) and body, byte for byte: a page that is not
// Dripcel's answer, such as a proxy's HTML 404 (see ProxyPage), a 200 HTML
// login page, an empty 200, a 204, a cut-off `{"ok":fa` or `{"ok":"false"}`.
// Nothing is stored, whatever the status says.
func (s *Server) Respond(n, status int, contentType, body string) {
	s.inject(&fault{count: n, status: status, page: true, body: body, contentType: contentType})
}

// Redirect answers the next n requests with status (302 if 0) and a
// Location of location, as a front that sends unknown clients to a login
// page does; nothing is stored. A client that follows it makes a request of
// its own, which meets the next fault: queue Respond after Redirect to give
// the login page a 200.
func (s *Server) Redirect(n, status int, location string) {
	if status == 0 {
		status = http.StatusFound
	}
	s.inject(&fault{count: n, status: status, page: true, location: location,
		contentType: "text/plain; charset=utf-8", body: http.StatusText(status) + ". Redirecting to " + location})
}

// RateLimit answers the next n requests with 429 and the Retry-After header
// set to retryAfter ("2", an HTTP date, or "" for none).
func (s *Server) RateLimit(n int, retryAfter string) {
	s.inject(&fault{count: n, status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

// Delay holds each of the next n requests for d before answering it
// normally. A held request ends early if the client gives up or the server
// is closed, and is answered at once if ClearFaults is called. Use a long d
// to simulate a server that hangs. A d of zero or less is Pass.
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

// ClearFaults drops every queued fault, UntilCleared ones included, and
// lets requests held by Delay go on to be answered normally: the server is
// up again from the next request. It reports how many faults were queued.
func (s *Server) ClearFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.faults)
	s.faults = nil
	close(s.cleared)
	s.cleared = make(chan struct{})
	return n
}

// Held is how many requests Delay is holding at this moment, so that a test
// can wait until its request is held before it acts.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

func (s *Server) inject(f *fault) {
	if f.count <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// nextFault takes one use of the oldest pending fault, and returns the
// channel ClearFaults closes next.
func (s *Server) nextFault() (*fault, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil, s.cleared
	}
	f := s.faults[0]
	if f.count != UntilCleared {
		f.count--
	}
	if f.count == 0 {
		s.faults = s.faults[1:]
	}
	return f, s.cleared
}

// applyFault carries out f and reports whether it answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *fault, cleared <-chan struct{}, rec *Request) bool {
	switch {
	case f.drop:
		s.record(rec)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.delay > 0:
		s.mu.Lock()
		s.held++
		s.mu.Unlock()
		err := s.waitOrDone(r.Context(), f.delay, cleared)
		s.mu.Lock()
		s.held--
		s.mu.Unlock()
		if err != nil {
			s.record(rec)
			panic(http.ErrAbortHandler)
		}
		return false
	case f.status == 0:
		return false // Pass, or a Delay of zero
	}
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	if f.location != "" {
		w.Header().Set("Location", f.location)
	}
	if !f.page {
		s.write(w, rec, reply{f.status, http.StatusText(f.status)})
		return true
	}
	if f.sniff {
		rec.Status = f.status
		s.record(rec)
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(f.body))
		return true
	}
	s.writeRaw(w, rec, f.status, f.contentType, f.body)
	return true
}

// record adds rec, as it stands, to the requests answered.
func (s *Server) record(rec *Request) {
	s.mu.Lock()
	s.requests = append(s.requests, *rec)
	s.mu.Unlock()
}
