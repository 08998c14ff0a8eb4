package dripcel

import (
	"bytes"
	"context"
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
// the body when the batch is full, so an upload holds one batch
// (WithConcurrency(n): n+1) however many sales it reports.
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

// uploader is one upload in progress: UploadSales and UploadSalesSeq feed
// it sales with add, in order, and end it with finish.
type uploader struct {
	c     *Client
	ctx   context.Context
	cells []string // converted cells of the first sales, if validated already

	// The batch being built, and where reading has got to.
	body     *transport.Body // nil between batches
	first    int             // index of the batch's first sale
	count    int             // sales in the batch
	read     int             // sales given to add
	unsentAt int             // first sale not handed to a sender
	cause    error           // why reading stopped early, if it did
	fields   wire.Fields

	// sem bounds the batches in flight; nil when they go one at a time.
	sem chan struct{}
	wg  sync.WaitGroup

	// halted is set once a failed batch means the rest would fail too.
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
		u.fields = wire.Fields{CampaignID: s.CampaignID, SendID: s.SendID, ClickID: s.ClickID,
			Cell: u.cells[i], SoldAt: s.SoldAt, SaleValue: s.SaleValue}
	} else if err := c.wireFields(s, i, &u.fields); err != nil {
		u.cause = err
		return false
	}

	if u.count == 0 {
		u.body = c.bodies.Get()
		u.body.Buf = append(u.body.Buf, '[')
		u.first = i
	}
	mark := len(u.body.Buf)
	if u.count > 0 {
		u.body.Buf = append(u.body.Buf, ',')
	}
	u.body.Buf = wire.AppendJSON(u.body.Buf, &u.fields)
	if u.count > 0 && len(u.body.Buf)+1 > MaxBatchBytes {
		// This sale would push the body past the limit: send the batch
		// without it, and start the next with it.
		next := c.bodies.Get()
		next.Buf = append(append(next.Buf, '['), u.body.Buf[mark+1:]...)
		u.body.Buf = u.body.Buf[:mark]
		sent := u.send(u.body, u.first, i-1)
		u.body = next
		if !sent {
			u.cause = u.stopCause()
			return false
		}
		u.unsentAt = i
		u.first, u.count = i, 0
	}
	u.count++
	if u.count == c.batchSize {
		sent := u.send(u.body, u.first, i)
		u.body, u.count = nil, 0
		if !sent {
			u.cause = u.stopCause()
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
	if u.cause == nil && u.count > 0 {
		sent := u.send(u.body, u.first, u.read-1)
		u.body = nil
		if sent {
			u.unsentAt = u.read
		} else {
			u.cause = u.stopCause()
		}
	}
	if u.body != nil {
		u.body.Release()
		u.body = nil
	}
	u.wg.Wait()

	if total < 0 {
		total = u.read
	}
	if u.cause != nil && u.unsentAt < total {
		// The sales after the last batch sent were not sent: for a slice,
		// all the rest; for a stream, those read (a bad sale or a failed
		// read included, last).
		u.failed = append(u.failed, &BatchError{First: u.unsentAt, Last: total - 1, Err: u.cause})
	}
	if len(u.failed) == 0 {
		return nil
	}
	slices.SortFunc(u.failed, func(a, b *BatchError) int { return a.First - b.First })
	return &UploadError{Total: total, Batches: u.failed}
}

// stopCause is why the upload cannot go on: the context's error if it has
// ended, else the failure of an earlier batch.
func (u *uploader) stopCause() error {
	if err := u.ctx.Err(); err != nil {
		return err
	}
	return errStopped
}

// send closes the batch of sales first..last and hands it to a sender,
// which then owns body. It reports false, and releases body, when the upload
// is over: an earlier batch stopped it, or the context ended.
func (u *uploader) send(body *transport.Body, first, last int) bool {
	body.Buf = append(body.Buf, ']')
	if u.halted.Load() || u.ctx.Err() != nil {
		body.Release()
		return false
	}
	if u.sem == nil {
		u.sendBatch(body, first, last)
		return true
	}
	select {
	case u.sem <- struct{}{}:
	case <-u.ctx.Done():
		body.Release()
		return false
	}
	if u.halted.Load() {
		<-u.sem
		body.Release()
		return false
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.sem }()
		u.sendBatch(body, first, last)
	}()
	return true
}

// sendBatch posts one batch, records its failure and releases its body.
func (u *uploader) sendBatch(body *transport.Body, first, last int) {
	r := request{method: http.MethodPost, path: "/sales", placement: transport.Header}
	if len(body.Buf) < smallBody {
		r.body = bytes.Clone(body.Buf)
		body.Release()
	} else {
		r.pooled = body
	}
	err := u.c.do(u.ctx, r)
	if r.pooled != nil {
		body.Release()
	}
	if err == nil {
		return
	}
	if stopsUpload(err) {
		u.halted.Store(true)
	}
	u.mu.Lock()
	u.failed = append(u.failed, &BatchError{First: first, Last: last, Sent: true, Err: err})
	u.mu.Unlock()
}
