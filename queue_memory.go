package dripcel

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// memoryQueue is the Reporter's default Queue: a bounded slice, lost with
// the process.
type memoryQueue struct {
	size int

	mu      sync.Mutex
	items   []QueuedSale // in ID order; the first claimed are claimed
	added   []time.Time  // when each of items was added
	claimed int
	last    uint64
}

func newMemoryQueue(size int) *memoryQueue { return &memoryQueue{size: size} }

func (q *memoryQueue) Add(_ context.Context, sales []Sale) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items)+len(sales) > q.size {
		return &reporterError{
			msg: fmt.Sprintf("dripcel: report: the queue is full (%d sales) and the sale was not queued", q.size),
			is:  ErrQueueFull,
		}
	}
	now := time.Now()
	for _, s := range sales {
		q.last++
		q.items = append(q.items, QueuedSale{ID: q.last, Sale: s})
		q.added = append(q.added, now)
	}
	return nil
}

// Oldest is how long the first sale in the queue has waited.
func (q *memoryQueue) Oldest(context.Context) (time.Duration, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.added) == 0 {
		return 0, nil
	}
	return time.Since(q.added[0]), nil
}

func (q *memoryQueue) Claim(_ context.Context, max int) ([]QueuedSale, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.items))
	q.claimed = n
	batch := slices.Clone(q.items[:n])
	for i := range batch {
		q.items[i].Attempts++
		batch[i].Attempts++
	}
	return batch, nil
}

func (q *memoryQueue) Settle(_ context.Context, verdicts []Verdict) error {
	if len(verdicts) == 0 {
		return nil
	}
	done := make(map[uint64]bool, len(verdicts))
	for _, v := range verdicts {
		done[v.ID] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	kept := 0
	for i, it := range q.items[:q.claimed] {
		if !done[it.ID] {
			q.items[kept], q.added[kept] = it, q.added[i]
			kept++
		}
	}
	// Only the claimed head changes; Add only appends after it.
	n := copy(q.items[kept:], q.items[q.claimed:])
	copy(q.added[kept:], q.added[q.claimed:])
	clear(q.items[kept+n:])
	q.items = q.items[:kept+n]
	q.added = q.added[:kept+n]
	q.claimed = kept
	return nil
}

func (q *memoryQueue) Keep(context.Context, []QueuedSale, error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.claimed = 0 // they are the head of the queue still
	return nil
}

func (q *memoryQueue) Len(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), nil
}

func (q *memoryQueue) Mark(context.Context) (uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last, nil
}

func (q *memoryQueue) Holds(_ context.Context, upTo uint64) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 && q.items[0].ID <= upTo, nil
}

func (q *memoryQueue) Close() error { return nil }

// String names the queue.
func (q *memoryQueue) String() string { return "memory" }
