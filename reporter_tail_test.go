package dripcel_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// sliceQueue is a Queue in a slice, filled before the Reporter starts: a
// backlog. empty is closed when its last sale is settled.
type sliceQueue struct {
	mu      sync.Mutex
	items   []dripcel.QueuedSale
	claimed int
	kept    int // sales put back with Keep
	empty   chan struct{}
	emptied bool
}

func newSliceQueue(sales []dripcel.Sale) *sliceQueue {
	q := &sliceQueue{empty: make(chan struct{})}
	for i, s := range sales {
		q.items = append(q.items, dripcel.QueuedSale{ID: uint64(i + 1), Sale: s})
	}
	return q
}

func (q *sliceQueue) Add(context.Context, []dripcel.Sale) error { return fmt.Errorf("full") }

func (q *sliceQueue) Claim(_ context.Context, n int) ([]dripcel.QueuedSale, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.claimed = min(n, len(q.items))
	return append([]dripcel.QueuedSale(nil), q.items[:q.claimed]...), nil
}

func (q *sliceQueue) Settle(_ context.Context, vs []dripcel.Verdict) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	done := map[uint64]bool{}
	for _, v := range vs {
		done[v.ID] = true
	}
	var left []dripcel.QueuedSale
	for _, it := range q.items {
		if !done[it.ID] {
			left = append(left, it)
		}
	}
	q.items = left
	if len(q.items) == 0 && len(vs) > 0 && !q.emptied {
		close(q.empty)
		q.emptied = true
	}
	return nil
}

func (q *sliceQueue) Keep(_ context.Context, s []dripcel.QueuedSale, _ error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.kept += len(s)
	return nil
}

func (q *sliceQueue) Len(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), nil
}

func (q *sliceQueue) Mark(context.Context) (uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return 0, nil
	}
	return q.items[len(q.items)-1].ID, nil
}

func (q *sliceQueue) Holds(_ context.Context, upTo uint64) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 && q.items[0].ID <= upTo, nil
}

func (q *sliceQueue) Close() error { return nil }

// deliverBacklog has a Reporter deliver sales queued before it starts, in
// batches of 1,000 and requests of at most 10,000 bytes (about 90 sales),
// and closes it once the queue is empty.
func deliverBacklog(t *testing.T, sales []dripcel.Sale) (*dripceltest.Server, *dripcel.Client, *sliceQueue, *dripcel.Reporter) {
	t.Helper()
	srv := dripceltest.NewServer(t, dripceltest.WithCampaigns(dripceltest.Campaign{ID: "639978184d735c88ed8bbd68", Country: "ZA"}))
	c := capClient(t, srv.URL, dripcel.WithMaxBatchBytes(10_000))
	q := newSliceQueue(sales)
	r, err := dripcel.NewReporter(c, dripcel.WithQueue(q), dripcel.WithMaxBatch(1000), dripcel.WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.empty:
	case <-within(t, 20*time.Second).Done():
		t.Fatal("the backlog was not delivered")
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return srv, c, q, r
}

// With a backlog, a Reporter sends no part-full request but the last: the
// tail of each claimed batch waits for the sales after it. 5,000 sales in
// batches of 1,000, in requests of at most 10,000 bytes (about 90 sales).
func TestReporterFillsRequestsAcrossBatches(t *testing.T) {
	sales := benchSales(5000)
	srv, c, q, r := deliverBacklog(t, sales)
	reqs := srv.Requests()
	largest := 0 // one sale's JSON and its comma
	for i := range sales {
		largest = max(largest, len(dripcel.AppendBatch(c, nil, sales[i:i+1]))-1)
	}
	partFull := 0
	for i, rq := range reqs {
		if rq.Status != http.StatusOK {
			t.Fatalf("request %d answered %d", i, rq.Status)
		}
		if rq.Bytes+largest <= 10_000 {
			partFull++
			if i != len(reqs)-1 {
				t.Errorf("request %d of %d: %d bytes, part full", i, len(reqs), rq.Bytes)
			}
		}
	}
	if len(srv.Sales()) != len(sales) || q.kept == 0 {
		t.Errorf("server holds %d sales, want %d; %d kept back", len(srv.Sales()), len(sales), q.kept)
	}
	st := r.Stats()
	if st.Sent != int64(len(sales)) || st.Retries != 0 {
		t.Errorf("stats %+v: want every sale sent, no retries", st)
	}
}

// A repeat among a held tail's sales, of a sale sent earlier in the claim,
// is settled with that sale as ever: it does not go back to the queue to be
// sent with the next claim, where Dripcel would refuse the request it is
// in as a duplicate and cost a split. Sale 998 of the first claim of 1,000
// (in the tail: requests hold about 90 sales) repeats sale 10.
func TestReporterHeldTailSettlesItsRepeats(t *testing.T) {
	sales := benchSales(5000)
	sales[998] = sales[10]
	srv, _, _, r := deliverBacklog(t, sales)
	for i, rq := range srv.Requests() {
		if rq.Status != http.StatusOK {
			t.Errorf("request %d answered %d: the repeat was sent", i, rq.Status)
		}
	}
	st := r.Stats()
	if n := len(srv.Sales()); n != len(sales)-1 || st.Sent != int64(len(sales)-1) || st.Duplicates != 1 {
		t.Errorf("server holds %d sales, stats %+v; want %d sent and the repeat counted a duplicate", n, st, len(sales)-1)
	}
}

// Flush does not wait for a batch to fill: the tail goes at once.
func TestReporterFlushSendsTheTail(t *testing.T) {
	srv := dripceltest.NewServer(t, dripceltest.WithCampaigns(dripceltest.Campaign{ID: "639978184d735c88ed8bbd68", Country: "ZA"}))
	c := capClient(t, srv.URL, dripcel.WithMaxBatchBytes(10_000))
	r, err := dripcel.NewReporter(c, dripcel.WithMaxBatch(200), dripcel.WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 20*time.Second)
	for _, s := range benchSales(1000) {
		if err := r.Report(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Sales()); n != 1000 {
		t.Errorf("server holds %d sales after Flush, want 1000", n)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
