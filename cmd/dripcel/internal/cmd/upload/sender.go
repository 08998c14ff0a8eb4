package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// sender is the client's transport. It counts the requests made (retries
// and 429s included: each spends the budget) and the rows they settled, so
// that progress moves while the library settles a refused request sale by
// sale; and it is how Ctrl-C stops sending (see drain).
type sender struct {
	mu       sync.Mutex
	requests int
	// settled counts the sales of accepted requests and of requests of one
	// sale that Dripcel answered: each such sale has its fate.
	settled  int
	inflight int
	draining bool
	// cancel ends the upload's context: the library then sends nothing
	// more, and reports the sales it did not settle as not delivered.
	cancel context.CancelFunc
	// moved is called, outside the lock, when settled grows.
	moved func()
}

// drain stops sending: the request in flight, if any, is let finish so
// that its answer is not lost, and no request starts after it. The context
// is cancelled as soon as none is in flight, which also ends any wait (the
// pacing, a backoff, a 429's pause) at once.
func (s *sender) drain() {
	s.mu.Lock()
	s.draining = true
	idle := s.inflight == 0
	s.mu.Unlock()
	if idle {
		s.cancel()
	}
}

// counts returns the requests made and the sales settled so far.
func (s *sender) counts() (requests, settled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.settled
}

func (s *sender) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		s.cancel()
		return nil, context.Canceled
	}
	s.inflight++
	s.requests++
	s.mu.Unlock()
	sales := 0
	if r.Body != nil && r.Method == http.MethodPost {
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			s.done(0, 0)
			return nil, err
		}
		sales = countSales(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		s.done(0, 0)
		return nil, err
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: func() { s.done(sales, resp.StatusCode) }}
	return resp, nil
}

// done ends a request that carried sales and was answered with status.
// Only a request answered 200 or a refused request of one sale settles
// sales; a refused larger one is split and asked about again.
func (s *sender) done(sales, status int) {
	s.mu.Lock()
	s.inflight--
	n := 0
	switch {
	case status == http.StatusOK:
		n = sales
	case sales == 1 && (status == http.StatusConflict || status == http.StatusNotFound || status == http.StatusBadRequest ||
		status == http.StatusUnprocessableEntity):
		n = 1
	}
	s.settled += n
	stop := s.draining && s.inflight == 0
	s.mu.Unlock()
	if n > 0 && s.moved != nil {
		s.moved()
	}
	if stop {
		s.cancel()
	}
}

// countSales counts the objects of a JSON array body.
func countSales(body []byte) int {
	var sales []json.RawMessage
	if json.Unmarshal(body, &sales) != nil {
		return 0
	}
	return len(sales)
}

// doneBody calls done once, when the answer has been read and closed.
type doneBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}
