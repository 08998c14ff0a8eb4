package dripcel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel/internal/transport"
)

// Reporter reports sales in the background, for code such as a checkout
// handler that must neither wait on Dripcel nor lose a sale. Report queues a
// sale and returns at once; a goroutine sends queued sales in batches
// through the Client's UploadSales, in the order reported, and retries for
// as long as it takes.
//
// A sale leaves the queue only on Dripcel's own verdict: accepted, already
// recorded (ErrDuplicateSale: counted as delivered, not sent again), or
// refused for its content (handed to WithOnRejected once). Anything else
// (network errors, 5xx, 429, an answer that is not Dripcel's) leaves the
// sale queued, to be sent again with backoff, honouring Retry-After (up to
// a day). A 401 or 403 stops sending, keeps every sale queued, and is
// reported by Flush, Close and Stats.
//
// Where sales wait is the Reporter's Queue. In memory (the default) they
// survive an outage of any length but not the process. With WithSpool each
// is on disk before Report returns, and a crash or restart loses nothing.
// With WithQueue and package dripcelpg they wait in a PostgreSQL outbox,
// written in the caller's own transaction, and one instance of a fleet
// delivers them.
//
// A Reporter is safe for concurrent use. Close it on shutdown.
type Reporter struct {
	client *Client
	cfg    reporterConfig
	queue  Queue
	kind   queueKind

	adding sync.WaitGroup // Report calls adding to the queue

	mu       sync.Mutex
	added    int  // sales reported since the last claim
	flushing int  // Flush calls waiting: send partial batches now
	closed   bool // Close has begun: Report refuses
	stopped  bool // the sender has exited
	halt     error
	changed  chan struct{}
	stats    ReporterStats
	queued   int // the queue's length when last read

	wake    chan struct{}
	stop    chan struct{}
	sendCtx context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	metrics interface{ Unregister() error } // the queue gauges' callback

	closeOnce sync.Once
	closeErr  error
}

// queueKind says what Close can promise about sales left in the queue.
type queueKind int

const (
	inMemory queueKind = iota // lost with the Reporter
	inSpool                   // kept in a file for the next Reporter
	outside                   // a Queue given with WithQueue, shared and durable
)

// ReporterStats is a snapshot of a Reporter's counters.
type ReporterStats struct {
	// Reported is how many sales Report accepted since NewReporter.
	Reported int64
	// Resumed is how many sales were found in the spool at NewReporter.
	Resumed int
	// Queued is how many sales are waiting to be settled, in the queue,
	// including those being sent. With WithQueue it counts the whole
	// queue, whoever put them there.
	Queued int
	// Oldest is how long the oldest queued sale has waited since it was
	// reported (0 with none queued, or a Queue that cannot say).
	Oldest time.Duration
	// Spooled is how many of Queued are kept in the spool file (all of them
	// with WithSpool, none without).
	Spooled int
	// Sent is how many sales Dripcel accepted.
	Sent int64
	// Duplicates is how many sales Dripcel already had (ErrDuplicateSale),
	// by its own answer or the client's Ledger: delivered, and not sent
	// again.
	Duplicates int64
	// Rejected is how many sales Dripcel refused for their content. Each
	// is handed to WithOnRejected, except on a FencedQueue a refusal whose
	// verdict the fence dropped (the instance holding the sale now hands
	// it on).
	Rejected int64
	// Retries is how many times a batch was sent again after a failure that
	// outlasted the client's own retries.
	Retries int64
	// NotFromDripcel is how many times sales stayed queued because the
	// answer was not Dripcel's (ErrNotFromDripcel: a proxy's page, an empty
	// body, a redirect), after the client's own retries.
	NotFromDripcel int64
	// LastNotFromDripcel is the last such answer, or nil.
	LastNotFromDripcel error
	// Legacy is how many queued sales written before a sale had to name
	// exactly one identifier (a campaign_id with a send_id or click_id,
	// which a spool or an outbox may still hold) were sent by their
	// campaign_id alone. The first batch holding such sales is also logged.
	Legacy int64
	// Damaged is how many spooled sales could not be read back because the
	// file was damaged on disk after NewReporter checked it. They are not
	// sent and not counted in Queued; they stay in the file, which the next
	// NewReporter refuses until it is repaired or moved aside. Close
	// reports them too.
	Damaged int64
	// Err is why sending stopped (a 401 or 403: match ErrUnauthorized), or
	// nil while sending goes on.
	Err error
}

// Errors of a Reporter. Test for them with errors.Is.
var (
	// ErrReporterClosed: the Reporter was closed. Report returns it for a
	// sale it did not queue, and Flush when Close stopped the Reporter
	// before the sales it waited for were settled (unless a 401 or 403 had
	// stopped sending first: Flush then returns that error).
	ErrReporterClosed = errors.New("dripcel: the reporter is closed")

	// ErrQueueFull: the in-memory queue was full, so Report did not queue
	// the sale. Report returns it at once, or, with WithWaitWhenFull, when
	// its context ends first (the error then also matches the context's
	// error). The caller still holds the sale: send it with Postback, or
	// keep it for later.
	ErrQueueFull = errors.New("dripcel: the reporter's queue is full")
)

// errReportClosed is what Report returns after Close.
var errReportClosed = &reporterError{
	msg: "dripcel: report: the reporter is closed; the sale was not queued",
	is:  ErrReporterClosed,
}

// reporterError is an error of the Reporter with a message of its own that
// matches one of the Reporter's sentinels, and may wrap a cause (the
// context's error).
type reporterError struct {
	msg   string
	is    error
	cause error
}

func (e *reporterError) Error() string        { return e.msg }
func (e *reporterError) Is(target error) bool { return target == e.is }
func (e *reporterError) Unwrap() error        { return e.cause }

// NewReporter starts a Reporter that sends through c. With WithSpool it
// opens (or creates) the spool file and queues the sales found there ahead
// of any new ones; it fails if the file is not a spool, is damaged or is in
// use. Close the Reporter to stop its goroutine and release the queue.
func NewReporter(c *Client, opts ...ReporterOption) (*Reporter, error) {
	if c == nil {
		return nil, errors.New("dripcel: NewReporter: nil *Client")
	}
	cfg := reporterConfig{interval: defaultFlushInterval, queueSize: defaultQueueSize}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.spoolPath != "" && cfg.queue != nil {
		return nil, errors.New("dripcel: NewReporter: WithSpool and WithQueue both given; choose one")
	}
	if cfg.maxBatch == 0 {
		// The client cuts requests by size; a batch of many requests'
		// worth is sent in one upload.
		cfg.maxBatch = cmp.Or(c.batchSize, defaultMaxBatch)
	}
	r := &Reporter{
		client:  c,
		cfg:     cfg,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	switch {
	case cfg.queue != nil:
		r.queue, r.kind = cfg.queue, outside
	case cfg.spoolPath != "":
		q, err := openSpoolQueue(cfg.spoolPath, c.logger)
		if err != nil {
			return nil, fmt.Errorf("dripcel: NewReporter: %w", err)
		}
		r.queue, r.kind = q, inSpool
		r.stats.Resumed = q.resumed
	default:
		r.queue, r.kind = newMemoryQueue(cfg.queueSize), inMemory
	}
	r.sendCtx, r.cancel = context.WithCancel(context.Background())
	r.readLen(context.Background())
	r.metrics = r.registerMetrics()
	go r.run()
	return r, nil
}

// Report validates s (with the rules and errors of UploadSales) and queues
// it for sending. It does no network I/O and never waits on Dripcel:
//   - in memory, when the queue is full it returns ErrQueueFull at once
//     (or, with WithWaitWhenFull, waits for room until ctx ends);
//   - with WithSpool it returns once s is on disk, or when ctx ends first
//     (the write may then still complete: reporting s again is safe, as
//     Dripcel refuses a sale it already has);
//   - with WithQueue it returns once the Queue has kept s, or when ctx
//     ends.
//
// A zero SoldAt is set to the time of the call, in the local time zone, so
// that a sale sent late, or sent again after a crash, keeps its date (and so
// Dripcel's duplicate check). Set SoldAt yourself to report in another zone.
//
// A sale for which Report returned nil is never dropped: it is settled (see
// Reporter), or still queued when Close returns an error that counts it.
func (r *Reporter) Report(ctx context.Context, s Sale) error {
	if err := r.client.Validate(s); err != nil {
		return err
	}
	s = prepared(s)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errReportClosed
	}
	r.adding.Add(1)
	r.mu.Unlock()
	defer r.adding.Done()

	for {
		err := r.queue.Add(ctx, []Sale{s})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrQueueFull) || !r.cfg.waitWhenFull {
			return err
		}
		r.mu.Lock()
		changed, closed := r.changed, r.closed
		r.mu.Unlock()
		if closed {
			return errReportClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return &reporterError{
				msg: fmt.Sprintf("dripcel: report: the queue is full (%d sales) and the sale was not queued: %v",
					r.cfg.queueSize, ctx.Err()),
				is:    ErrQueueFull,
				cause: ctx.Err(),
			}
		}
	}
	r.mu.Lock()
	r.stats.Reported++
	r.added++
	full := r.added >= r.batchLimit()
	r.mu.Unlock()
	if full {
		r.poke()
	}
	return nil
}

// prepared returns s as a Queue keeps it: SaleValue copied (the caller may
// reuse what it points to) and a zero SoldAt set to now, so that a sale sent
// late, or again, keeps its date and so Dripcel's duplicate check.
// dripcelpg does the same for the sales it enqueues.
func prepared(s Sale) Sale {
	if s.SaleValue != nil {
		v := *s.SaleValue
		s.SaleValue = &v
	}
	if s.SoldAt.IsZero() {
		// Dripcel would take the time it receives the sale, which may be
		// another day after an outage: the sale would then escape its
		// duplicate check (cell, campaign, date) if it is ever sent again.
		s.SoldAt = time.Now().Round(0)
	}
	return s
}

// batchLimit is how many sales make a full batch.
func (r *Reporter) batchLimit() int {
	if r.kind == inMemory {
		return min(r.cfg.maxBatch, r.cfg.queueSize)
	}
	return r.cfg.maxBatch
}

// poke wakes the sender without blocking.
func (r *Reporter) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// broadcast wakes everything waiting on a change. Caller holds mu.
func (r *Reporter) broadcast() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Flush sends what is queued without waiting for batches to fill, and
// waits until every sale queued before the call is settled. It returns
// early with an error if ctx ends (counting the sales still queued), if
// sending stopped on a 401 or 403 (matching ErrUnauthorized), or if the
// Reporter is closed. With WithQueue it waits for the sales in the shared
// queue, which another instance may be delivering.
func (r *Reporter) Flush(ctx context.Context) error {
	mark, err := r.queue.Mark(ctx)
	if err != nil {
		return fmt.Errorf("dripcel: flush: %w", err)
	}
	r.mu.Lock()
	r.flushing++
	r.mu.Unlock()
	r.poke()
	defer func() {
		r.mu.Lock()
		r.flushing--
		r.mu.Unlock()
	}()
	return r.waitSettled(ctx, mark, "flush")
}

// waitSettled waits until no sale with an ID at most mark is queued.
func (r *Reporter) waitSettled(ctx context.Context, mark uint64, op string) error {
	// A shared queue changes without this Reporter knowing: look again
	// now and then.
	var poll <-chan time.Time
	if r.kind == outside {
		t := time.NewTicker(min(r.cfg.interval, 250*time.Millisecond))
		defer t.Stop()
		poll = t.C
	}
	for {
		if mark == 0 {
			return nil
		}
		holds, err := r.queue.Holds(ctx, mark)
		if err == nil && !holds {
			return nil
		}
		r.mu.Lock()
		halt, stopped, changed := r.halt, r.stopped, r.changed
		r.mu.Unlock()
		switch {
		case halt != nil:
			return fmt.Errorf("dripcel: %s: %d sales remain queued: sending stopped: %w", op, r.readLen(ctx), halt)
		case stopped:
			return &reporterError{
				msg: fmt.Sprintf("dripcel: %s: the reporter is closed; %d sales remain queued", op, r.readLen(ctx)),
				is:  ErrReporterClosed,
			}
		}
		select {
		case <-changed:
		case <-poll:
		case <-ctx.Done():
			if holds, err := r.queue.Holds(context.WithoutCancel(ctx), mark); err == nil && !holds {
				return nil
			}
			return fmt.Errorf("dripcel: %s: %d sales remain queued: %w", op, r.readLen(context.WithoutCancel(ctx)), ctx.Err())
		}
	}
}

// readLen reads the queue's length, keeping the last one read when the
// queue cannot say.
func (r *Reporter) readLen(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	n, err := r.queue.Len(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.queued = n
	}
	return r.queued
}

// Close stops taking sales, sends what is queued, and waits until it is
// settled or ctx ends. Then it stops the sending goroutine (abandoning a
// request in flight) and closes the queue (a spool is released, and a new
// Reporter may open it at once, even when ctx has already ended). A Report
// still adding to the queue (stuck on a stalled disk) is waited for only
// until ctx ends: it keeps its own outcome, Close returns an error matching
// ctx.Err(), and the queue is closed once that Report returns.
//
// With WithQueue, Close does not wait for the queue to empty: it is shared
// and durable, and another instance (or the next start) delivers the rest.
//
// It returns nil when every sale was settled (and, with a spool, none was
// found damaged: see ReporterStats.Damaged), or with WithQueue unless
// sending had stopped. Otherwise the error counts the sales that remain
// queued and says where: kept in the spool for the next Reporter, or,
// without one, lost with this one. It matches ctx.Err() or
// ErrUnauthorized, whichever cut delivery short. Report after Close returns
// an error; Close after Close returns the first result.
func (r *Reporter) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.shutdown(ctx, r.kind != outside) })
	return r.closeErr
}

// shutdown stops intake, drains if asked (until ctx ends), stops the
// sender and closes the queue.
func (r *Reporter) shutdown(ctx context.Context, drain bool) error {
	r.mu.Lock()
	r.closed = true
	r.broadcast() // Reports waiting for room give up
	r.mu.Unlock()
	added := r.waitAdding(ctx)

	var cause error
	if drain && added {
		r.poke()
		mark, err := r.queue.Mark(ctx)
		if err == nil {
			cause = r.waitSettled(ctx, mark, "close")
		}
	}
	r.cancel()
	close(r.stop)
	sent := r.waitSender(ctx)
	if r.metrics != nil {
		_ = r.metrics.Unregister() // a closed queue is not read again
	}

	left := r.readLen(context.WithoutCancel(ctx))
	var damaged int64
	var path string
	if sq, ok := r.queue.(*spoolQueue); ok {
		damaged, path = sq.damagedCount(), sq.sp.Path()
	}
	var queueErr error
	_, leased := r.queue.(LeasedQueue)
	switch {
	case added && sent, leased:
		// A LeasedQueue is closed at once whatever is still running on
		// it (its contract allows that), so that its lease passes to
		// another instance now rather than when a stuck call returns.
		queueErr = r.queue.Close()
	default:
		r.closeQueueLater()
	}
	switch {
	case !added:
		queueErr = errors.Join(queueErr, fmt.Errorf("some Report calls were still adding to the queue when the context ended; "+
			"each keeps its own outcome, and the queue is closed once they return: %w", ctx.Err()))
	case !sent:
		queueErr = errors.Join(queueErr, fmt.Errorf("the queue was still being told Dripcel's answers when the context ended; "+
			"that goes on in the background, bounded, and the queue is closed once it is done: %w", ctx.Err()))
	}
	r.mu.Lock()
	r.stopped = true
	r.stats.Damaged = damaged
	r.broadcast()
	halt := r.halt
	r.mu.Unlock()

	if damaged > 0 {
		// Left in the file, not lost; but not delivered either, and the
		// next NewReporter will refuse the file, so say so now.
		what, were := fmt.Sprintf("%d spooled sales", damaged), "were"
		if damaged == 1 {
			what, were = "1 spooled sale", "was"
		}
		queueErr = errors.Join(queueErr, fmt.Errorf(
			"%s could not be read back (the file was damaged on disk) and %s not sent; "+
				"the file %s still holds them, and a new Reporter will refuse it until it is repaired or moved aside",
			what, were, path))
	}
	if left == 0 || (r.kind == outside && halt == nil) {
		if queueErr != nil {
			return fmt.Errorf("dripcel: close: %w", queueErr)
		}
		return nil
	}
	switch {
	case halt != nil:
		cause = halt
	case ctx.Err() != nil:
		cause = ctx.Err()
	case cause == nil:
		cause = errors.New("delivery did not finish")
	}
	switch r.kind {
	case inSpool:
		return fmt.Errorf("dripcel: close: %d sales remain queued, all %d kept in the spool %s for the next Reporter: %w",
			left, left, path, errors.Join(cause, queueErr))
	case outside:
		return fmt.Errorf("dripcel: close: %d sales remain queued, kept in %v: %w", left, r.queue, errors.Join(cause, queueErr))
	}
	return fmt.Errorf("dripcel: close: %d sales remain queued and are lost with this Reporter (no spool): %w",
		left, cause)
}

// abandon stops the Reporter as a crash would: no draining, nothing sent
// after it returns, the queue released as the operating system would
// release it. For tests of recovery.
func (r *Reporter) abandon() {
	r.closeOnce.Do(func() {
		_ = r.shutdown(context.Background(), false)
		r.closeErr = errors.New("dripcel: close: the reporter was abandoned")
	})
}

// Stats returns a snapshot of the Reporter's counters. With WithQueue,
// Queued is read from the queue, which may take a moment (at most 2 s).
func (r *Reporter) Stats() ReporterStats {
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	var oldest time.Duration
	if !stopped {
		r.readLen(context.Background())
		oldest = r.oldest(context.Background())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.Oldest = oldest
	st.Queued = r.queued
	if sq, ok := r.queue.(*spoolQueue); ok {
		if !stopped {
			st.Damaged = sq.damagedCount()
		}
		st.Spooled = st.Queued
	}
	st.Err = r.halt
	return st
}

// String describes the Reporter without its client's key.
func (r *Reporter) String() string {
	switch q := r.queue.(type) {
	case *spoolQueue:
		return fmt.Sprintf("dripcel.Reporter{BaseURL: %q, Spool: %q}", transport.URL(r.client.base), q.sp.Path())
	case *memoryQueue:
		return fmt.Sprintf("dripcel.Reporter{BaseURL: %q}", transport.URL(r.client.base))
	}
	return fmt.Sprintf("dripcel.Reporter{BaseURL: %q, Queue: %q}", transport.URL(r.client.base), fmt.Sprint(r.queue))
}

// GoString is String, so %#v does not print the key either.
func (r *Reporter) GoString() string { return r.String() }

// Format prints String for every verb, so no fmt verb can reach the key.
func (r *Reporter) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// run is the sending goroutine: it claims a batch when one is full, when
// the flush interval passes, when Flush or Close asks, and after a backoff.
func (r *Reporter) run() {
	defer close(r.done)
	tick := time.NewTicker(r.cfg.interval)
	defer tick.Stop()
	var (
		retry    *time.Timer
		retryC   <-chan time.Time
		due      = true // a durable queue may hold sales from before
		failures int
	)
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		if retryC == nil && r.ready(due) {
			n, wait := r.deliver(&failures)
			if r.sendCtx.Err() != nil {
				return
			}
			if wait > 0 {
				retry = time.NewTimer(wait)
				retryC = retry.C
			} else if n >= r.claimLimit() {
				continue // a backlog: the next batch is full too
			}
			due = false
		}
		select {
		case <-r.stop:
			return
		case <-r.wake:
		case <-tick.C:
			due = true
		case <-retryC:
			retryC, due = nil, true
		}
	}
}

// ready reports whether to claim a batch now.
func (r *Reporter) ready(due bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.halt == nil && (due || r.flushing > 0 || r.closed || r.added >= r.batchLimit())
}

// deliver claims one batch, sends it, and settles what Dripcel gave a
// verdict on. It returns how many sales it claimed and how long to wait
// before sending again, 0 for no wait.
func (r *Reporter) deliver(failures *int) (int, time.Duration) {
	r.mu.Lock()
	r.added = 0
	r.mu.Unlock()
	sendCtx, batch, err := r.claim()
	if err != nil {
		if r.sendCtx.Err() != nil {
			return 0, 0
		}
		*failures++
		wait := r.backoff(*failures, 0)
		r.client.logger.LogAttrs(r.sendCtx, slog.LevelWarn, "dripcel: reporter: reading the queue",
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		return 0, wait
	}
	if len(batch) == 0 {
		return 0, 0
	}
	sales := make([]Sale, len(batch))
	for i := range batch {
		sales[i] = batch[i].Sale
	}
	fencedQueue, fenced := r.queue.(FencedQueue)
	early := r.newEarlySettle(batch, fencedQueue)
	outs := r.outcomes(sendCtx, sales, early.answered)
	lost := leaseLost(sendCtx)

	var (
		verdicts   []Verdict
		kept       []QueuedSale
		cause      error
		retryAfter time.Duration
		haltErr    error
		foreign    error
		sent, dups int64
		rejects    int64
		held       []QueuedSale // kept back to fill the next request (reporter_tail.go)
	)
	for i, o := range outs {
		if errors.Is(o.Err, errTailHeld) {
			held = append(held, batch[i])
			continue
		}
		if o.Fate.Settled() {
			switch o.Fate {
			case Recorded:
				sent++
			case AlreadyRecorded:
				dups++
			case Refused:
				rejects++
			}
			settled, told := early.done(i)
			if settled {
				continue
			}
			verdicts = append(verdicts, Verdict{QueuedSale: batch[i], Outcome: o})
			if o.Fate == Refused && !fenced && !told {
				r.rejectSale(batch[i].Sale, o.Err)
			}
			continue
		}
		kept = append(kept, batch[i])
		cause = o.Err
		var apiErr *APIError
		switch {
		case errors.Is(o.Err, ErrUnauthorized):
			haltErr = o.Err
		case errors.Is(o.Err, ErrNotFromDripcel):
			foreign = o.Err
		}
		if errors.As(o.Err, &apiErr) {
			retryAfter = max(retryAfter, apiErr.RetryAfter)
		}
	}
	if lost {
		cause = ErrLeaseLost // not a failure: the next holder sends them
	}
	// The verdicts are Dripcel's: record them even when Close has
	// cancelled sending.
	rec, cancel := context.WithTimeout(context.WithoutCancel(r.sendCtx), 30*time.Second)
	defer cancel()
	if err := r.settle(rec, fencedQueue, verdicts); err != nil {
		// Sent again later, they are answered as duplicates (or refused
		// again): nothing is lost.
		r.client.logger.LogAttrs(r.sendCtx, slog.LevelWarn, "dripcel: reporter: could not remove settled sales from the queue",
			slog.String("error", err.Error()))
	}
	if len(kept) > 0 {
		if err := r.queue.Keep(rec, kept, cause); err != nil {
			r.client.logger.LogAttrs(r.sendCtx, slog.LevelWarn, "dripcel: reporter: could not put unsettled sales back in the queue",
				slog.String("error", err.Error()))
		}
	}
	r.keepTail(rec, held)

	r.mu.Lock()
	r.stats.Sent += sent
	r.stats.Duplicates += dups
	r.stats.Rejected += rejects
	if foreign != nil {
		r.stats.NotFromDripcel++
		r.stats.LastNotFromDripcel = foreign
	}
	if haltErr != nil && r.halt == nil && r.sendCtx.Err() == nil {
		r.halt = haltErr
	}
	retry := len(kept) > 0 && haltErr == nil && r.sendCtx.Err() == nil && !lost
	if retry {
		r.stats.Retries++
	}
	r.broadcast()
	r.mu.Unlock()

	switch {
	case haltErr != nil:
		r.client.logger.LogAttrs(r.sendCtx, slog.LevelError, "dripcel: reporter: sending stopped",
			slog.Int("queued", r.readLen(r.sendCtx)), slog.String("error", haltErr.Error()))
		return len(batch), 0
	case lost && len(kept) > 0:
		r.client.logger.LogAttrs(r.sendCtx, slog.LevelInfo, "dripcel: reporter: the lease was lost; unsent sales are left to the next holder",
			slog.Int("left", len(kept)))
		return len(batch), 0
	case retry:
		if len(verdicts) > 0 {
			*failures = 0
		}
		*failures++
		wait := r.backoff(*failures, retryAfter)
		attrs := []slog.Attr{slog.Int("kept", len(kept)), slog.Duration("wait", wait), slog.String("error", cause.Error())}
		msg, level := "dripcel: reporter: will send again", slog.LevelInfo
		switch {
		case wrongPath(cause):
			// Not a passing outage: the configuration needs a look.
			msg, level = "dripcel: reporter: Dripcel has no such route (the base URL or path looks wrong); the sales stay queued", slog.LevelWarn
		case foreign != nil:
			msg = "dripcel: reporter: the answer was not from Dripcel; the sales stay queued"
		}
		r.client.logger.LogAttrs(r.sendCtx, level, msg, attrs...)
		return len(batch), wait
	}
	*failures = 0
	return len(batch), 0
}

// outcomes sends sales and returns the outcome of each. A sale the client
// will not send (invalid under its checks: a Queue shared by a fleet may
// hold sales another instance's client let through) can never have
// Dripcel's verdict; it is refused with its ValidationError rather than
// left at the head of the queue for ever.
func (r *Reporter) outcomes(ctx context.Context, sales []Sale, answered func(idx []int, f Fate, err error)) []Outcome {
	outs := make([]Outcome, len(sales))
	var valid []Sale
	var at []int
	legacy := 0
	for i, s := range sales {
		if narrowed, ok := byCampaignAlone(s); ok {
			s = narrowed
			legacy++
		}
		if err := r.client.Validate(s); err != nil {
			outs[i] = Outcome{Fate: Refused, Err: err}
			continue
		}
		valid = append(valid, s)
		at = append(at, i)
	}
	if legacy > 0 {
		r.mu.Lock()
		first := r.stats.Legacy == 0
		r.stats.Legacy += int64(legacy)
		r.mu.Unlock()
		if first {
			r.client.logger.LogAttrs(ctx, slog.LevelInfo,
				"dripcel: reporter: queued sales written before the one-identifier rule are sent by their campaign_id alone (later ones are counted in Stats().Legacy)",
				slog.Int("sales", legacy))
		}
	}
	if len(valid) == 0 {
		return outs
	}
	hooks := uploadHooks{holdTail: r.holdTail(len(sales)), answered: func(idx []int, f Fate, err error) {
		claimed := make([]int, len(idx))
		for k, j := range idx {
			claimed[k] = at[j]
		}
		answered(claimed, f, err)
	}}
	for j, o := range r.send(ctx, valid, hooks) {
		outs[at[j]] = o
	}
	return outs
}

// byCampaignAlone returns s with only its campaign_id as identifier when s
// is a sale queued before a sale had to name exactly one identifier: then
// campaign_id was required and send_id and click_id could come with it.
// Such a sale is not the caller's mistake to refuse now, and its campaign_id
// says what it always said; Dripcel's guide says a sale naming more than
// one identifier fails.
func byCampaignAlone(s Sale) (Sale, bool) {
	if identifierOf(&s) != severalIdentifiers || blank(s.CampaignID) {
		return s, false
	}
	s.SendID, s.ClickID = "", ""
	return s, true
}

// send uploads sales and returns each one's outcome, as UploadSales
// reports it: Dripcel's own verdict, or NotDelivered with the cause.
func (r *Reporter) send(ctx context.Context, sales []Sale, hooks uploadHooks) []Outcome {
	err := r.client.uploadSales(ctx, sales, hooks)
	outs := make([]Outcome, len(sales))
	var ue *UploadError
	switch {
	case err == nil:
		for i := range outs {
			outs[i] = Outcome{Fate: Recorded}
		}
	case errors.As(err, &ue):
		for i, o := range ue.Outcomes() {
			if i < len(outs) {
				outs[i] = o
			}
		}
	default:
		// Not an upload's own error: nothing was sent, so no verdict.
		for i := range outs {
			outs[i] = Outcome{Fate: NotDelivered, Err: err}
		}
	}
	return outs
}

// settle passes verdicts to the queue. On a FencedQueue (fq not nil) it
// then hands the refused sales whose verdicts were applied to rejectSale;
// counts in the stats stay Dripcel's answers, whichever instance keeps them.
func (r *Reporter) settle(ctx context.Context, fq FencedQueue, verdicts []Verdict) error {
	if fq == nil {
		return r.queue.Settle(ctx, verdicts)
	}
	applied, err := fq.SettleApplied(ctx, verdicts)
	if err != nil || len(applied) == 0 {
		return err // a Settle that fails applies nothing
	}
	ids := make(map[uint64]bool, len(applied))
	for _, id := range applied {
		ids[id] = true
	}
	for _, v := range verdicts {
		if v.Outcome.Fate == Refused && ids[v.ID] {
			r.rejectSale(v.Sale, v.Outcome.Err)
		}
	}
	return err
}

// rejectSale hands a refused sale to OnRejected, and logs it.
func (r *Reporter) rejectSale(s Sale, err error) {
	var attrs []slog.Attr
	for _, id := range namedIDs(&s) {
		attrs = append(attrs, slog.String(id.name, id.value))
	}
	attrs = append(attrs, slog.String("error", err.Error()))
	if s.Ref != "" {
		attrs = append(attrs, slog.String("ref", s.Ref))
	}
	r.client.logger.LogAttrs(r.sendCtx, slog.LevelWarn, "dripcel: reporter: sale rejected", attrs...)
	r.client.tel.rejected.Add(r.sendCtx, 1, r.client.tel.queue[r.kind].add...)
	if r.cfg.onRejected != nil {
		r.cfg.onRejected(s, err)
	}
}

// maxReporterRetryAfter is the longest Retry-After the Reporter waits out
// before sending again. The server's value reaches the caller uncapped (in
// APIError.RetryAfter); the Reporter's own wait stops at a day, as it did
// when the value itself was cut there, so that a mistaken or absurd one (a
// proxy's, a year) does not hold the queue for as long.
const maxReporterRetryAfter = 24 * time.Hour

// backoff is the wait before sending again after the given number of
// failures in a row: exponential within the client's WithRetryWait bounds,
// with jitter, and never shorter than the server's Retry-After up to
// maxReporterRetryAfter.
func (r *Reporter) backoff(failures int, retryAfter time.Duration) time.Duration {
	lo := max(r.client.http.RetryWaitMin, time.Millisecond)
	hi := max(r.client.http.RetryWaitMax, lo)
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	d = d/2 + rand.N(d/2+1)
	return max(d, min(retryAfter, maxReporterRetryAfter))
}
