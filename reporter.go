package dripcel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel/internal/spool"
	"github.com/dripcel-go/dripcel/internal/transport"
)

// Reporter reports sales in the background, for code such as a checkout
// handler that must neither wait on Dripcel nor lose a sale. Report queues a
// sale and returns at once; a goroutine sends queued sales in batches
// through the Client's UploadSales, in the order reported, and retries for
// as long as it takes.
//
// A sale is settled when Dripcel accepts it, when Dripcel already has it
// (ErrDuplicateSale: counted as delivered, not sent again), or when Dripcel
// refuses it for its content (it is handed to WithOnRejected once). Network
// errors, 5xx and 429 leave the sale queued and are retried with backoff,
// honouring Retry-After. A 401 or 403 stops sending, keeps every sale
// queued, and is reported by Flush, Close and Stats.
//
// Without WithSpool, queued sales live in memory: they survive an outage of
// any length but not the process. With it, each is on disk before Report
// returns, and a crash or restart loses nothing.
//
// A Reporter is safe for concurrent use. Close it on shutdown.
type Reporter struct {
	client *Client
	cfg    reporterConfig
	spool  *spool.Spool // nil without WithSpool

	// appendMu is held by the goroutine writing a group of sales to the
	// spool, so groups are written, and queued, in the order of their IDs.
	appendMu sync.Mutex

	mu       sync.Mutex
	queue    []queued         // unsettled sales in memory, in report order
	lineup   []*appendRequest // sales waiting to be written to the spool
	spilled  int              // spooled sales not yet read into queue: IDs in (loaded, tail]
	loaded   uint64           // highest seq ever put in queue
	tail     uint64           // highest seq reported (or found in the spool)
	flushing int              // Flush calls waiting: send partial batches now
	closed   bool             // Close has begun: Report refuses
	stopped  bool             // the sender has exited
	halt     error            // why sending stopped (401/403), or nil
	changed  chan struct{}
	stats    ReporterStats

	wake    chan struct{}
	stop    chan struct{}
	sendCtx context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// queued is one sale waiting to be settled. seq orders sales: a counter in
// memory, the spool ID with a spool.
type queued struct {
	seq  uint64
	sale Sale
	// solo marks a sale from a multi-sale batch Dripcel refused with 409 or
	// a content error: it is sent alone, so its own fate is known.
	solo bool
}

// ReporterStats is a snapshot of a Reporter's counters.
type ReporterStats struct {
	// Reported is how many sales Report accepted since NewReporter.
	Reported int64
	// Resumed is how many sales were found in the spool at NewReporter.
	Resumed int
	// Queued is how many sales are waiting to be settled, in memory or in
	// the spool, including those being sent.
	Queued int
	// Spooled is how many of Queued are kept in the spool file (all of them
	// with WithSpool, none without).
	Spooled int
	// Sent is how many sales Dripcel accepted.
	Sent int64
	// Duplicates is how many sales Dripcel already had (ErrDuplicateSale):
	// delivered, and not sent again.
	Duplicates int64
	// Rejected is how many sales Dripcel refused for their content and were
	// handed to WithOnRejected.
	Rejected int64
	// Retries is how many times a batch was sent again after a failure that
	// outlasted the client's own retries.
	Retries int64
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

	// ErrQueueFull: Report's context ended while the in-memory queue was
	// full (no spool to spill to), so the sale was not queued. The error
	// also matches the context's error. The caller still holds the sale:
	// send it with Postback, or keep it for later.
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
// use. Close the Reporter to stop its goroutine and release the file.
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
	r.sendCtx, r.cancel = context.WithCancel(context.Background())
	if cfg.spoolPath != "" {
		sp, err := spool.Open(cfg.spoolPath)
		if err != nil {
			r.cancel()
			return nil, fmt.Errorf("dripcel: NewReporter: %w", err)
		}
		r.spool = sp
		if err := r.resume(); err != nil {
			r.cancel()
			_ = sp.Close()
			return nil, fmt.Errorf("dripcel: NewReporter: %w", err)
		}
	}
	go r.run()
	return r, nil
}

// Report validates s (with the rules and errors of UploadSales) and queues
// it for sending. It does no network I/O. With WithSpool it returns once s
// is on disk. When the in-memory queue is full it writes to the spool only
// (with WithSpool) or waits for room until ctx ends, and then returns an
// error saying the sale was not queued. ctx is used only for that wait.
//
// A zero SoldAt is set to the time of the call, in the local time zone, so
// that a sale sent late, or sent again after a crash, keeps its date (and so
// Dripcel's duplicate check). Set SoldAt yourself to report in another zone.
//
// A sale for which Report returned nil is never dropped: it is settled (see
// Reporter), or still queued when Close returns an error that counts it.
func (r *Reporter) Report(ctx context.Context, s Sale) error {
	if err := r.client.validate(&s, -1); err != nil {
		return err
	}
	if s.SaleValue != nil { // the caller may reuse what it points to
		v := *s.SaleValue
		s.SaleValue = &v
	}
	if s.SoldAt.IsZero() {
		// Dripcel would take the time it receives the sale, which may be
		// another day after an outage: the sale would then escape its
		// duplicate check (cell, campaign, date) if it is ever sent again.
		s.SoldAt = time.Now().Round(0)
	}
	if r.spool != nil {
		return r.reportDurable(s)
	}
	return r.reportMemory(ctx, s)
}

func (r *Reporter) reportMemory(ctx context.Context, s Sale) error {
	r.mu.Lock()
	for {
		if r.closed {
			r.mu.Unlock()
			return errReportClosed
		}
		if len(r.queue) < r.cfg.queueSize {
			r.tail++
			r.loaded = r.tail
			r.queue = append(r.queue, queued{seq: r.tail, sale: s})
			r.stats.Reported++
			full := len(r.queue) >= r.batchLimit()
			r.mu.Unlock()
			if full {
				r.poke()
			}
			return nil
		}
		changed := r.changed
		r.mu.Unlock()
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
		r.mu.Lock()
	}
}

// batchLimit is how many sales make a full batch. Caller holds mu.
func (r *Reporter) batchLimit() int { return min(r.cfg.maxBatch, r.cfg.queueSize) }

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

// pending is how many sales are unsettled. Caller holds mu.
func (r *Reporter) pending() int { return len(r.queue) + r.spilled }

// settledUpTo reports whether every sale with seq <= target is settled.
// Caller holds mu. The queue is in seq order and spilled sales come after
// it, so only its head matters.
func (r *Reporter) settledUpTo(target uint64) bool {
	if len(r.queue) > 0 {
		return r.queue[0].seq > target
	}
	if r.spilled > 0 {
		return r.loaded >= target
	}
	return true
}

// Flush sends what is queued without waiting for batches to fill, and
// waits until every sale reported before the call is settled. It returns
// early with an error if ctx ends (counting the sales still queued), if
// sending stopped on a 401 or 403 (matching ErrUnauthorized), or if the
// Reporter is closed.
func (r *Reporter) Flush(ctx context.Context) error {
	r.mu.Lock()
	target := r.tail
	r.flushing++
	r.mu.Unlock()
	r.poke()
	defer func() {
		r.mu.Lock()
		r.flushing--
		r.mu.Unlock()
	}()
	return r.waitSettled(ctx, target, "flush")
}

// waitSettled waits until every sale with seq <= target is settled.
func (r *Reporter) waitSettled(ctx context.Context, target uint64, op string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		switch {
		case r.settledUpTo(target):
			return nil
		case r.halt != nil:
			return fmt.Errorf("dripcel: %s: %d sales remain queued: sending stopped: %w", op, r.pending(), r.halt)
		case r.stopped:
			return &reporterError{
				msg: fmt.Sprintf("dripcel: %s: the reporter is closed; %d sales remain queued", op, r.pending()),
				is:  ErrReporterClosed,
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
			r.mu.Lock()
		case <-ctx.Done():
			r.mu.Lock()
			if r.settledUpTo(target) {
				return nil
			}
			return fmt.Errorf("dripcel: %s: %d sales remain queued: %w", op, r.pending(), ctx.Err())
		}
	}
}

// Close stops taking sales, sends what is queued, and waits until it is
// settled or ctx ends. Then it stops the sending goroutine (abandoning a
// request in flight) and releases the spool, which a new Reporter may open
// at once, even when ctx has already ended.
//
// It returns nil when every sale was settled (and, with a spool, none was
// found damaged: see ReporterStats.Damaged). Otherwise the error counts
// the sales that remain queued and says where: kept in the spool for the
// next Reporter, or, without a spool, lost with this one. It matches
// ctx.Err() or ErrUnauthorized, whichever cut delivery short. Report after
// Close returns an error; Close after Close returns the first result.
func (r *Reporter) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.shutdown(ctx, true) })
	return r.closeErr
}

// shutdown stops intake, drains if asked (until ctx ends), stops the
// sender and releases the spool.
func (r *Reporter) shutdown(ctx context.Context, drain bool) error {
	r.appendMu.Lock() // no spool append is under way once closed is set
	r.mu.Lock()
	r.closed = true
	target := r.tail
	r.broadcast() // Reports waiting for room give up
	r.mu.Unlock()
	r.appendMu.Unlock()

	var cause error
	if drain {
		r.poke()
		cause = r.waitSettled(ctx, target, "close")
	}
	r.cancel()
	close(r.stop)
	<-r.done

	var spoolErr error
	if r.spool != nil {
		spoolErr = r.spool.Close()
	}
	r.mu.Lock()
	r.stopped = true
	r.broadcast()
	left, halt, damaged := r.pending(), r.halt, r.stats.Damaged
	r.mu.Unlock()

	if damaged > 0 {
		// Left in the file, not lost; but not delivered either, and the
		// next NewReporter will refuse the file, so say so now.
		what, were := fmt.Sprintf("%d spooled sales", damaged), "were"
		if damaged == 1 {
			what, were = "1 spooled sale", "was"
		}
		spoolErr = errors.Join(spoolErr, fmt.Errorf(
			"%s could not be read back (the file was damaged on disk) and %s not sent; "+
				"the file %s still holds them, and a new Reporter will refuse it until it is repaired or moved aside",
			what, were, r.spool.Path()))
	}
	if left == 0 {
		if spoolErr != nil {
			return fmt.Errorf("dripcel: close: %w", spoolErr)
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
	if r.spool != nil {
		return fmt.Errorf("dripcel: close: %d sales remain queued, all %d kept in the spool %s for the next Reporter: %w",
			left, left, r.spool.Path(), errors.Join(cause, spoolErr))
	}
	return fmt.Errorf("dripcel: close: %d sales remain queued and are lost with this Reporter (no spool): %w",
		left, cause)
}

// abandon stops the Reporter as a crash would: no draining, nothing sent
// after it returns, the spool file released as the operating system would
// release it. For tests of recovery.
func (r *Reporter) abandon() {
	r.closeOnce.Do(func() {
		_ = r.shutdown(context.Background(), false)
		r.closeErr = errors.New("dripcel: close: the reporter was abandoned")
	})
}

// Stats returns a snapshot of the Reporter's counters.
func (r *Reporter) Stats() ReporterStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.Queued = r.pending()
	if r.spool != nil {
		st.Spooled = st.Queued
	}
	st.Err = r.halt
	return st
}

// String describes the Reporter without its client's key.
func (r *Reporter) String() string {
	if r.spool != nil {
		return fmt.Sprintf("dripcel.Reporter{BaseURL: %q, Spool: %q}", transport.URL(r.client.base), r.spool.Path())
	}
	return fmt.Sprintf("dripcel.Reporter{BaseURL: %q}", transport.URL(r.client.base))
}

// GoString is String, so %#v does not print the key either.
func (r *Reporter) GoString() string { return r.String() }

// Format prints String for every verb, so no fmt verb can reach the key.
func (r *Reporter) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// run is the sending goroutine: it sends a batch when one is full, when the
// flush interval passes, when Flush or Close asks, and after a backoff.
func (r *Reporter) run() {
	defer close(r.done)
	tick := time.NewTicker(r.cfg.interval)
	defer tick.Stop()
	var (
		retry    *time.Timer
		retryC   <-chan time.Time
		due      bool
		failures int
	)
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		if retryC == nil {
			r.refill()
			if batch := r.take(due); len(batch) > 0 {
				wait := r.deliver(batch, &failures)
				if r.sendCtx.Err() != nil {
					return
				}
				if wait > 0 {
					retry = time.NewTimer(wait)
					retryC = retry.C
				}
				continue
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

// take returns the next batch to send, or nil when there is none to send
// yet. A batch is the head of the queue: one solo sale, or up to the batch
// limit of others.
func (r *Reporter) take(due bool) []queued {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.halt != nil || len(r.queue) == 0 {
		return nil
	}
	limit := r.batchLimit()
	urgent := due || r.flushing > 0 || r.closed || r.spilled > 0 || r.queue[0].solo
	if !urgent && len(r.queue) < limit {
		return nil
	}
	if r.queue[0].solo {
		return slices.Clone(r.queue[:1])
	}
	n := 0
	for n < len(r.queue) && n < limit && !r.queue[n].solo {
		n++
	}
	return slices.Clone(r.queue[:n])
}

// fate is what became of one sale of a batch.
type fate struct {
	kind       fateKind
	err        error
	retryAfter time.Duration
}

type fateKind int

const (
	accepted  fateKind = iota
	duplicate          // Dripcel already had it: delivered
	rejected           // refused for its content: to OnRejected
	split              // refused in a multi-sale batch: resend alone
	retryable          // not settled: send again after a backoff
	halted             // 401/403: keep, stop sending
)

// deliver sends one batch and settles what it can. It returns how long to
// wait before sending again, 0 for no wait.
func (r *Reporter) deliver(batch []queued, failures *int) time.Duration {
	sales := make([]Sale, len(batch))
	for i := range batch {
		sales[i] = batch[i].sale
	}
	err := r.client.UploadSales(r.sendCtx, sales)
	fates := judge(len(batch), err)

	var (
		settledIDs []uint64
		retryAfter time.Duration
		retry      bool
		progress   bool
		haltErr    error
		sent, dups int64
		rejects    int64
	)
	for i, f := range fates {
		switch f.kind {
		case accepted, duplicate, rejected:
			progress = true
			settledIDs = append(settledIDs, batch[i].seq)
			switch f.kind {
			case accepted:
				sent++
			case duplicate:
				dups++
			case rejected:
				rejects++
				r.rejectSale(batch[i].sale, f.err)
			}
		case split:
			progress = true
		case retryable:
			retry = true
			retryAfter = max(retryAfter, f.retryAfter)
		case halted:
			haltErr = f.err
		}
	}
	if r.spool != nil && len(settledIDs) > 0 {
		if err := r.spool.Delete(settledIDs); err != nil {
			// They would be sent again by the next Reporter and answered
			// as duplicates: nothing is lost.
			r.client.logger.LogAttrs(r.sendCtx, slog.LevelWarn, "dripcel: reporter: could not remove settled sales from the spool",
				slog.String("error", err.Error()))
		}
	}

	r.mu.Lock()
	kept := 0
	for i, f := range fates {
		switch f.kind {
		case split, retryable, halted:
			q := batch[i]
			q.solo = q.solo || f.kind == split
			batch[kept] = q
			kept++
		}
	}
	// The batch is the head of the queue: only this goroutine removes
	// from it, and Report only appends.
	start := len(batch) - kept
	copy(r.queue[start:len(batch)], batch[:kept])
	clear(r.queue[:start])
	r.queue = r.queue[start:]
	r.stats.Sent += sent
	r.stats.Duplicates += dups
	r.stats.Rejected += rejects
	if haltErr != nil && r.halt == nil && r.sendCtx.Err() == nil {
		r.halt = haltErr
	}
	if retry && r.sendCtx.Err() == nil {
		r.stats.Retries++
	}
	r.broadcast()
	r.mu.Unlock()

	switch {
	case haltErr != nil:
		r.client.logger.LogAttrs(r.sendCtx, slog.LevelError, "dripcel: reporter: sending stopped",
			slog.Int("queued", r.Stats().Queued), slog.String("error", haltErr.Error()))
		return 0
	case retry:
		if progress {
			*failures = 0
		}
		*failures++
		wait := r.backoff(*failures, retryAfter)
		r.client.logger.LogAttrs(r.sendCtx, slog.LevelInfo, "dripcel: reporter: will send again",
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		return wait
	}
	*failures = 0
	return 0
}

// rejectSale hands a refused sale to OnRejected, and logs it.
func (r *Reporter) rejectSale(s Sale, err error) {
	r.client.logger.LogAttrs(r.sendCtx, slog.LevelWarn, "dripcel: reporter: sale rejected",
		slog.String("campaign_id", s.CampaignID), slog.String("error", err.Error()))
	if r.cfg.onRejected != nil {
		r.cfg.onRejected(s, err)
	}
}

// judge decides the fate of each of n sales sent in one UploadSales call
// that returned err.
func judge(n int, err error) []fate {
	fates := make([]fate, n)
	if err == nil {
		return fates
	}
	var upErr *UploadError
	if !errors.As(err, &upErr) {
		f := classify(err, true, n)
		for i := range fates {
			fates[i] = f
		}
		return fates
	}
	for _, be := range upErr.Batches {
		f := classify(be.Err, be.Sent, be.Last-be.First+1)
		for i := be.First; i <= be.Last && i < n; i++ {
			fates[i] = f
		}
	}
	return fates
}

// classify decides the fate of the n sales of one request that failed with
// err. A refusal of a multi-sale request is split, because Dripcel does not
// say whether it refused the whole batch or stored the rest: sent alone,
// each sale gets an answer of its own, and one already stored comes back as
// a duplicate.
func classify(err error, sent bool, n int) fate {
	if !sent {
		return fate{kind: retryable, err: err}
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		if errors.Is(err, ErrInvalidSale) {
			return content(err, n)
		}
		return fate{kind: retryable, err: err} // network, timeout, context
	}
	code := apiErr.StatusCode
	switch {
	case errors.Is(apiErr, ErrDuplicateSale):
		if n > 1 {
			return fate{kind: split, err: err}
		}
		return fate{kind: duplicate, err: err}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fate{kind: halted, err: err}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fate{kind: retryable, err: err, retryAfter: apiErr.RetryAfter}
	}
	return content(err, n)
}

// content is the fate of sales refused for what they hold.
func content(err error, n int) fate {
	if n > 1 {
		return fate{kind: split, err: err}
	}
	return fate{kind: rejected, err: err}
}

// backoff is the wait before sending again after the given number of
// failures in a row: exponential within the client's WithRetryWait bounds,
// with jitter, and never shorter than the server's Retry-After.
func (r *Reporter) backoff(failures int, retryAfter time.Duration) time.Duration {
	lo := max(r.client.http.RetryWaitMin, time.Millisecond)
	hi := max(r.client.http.RetryWaitMax, lo)
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	d = d/2 + rand.N(d/2+1)
	return max(d, retryAfter)
}
