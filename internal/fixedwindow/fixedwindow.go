// Package fixedwindow is a fake Dripcel that keeps a rate budget the way
// express-rate-limit does by default: at most N requests in each fixed
// window of length W, counted from the server's start, and 429 without
// Retry-After for the rest. It accepts every sale otherwise. The tests of
// the pacing and scripts/bench run clients against it.
package fixedwindow

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Server is an http.Handler for POST /sales and GET /sales/create.
type Server struct {
	n       int
	window  time.Duration
	maxBody int // 0 for no limit

	mu       sync.Mutex
	start    time.Time
	windows  map[int64]int // requests counted in each window
	arrivals []time.Time   // every request, refused ones included
	limited  int
	tooLarge int
	sales    int
	bytes    int
	faults   int // requests still to answer 500
}

// New returns a server allowing n requests in each window of length w, and
// answering 413 to a body over maxBody bytes (0 for no limit).
func New(n int, w time.Duration, maxBody int) *Server {
	return &Server{n: n, window: w, maxBody: maxBody, start: time.Now(), windows: map[int64]int{}}
}

// Fail answers the next k requests that the budget lets through with 500.
// They count against the budget, as Dripcel's limiter counts a request
// before the handler fails.
func (s *Server) Fail(k int) {
	s.mu.Lock()
	s.faults += k
	s.mu.Unlock()
}

// ServeHTTP counts the request against its window and answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	s.arrivals = append(s.arrivals, now)
	k := int64(now.Sub(s.start) / s.window)
	s.windows[k]++
	over := s.windows[k] > s.n
	if over {
		s.limited++
	}
	fail := !over && s.faults > 0
	if fail {
		s.faults--
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case over:
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"ok":false,"error":"Too many requests, please try again later."}`)
		return
	case fail:
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"ok":false,"error":"Internal server error"}`)
		return
	}
	n, size := 1, 0
	if r.URL.Path == "/sales" {
		limit := int64(1 << 30)
		if s.maxBody > 0 {
			limit = int64(s.maxBody) + 1
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, limit))
		if s.maxBody > 0 && len(body) > s.maxBody {
			s.mu.Lock()
			s.tooLarge++
			s.mu.Unlock()
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = io.WriteString(w, `{"ok":false,"error":"request entity too large"}`)
			return
		}
		var sales []json.RawMessage
		if json.Unmarshal(body, &sales) != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"ok":false,"error":"Invalid JSON"}`)
			return
		}
		n, size = len(sales), len(body)
	}
	s.mu.Lock()
	s.sales += n
	s.bytes += size
	s.mu.Unlock()
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// Stats is what the server saw.
type Stats struct {
	Requests int // every request, refused ones included
	Limited  int // answered 429
	TooLarge int // answered 413
	Sales    int // accepted
	Bytes    int // the bodies of accepted uploads
	// MaxInWindow is the most requests that arrived within any span of one
	// window's length (sliding, not only the server's fixed windows).
	MaxInWindow int
	// First and Last are the arrival times of the first and last request.
	First, Last time.Time
}

// Stats returns what the server saw so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	arr := slices.Clone(s.arrivals)
	st := Stats{Requests: len(arr), Limited: s.limited, TooLarge: s.tooLarge, Sales: s.sales, Bytes: s.bytes}
	s.mu.Unlock()
	slices.SortFunc(arr, func(a, b time.Time) int { return a.Compare(b) })
	j := 0
	for i := range arr {
		for arr[i].Sub(arr[j]) >= s.window {
			j++
		}
		st.MaxInWindow = max(st.MaxInWindow, i-j+1)
	}
	if len(arr) > 0 {
		st.First, st.Last = arr[0], arr[len(arr)-1]
	}
	return st
}
