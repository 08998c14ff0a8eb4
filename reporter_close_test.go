package dripcel_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// stallingQueue is a queue whose Settle stalls, as one on a stalled disk
// or database would, until release is closed; closed is closed by Close.
type stallingQueue struct {
	dripcel.Queue
	stalled chan struct{} // closed at the first Settle
	release chan struct{}
	settled chan struct{} // closed when the first Settle has gone through
	once    sync.Once
	closed  chan struct{}
}

func (q *stallingQueue) Settle(ctx context.Context, vs []dripcel.Verdict) error {
	first := false
	q.once.Do(func() { close(q.stalled); first = true })
	<-q.release
	err := q.Queue.Settle(ctx, vs)
	if first {
		close(q.settled)
	}
	return err
}

func (q *stallingQueue) Close() error {
	close(q.closed)
	return q.Queue.Close()
}

// leasedStallingQueue is a stallingQueue that is also a LeasedQueue.
type leasedStallingQueue struct {
	*stallingQueue
	lq *leasedQueue
}

func (q *leasedStallingQueue) ClaimLeased(ctx context.Context, max int) (context.Context, []dripcel.QueuedSale, error) {
	return q.lq.ClaimLeased(ctx, max)
}

func (q *leasedStallingQueue) LeaseTerm() time.Duration { return q.lq.LeaseTerm() }

// Close(ctx) returns when its context ends even while the sender is stuck
// telling the queue Dripcel's answers. A queue is closed only once the
// sender is done with it; a LeasedQueue at once, so that its lease passes
// to another instance now.
func TestCloseDoesNotWaitForAStalledSettle(t *testing.T) {
	for _, leased := range []bool{false, true} {
		name := "queue"
		if leased {
			name = "leased queue"
		}
		t.Run(name, func(t *testing.T) {
			srv := reporterServer(t)
			lq := &leasedQueue{term: time.Hour}
			sq := &stallingQueue{Queue: lq, stalled: make(chan struct{}), release: make(chan struct{}), settled: make(chan struct{}),
				closed: make(chan struct{})}
			var q dripcel.Queue = sq
			if leased {
				q = &leasedStallingQueue{stallingQueue: sq, lq: lq}
			}
			if err := lq.Add(context.Background(), []dripcel.Sale{testSale(1)}); err != nil {
				t.Fatal(err)
			}
			r := newReporter(t, reporterClient(t, srv), dripcel.WithQueue(q), dripcel.WithFlushInterval(time.Hour))
			select {
			case <-sq.stalled:
			case <-time.After(10 * time.Second):
				t.Fatal("the sale was never settled")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- r.Close(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Close = %v, want DeadlineExceeded", err)
				}
			case <-time.After(10 * time.Second):
				close(sq.release)
				t.Fatal("Close did not return when its context ended while Settle stalled")
			}
			select {
			case <-sq.closed:
				if !leased {
					t.Error("the queue was closed while the sender was still settling on it")
				}
			default:
				if leased {
					t.Error("the LeasedQueue was not closed at once: its lease is held until the stalled Settle returns")
				}
			}
			close(sq.release)
			for _, ch := range []chan struct{}{sq.settled, sq.closed} {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatal("the stalled settle never went through, or the queue was never closed after it")
				}
			}
			if n, _ := lq.Len(context.Background()); n != 0 {
				t.Errorf("%d sales left in the queue, want the stalled settle to have gone through", n)
			}
		})
	}
}
