package dripcel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dripcel-go/dripcel/internal/transport"
	"github.com/dripcel-go/dripcel/internal/wire"
)

// The batch loop shared by UploadSales and UploadSalesSeq. It takes sales
// one at a time, appends each one's JSON to the body being built and sends
// the body when it is full (by bytes; by count only under WithBatchSize), so
// an upload holds one batch (WithConcurrency(n): n+1) however many sales it
// reports. A batch Dripcel refuses is settled sale by sale from the JSON
// kept in its body (see settle.go).
//
// Bodies come from the client's pool and go back to it only when the
// transport has closed every reader of them (see transport.Body): net/http
// may go on reading a request body after RoundTrip returns. A body smaller
// than smallBody is sent as a plain copy instead and its buffer reused at
// once: net/http sends a byte slice with the headers in one write, while a
// reader of unknown kind costs a write of its own, which for a small body is
// most of the request's cost; above that size the body takes several writes
// either way.
const smallBody = 4 << 10

// batch is one upload request's sales: their JSON, one after another in
// body, and where each starts and ends, so that any part of the batch can be
// sent again without encoding anything twice.
type batch struct {
	body  *transport.Body // "[" then the sales' JSON separated by ","
	idx   []int           // the upload index of each sale, in body order
	spans [][2]int        // each sale's JSON: body.Buf[start:end]
	keys  []LedgerKey     // each sale's ledger key, with a ledger only
	full  bool            // closed because the next sale would not fit
}

// newBatch returns an empty batch, its body opened with "[", reusing the
// index and span slices of an earlier one.
func (c *Client) newBatch() *batch {
	b, ok := c.batches.Get().(*batch)
	if !ok {
		b = &batch{}
	}
	b.body = c.bodies.Get()
	b.body.Buf = append(b.body.Buf, '[')
	return b
}

// releaseBatch gives b's body back (see transport.Body) and b to the pool.
func (c *Client) releaseBatch(b *batch) {
	b.body.Release()
	b.body, b.idx, b.spans, b.keys, b.full = nil, b.idx[:0], b.spans[:0], b.keys[:0], false
	c.batches.Put(b)
}

// uploader is one upload in progress: UploadSales and UploadSalesSeq feed
// it sales with add, in order, and end it with finish.
type uploader struct {
	c     *Client
	ctx   context.Context
	cells []string // converted cells of the first sales, if validated already

	// The batch being built, and where reading has got to.
	b        *batch // nil between batches
	read     int    // sales given to add
	unsentAt int    // first sale not handed to a sender
	cause    error  // why reading stopped early, if it did
	fields   wire.Fields
	repeats  repeats
	pending  []pendingSale                      // sales waiting for a ledger lookup (ledger.go)
	known    []int                              // indexes settled from the ledger, ascending
	holdTail bool                               // keep a last part-full request unsent (reporter_tail.go)
	answered func(idx []int, f Fate, err error) // see uploadHooks
	sentAny  bool                               // a request of this upload was sent

	// sem bounds the batches in flight; nil when they go one at a time.
	sem chan struct{}
	wg  sync.WaitGroup

	// halted is set once a failed request means the rest would fail too.
	halted atomic.Bool
	mu     sync.Mutex
	failed []*BatchError
}

// newUploader starts an upload. cells, when not nil, holds the converted
// cells of the first len(cells) sales, which are already validated.
func (c *Client) newUploader(ctx context.Context, cells []string) *uploader {
	u := &uploader{c: c, ctx: ctx, cells: cells}
	if c.concurrency > 1 {
		u.sem = make(chan struct{}, c.concurrency)
	}
	return u
}

// add takes the next sale, or the error met reading it, and sends the batch
// when it is full. It reports false when the upload cannot go on; u.cause
// then says why.
func (u *uploader) add(s *Sale, err error) bool {
	c := u.c
	i := u.read
	u.read++
	if u.halted.Load() || u.ctx.Err() != nil {
		u.cause = u.stopCause()
		return false
	}
	if err != nil {
		u.cause = fmt.Errorf("dripcel: reading sale %d: %w", i, err)
		return false
	}
	if i < len(u.cells) {
		u.fields = wire.Fields{Cell: u.cells[i], SoldAt: s.SoldAt, SaleValue: s.SaleValue}
		setIdentifier(&u.fields, s)
	} else if err := c.wireFields(s, i, &u.fields); err != nil {
		u.cause = err
		return false
	}
	// A sale Dripcel would take for one already in this upload is settled
	// with it, without a request.
	if u.repeats.seen(&u.fields, i) {
		return true
	}
	if u.lookingUp() {
		if !u.hold(i, &u.fields) {
			u.cause = u.stopCause()
			return false
		}
		return true
	}
	if !u.push(i, &u.fields, u.send) {
		u.cause = u.stopCause()
		return false
	}
	return true
}

// push appends f, the sale at index i, to the batch being built, and hands
// the batch to send when it is full. It reports false when send refused a
// batch because the upload is over.
func (u *uploader) push(i int, f *wire.Fields, send func(*batch) bool) bool {
	c := u.c
	if u.b == nil {
		u.b = c.newBatch()
	}
	b := u.b
	mark := len(b.body.Buf)
	if len(b.idx) > 0 {
		b.body.Buf = append(b.body.Buf, ',')
	}
	start := len(b.body.Buf)
	b.body.Buf = wire.AppendJSON(b.body.Buf, f)
	if len(b.idx) > 0 && len(b.body.Buf)+1 > c.bodyCap.limit() {
		// This sale would push the body past the limit: send the batch
		// without it, and start the next with it.
		next := c.newBatch()
		next.body.Buf = append(next.body.Buf, b.body.Buf[start:]...)
		b.body.Buf = b.body.Buf[:mark]
		b.full = true
		sent := send(b)
		u.b = next
		if !sent {
			return false
		}
		u.unsentAt = i
		b, start = next, 1
	}
	b.idx = append(b.idx, i)
	b.spans = append(b.spans, [2]int{start, len(b.body.Buf)})
	if c.ledger != nil {
		b.keys = append(b.keys, c.ledgerKey(f))
	}
	if len(b.idx) == c.batchSize {
		sent := send(b)
		u.b = nil
		if !sent {
			return false
		}
		u.unsentAt = i + 1
	}
	return true
}

// finish sends the last batch, waits for the batches in flight and returns
// the upload's error. total is the number of sales the caller had, so that
// sales never read are reported too, or -1 for a stream: then the sales
// read.
func (u *uploader) finish(total int) error {
	if u.cause == nil && !u.lookUp() {
		u.cause = u.stopCause()
	}
	if u.cause == nil && u.b != nil && u.holdTail && u.sentAny {
		// A part-full request is kept back for the caller to send with
		// the sales that follow (reporter_tail.go). Only its own sales:
		// the repeats and ledger-known sales among them are settled as
		// ever (a repeat of a held sale shares its fate, and is held).
		u.mu.Lock() // batches in flight record their outcomes too
		u.failed = append(u.failed, runsOf(u.b.idx, NotDelivered, errTailHeld)...)
		u.mu.Unlock()
		u.c.releaseBatch(u.b)
		u.b = nil
	}
	if u.cause == nil && u.b != nil {
		sent := u.send(u.b)
		u.b = nil
		if sent {
			u.unsentAt = u.read
		} else {
			u.cause = u.stopCause()
		}
	}
	if u.b != nil {
		u.c.releaseBatch(u.b)
		u.b = nil
	}
	u.wg.Wait()

	if total < 0 {
		total = u.read
	}
	if u.cause == nil {
		u.unsentAt = total
	}
	if u.unsentAt < total {
		// The sales after the last batch sent were not sent: for a slice,
		// all the rest; for a stream, those read (a bad sale or a failed
		// read included, last).
		u.failed = append(u.failed, notSentRuns(u.unsentAt, total-1, u.known, u.cause)...)
	}
	u.failed = append(u.failed, runsOf(u.known, AlreadyRecorded, errKnown)...)
	slices.SortFunc(u.failed, func(a, b *BatchError) int { return a.First - b.First })
	u.failed = u.settleRepeats(u.failed, u.unsentAt)
	if len(u.failed) == 0 {
		return nil
	}
	return &UploadError{Total: total, Batches: u.failed}
}

// runsOf turns upload indexes, ascending, into runs of consecutive ones,
// each a BatchError of sales not sent with fate f and cause err.
func runsOf(idx []int, f Fate, err error) []*BatchError {
	var runs []*BatchError
	for k := 0; k < len(idx); {
		first := idx[k]
		last := first
		for k++; k < len(idx) && idx[k] == last+1; k++ {
			last++
		}
		runs = append(runs, &BatchError{First: first, Last: last, Fate: f, Err: err})
	}
	return runs
}

// stopCause is why the upload cannot go on: the context's error if it has
// ended, else the failure of an earlier batch.
func (u *uploader) stopCause() error {
	if err := u.ctx.Err(); err != nil {
		return err
	}
	return errStopped
}

// send closes batch b and hands it to a sender, which then owns it. It
// reports false, and releases the body, when the upload is over: an earlier
// batch stopped it, or the context ended.
func (u *uploader) send(b *batch) bool {
	b.body.Buf = append(b.body.Buf, ']')
	if u.halted.Load() || u.ctx.Err() != nil {
		u.c.releaseBatch(b)
		return false
	}
	u.sentAny = true
	if u.sem == nil {
		u.settle(b)
		return true
	}
	select {
	case u.sem <- struct{}{}:
	case <-u.ctx.Done():
		u.c.releaseBatch(b)
		return false
	}
	if u.halted.Load() {
		<-u.sem
		u.c.releaseBatch(b)
		return false
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.sem }()
		u.settle(b)
	}()
	return true
}

// post sends the sales of b at positions ps (all of them when ps is nil) as
// one request and returns Dripcel's answer as an error (nil: recorded). It
// feeds the answer to the client's body cap, which learns Dripcel's body
// limit from it.
func (u *uploader) post(b *batch, ps []int) error {
	if u.halted.Load() || u.ctx.Err() != nil {
		return u.stopCause()
	}
	body := b.body // b's owner keeps its reference until b is settled
	if ps != nil {
		body = u.c.bodies.Get()
		body.Buf = append(body.Buf, '[')
		for k, p := range ps {
			if k > 0 {
				body.Buf = append(body.Buf, ',')
			}
			body.Buf = append(body.Buf, b.body.Buf[b.spans[p][0]:b.spans[p][1]]...)
		}
		body.Buf = append(body.Buf, ']')
		defer body.Release()
	}
	size, n, full := len(body.Buf), len(b.idx), b.full
	if ps != nil {
		n, full = len(ps), false
	}
	r := request{method: http.MethodPost, path: "/sales", placement: transport.Header}
	if size < smallBody {
		r.body = bytes.Clone(body.Buf)
	} else {
		r.pooled = body
	}
	err := u.c.do(u.ctx, r)
	u.c.bodyCap.learn(size, n, full, err)
	return err
}

// record gives the sales of b at positions ps the fate f, with err as cause.
func (u *uploader) record(b *batch, ps []int, f Fate, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k := 0; k < len(ps); {
		// Runs of consecutive indexes share one BatchError.
		first := b.idx[ps[k]]
		last := first
		for k++; k < len(ps) && b.idx[ps[k]] == last+1; k++ {
			last++
		}
		u.failed = append(u.failed, &BatchError{First: first, Last: last, Sent: true, Fate: f, Err: err})
	}
}

// stopsUpload reports whether a failed request means later requests would
// fail the same way: everything but Dripcel refusing the request's own
// content, or its size.
func stopsUpload(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return true // network failure after retries, or context ended
	}
	switch apiErr.verdict() {
	case verdictRefused:
		return false
	case verdictForeign:
		return true
	}
	return apiErr.StatusCode != http.StatusRequestEntityTooLarge
}
