package dripcel

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dripcel-go/dripcel/internal/transport"
	"github.com/dripcel-go/dripcel/internal/wire"
)

// The batch loop shared by UploadSales and UploadSalesSeq. It reads sales
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

// sliceSource yields the sales of a slice, for the shared loop.
func sliceSource(sales []Sale) iter.Seq2[Sale, error] {
	return func(yield func(Sale, error) bool) {
		for i := range sales {
			if !yield(sales[i], nil) {
				return
			}
		}
	}
}

// uploader is one upload in progress.
type uploader struct {
	c   *Client
	ctx context.Context
	// sem bounds the batches in flight; nil when they go one at a time.
	sem chan struct{}
	wg  sync.WaitGroup

	// halted is set once a failed batch means the rest would fail too.
	halted atomic.Bool
	mu     sync.Mutex
	failed []*BatchError
}

// upload runs the loop over seq. total is the number of sales seq holds when
// known (a slice), so that sales never read are reported too, or -1 for a
// stream. cells, when not nil, holds the converted cells of the first
// len(cells) sales, already validated.
func (c *Client) upload(ctx context.Context, seq iter.Seq2[Sale, error], total int, cells []string) error {
	u := &uploader{c: c, ctx: ctx}
	if c.concurrency > 1 {
		u.sem = make(chan struct{}, c.concurrency)
	}
	var (
		body     *transport.Body // the batch being built; nil between batches
		first    int             // index of its first sale
		count    int             // sales in it
		read     int             // sales read from seq
		unsentAt int             // first sale not handed to a sender
		cause    error           // why reading stopped early, if it did
		fields   wire.Fields
	)
	for s, err := range seq {
		i := read
		read++
		if u.halted.Load() || ctx.Err() != nil {
			cause = u.stopCause()
			break
		}
		if err != nil {
			cause = fmt.Errorf("dripcel: reading sale %d: %w", i, err)
			break
		}
		if i < len(cells) {
			fields = wire.Fields{CampaignID: s.CampaignID, SendID: s.SendID, ClickID: s.ClickID,
				Cell: cells[i], SoldAt: s.SoldAt, SaleValue: s.SaleValue}
		} else if err := c.wireFields(&s, i, &fields); err != nil {
			cause = err
			break
		}

		if count == 0 {
			body = c.bodies.Get()
			body.Buf = append(body.Buf, '[')
			first = i
		}
		mark := len(body.Buf)
		if count > 0 {
			body.Buf = append(body.Buf, ',')
		}
		body.Buf = wire.AppendJSON(body.Buf, &fields)
		if count > 0 && len(body.Buf)+1 > MaxBatchBytes {
			// This sale would push the body past the limit: send the
			// batch without it, and start the next with it.
			next := c.bodies.Get()
			next.Buf = append(append(next.Buf, '['), body.Buf[mark+1:]...)
			body.Buf = body.Buf[:mark]
			sent := u.send(body, first, i-1)
			body = next
			if !sent {
				cause = u.stopCause()
				break
			}
			unsentAt = i
			first, count = i, 0
		}
		count++
		if count == c.batchSize {
			sent := u.send(body, first, i)
			body, count = nil, 0
			if !sent {
				cause = u.stopCause()
				break
			}
			unsentAt = i + 1
		}
	}
	if cause == nil && count > 0 {
		sent := u.send(body, first, read-1)
		body = nil
		if sent {
			unsentAt = read
		} else {
			cause = u.stopCause()
		}
	}
	if body != nil {
		body.Release()
	}
	u.wg.Wait()

	if total < 0 {
		total = read
	}
	if cause != nil && unsentAt < total {
		// The sales after the last batch sent were not sent: for a slice,
		// all the rest; for a stream, those read (a bad sale or a failed
		// read included, last).
		u.failed = append(u.failed, &BatchError{First: unsentAt, Last: total - 1, Err: cause})
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
