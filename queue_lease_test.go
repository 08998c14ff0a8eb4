package dripcel_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// leasedQueue is a dripcel.LeasedQueue in memory, for tests of what the
// Reporter does with one: it records each claim's size, and lose ends the
// current claim's context as a lost lease would. After that it claims
// nothing, as an instance that is no longer the holder.
type leasedQueue struct {
	term time.Duration

	mu     sync.Mutex
	next   uint64
	sales  []dripcel.QueuedSale
	maxes  []int
	sizes  []int
	causes []error // of each Keep
	lost   bool
	cancel context.CancelCauseFunc
}

var _ dripcel.LeasedQueue = (*leasedQueue)(nil)

func (q *leasedQueue) Add(_ context.Context, sales []dripcel.Sale) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range sales {
		q.next++
		q.sales = append(q.sales, dripcel.QueuedSale{ID: q.next, Sale: s})
	}
	return nil
}

func (q *leasedQueue) Claim(ctx context.Context, max int) ([]dripcel.QueuedSale, error) {
	_, b, err := q.ClaimLeased(ctx, max)
	return b, err
}

func (q *leasedQueue) ClaimLeased(ctx context.Context, max int) (context.Context, []dripcel.QueuedSale, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.maxes = append(q.maxes, max)
	if q.lost || len(q.sales) == 0 {
		return ctx, nil, nil
	}
	batch := slices.Clone(q.sales[:min(max, len(q.sales))])
	q.sizes = append(q.sizes, len(batch))
	if q.cancel != nil {
		q.cancel(context.Canceled)
	}
	claimCtx, cancel := context.WithCancelCause(ctx)
	q.cancel = cancel
	return claimCtx, batch, nil
}

func (q *leasedQueue) LeaseTerm() time.Duration { return q.term }

// lose ends the current claim as a lost lease does.
func (q *leasedQueue) lose() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lost = true
	if q.cancel != nil {
		q.cancel(dripcel.ErrLeaseLost)
	}
}

func (q *leasedQueue) Settle(_ context.Context, verdicts []dripcel.Verdict) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sales = slices.DeleteFunc(q.sales, func(s dripcel.QueuedSale) bool {
		return slices.ContainsFunc(verdicts, func(v dripcel.Verdict) bool { return v.ID == s.ID })
	})
	return nil
}

func (q *leasedQueue) Keep(_ context.Context, _ []dripcel.QueuedSale, cause error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.causes = append(q.causes, cause)
	return nil
}

func (q *leasedQueue) Len(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.sales), nil
}

func (q *leasedQueue) Mark(context.Context) (uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.next, nil
}

func (q *leasedQueue) Holds(_ context.Context, upTo uint64) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.sales) > 0 && q.sales[0].ID <= upTo, nil
}

func (q *leasedQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cancel != nil {
		q.cancel(context.Canceled)
	}
	return nil
}

// A Reporter on a LeasedQueue claims no more than its client's budget can
// send within one lease term: here 10 requests a second (one every
// 105 ms), 5 sales a request and a term of 500 ms make 4 requests, 20
// sales; and it claims again at once while there is a backlog.
func TestReporterSizesClaimsToTheLease(t *testing.T) {
	srv := reporterServer(t)
	c := reporterClient(t, srv, dripcel.WithRateLimit(10, time.Second), dripcel.WithBatchSize(5))
	q := &leasedQueue{term: 500 * time.Millisecond}
	// Queued before the Reporter starts, as a fleet's outbox is.
	for i := range 50 {
		if err := q.Add(context.Background(), []dripcel.Sale{testSale(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r := newReporter(t, c, dripcel.WithQueue(q), dripcel.WithMaxBatch(1000), dripcel.WithFlushInterval(time.Hour))
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !slices.Equal(q.sizes, []int{20, 20, 10}) {
		t.Errorf("claims of %v sales, want [20 20 10]", q.sizes)
	}
	for _, m := range q.maxes {
		if m != 20 {
			t.Errorf("claimed with max %d, want 20 (the budget of one lease term)", m)
		}
	}
	if n := len(srv.Sales()); n != 50 {
		t.Errorf("stored %d sales, want 50", n)
	}
}

// When the lease is lost while a claim is being sent, the upload stops
// within one request: the request in flight is the last. The sales not
// sent are put back with ErrLeaseLost as the cause, for the next holder,
// and that is not counted as a failure to retry.
func TestReporterStopsWhenTheLeaseIsLost(t *testing.T) {
	fake := reporterServer(t)
	q := &leasedQueue{term: time.Hour}
	var mu sync.Mutex
	requests, atLoss := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		requests++
		lost := requests == 3
		if lost {
			q.lose() // while the third request is in flight
			atLoss = requests
		}
		mu.Unlock()
		if lost {
			// The answer never comes: the client must abandon the
			// request once the lease is lost. (An answer racing the
			// loss would settle the claim, leaving nothing to put back.)
			// The body is read first: only then does the server notice
			// the client going away, and end the request's context.
			_, _ = io.Copy(io.Discard, req.Body)
			select {
			case <-req.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		fake.Handler().ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	c, err := dripcel.NewClient(fake.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithBatchSize(5),
		dripcel.WithRetryWait(time.Millisecond, 5*time.Millisecond), testBudget)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := q.Add(context.Background(), []dripcel.Sale{testSale(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// One claim of ten requests, the third of which is in flight when
	// the lease is lost.
	r := newReporter(t, c, dripcel.WithQueue(q), dripcel.WithFlushInterval(time.Hour))
	// Flush cannot finish (nothing is claimed after the loss); it ends
	// with its context, once the claim has been put back.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flushed := make(chan error, 1)
	go func() { flushed <- r.Flush(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.mu.Lock()
		kept := len(q.causes)
		q.mu.Unlock()
		if kept > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim was not put back after the lease was lost")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-flushed; !errors.Is(err, context.Canceled) {
		t.Errorf("Flush = %v, want context.Canceled: nothing is delivered after the loss", err)
	}
	mu.Lock()
	if requests != atLoss {
		t.Errorf("%d requests, %d of them after the lease was lost; want none after", requests, requests-atLoss)
	}
	mu.Unlock()
	q.mu.Lock()
	if !errors.Is(q.causes[0], dripcel.ErrLeaseLost) {
		t.Errorf("sales put back with %v, want ErrLeaseLost", q.causes[0])
	}
	if n := len(q.sales); n < 50-3*5 {
		t.Errorf("%d sales queued after the loss, want at least %d", n, 50-3*5)
	}
	q.mu.Unlock()
	if st := r.Stats(); st.Retries != 0 {
		t.Errorf("Retries %d after a lost lease, want 0: not a failure", st.Retries)
	}
}

// Close returns when its context ends even while a Report is stuck on a
// stalled disk; the stuck Report keeps its own outcome (here, once the
// disk answers, the sale is written), and the spool is released once it
// has returned, for the next Reporter, which sends the sale.
func TestCloseDoesNotWaitForAStuckReport(t *testing.T) {
	srv := reporterServer(t)
	path := filepath.Join(t.TempDir(), "s")
	r := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(path), dripcel.WithFlushInterval(time.Hour))
	release := make(chan struct{})
	stalled := make(chan struct{}, 1)
	dripcel.StallSpool(r, func() {
		select {
		case stalled <- struct{}{}:
		default:
		}
		<-release
	})
	reported := make(chan error, 1)
	go func() { reported <- r.Report(context.Background(), testSale(1)) }()
	<-stalled

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- r.Close(ctx) }()
	select {
	case err := <-closed:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Close did not return when its context ended while a Report was stuck on the disk")
	}
	select {
	case err := <-reported:
		t.Fatalf("the stuck Report returned %v before the disk answered", err)
	default:
	}
	close(release)
	if err := <-reported; err != nil {
		t.Fatalf("the stuck Report = %v once the disk answered, want nil: the sale was written", err)
	}
	// The spool is released once the stuck Report has returned.
	var next *dripcel.Reporter
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		next, err = dripcel.NewReporter(reporterClient(t, srv), dripcel.WithSpool(path))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the spool was not released after the stuck Report returned: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := next.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if stored := storedCells(srv); stored[testCell(1)] != 1 {
		t.Errorf("stored %v, want sale 1 once", stored)
	}
}

// blockingPauser is a shared limiter whose Pause hangs (a Redis that does
// not answer) until its context ends or the test releases it.
type blockingPauser struct {
	entered chan struct{}
	release chan struct{}
}

func (p *blockingPauser) Wait(context.Context) error { return nil }

func (p *blockingPauser) Pause(ctx context.Context, _ time.Duration) error {
	select {
	case p.entered <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.release:
		return nil
	}
}

// Telling a shared limiter of a 429 does not hold a call past its own
// context, however long the limiter takes (it is still told, on a context
// of its own, after the call has returned).
func TestSharedPauseBoundedByTheCallersContext(t *testing.T) {
	srv := newRecordingServer(t, status(http.StatusTooManyRequests, `{"ok":false,"error":"Too many requests"}`, "Retry-After", "1"))
	p := &blockingPauser{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(p.release)
	c := budgetClient(t, srv.URL, dripcel.WithRateLimit(1_000_000, time.Second), dripcel.WithRateLimiter(p))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Postback(ctx, sale(1))
	took := time.Since(start)
	if err == nil {
		t.Fatal("Postback answered 429 succeeded")
	}
	select {
	case <-p.entered:
	default:
		t.Error("the shared limiter was not told of the 429")
	}
	// The limiter would hold the call for its own bound of 5 s.
	if took > 2*time.Second {
		t.Errorf("Postback returned %s after its call, its context having ended after 200ms", took)
	}
}
