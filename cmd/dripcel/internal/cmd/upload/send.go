package upload

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
)

// send reads the rows again and uploads the valid ones as one stream, then
// gives each row the outcome of its sale: all recorded, or else as
// classify reads them. Invalid and
// repeated rows were counted (and the invalid ones written to the rejects
// file) by check, and are passed over.
//
// One stream, not a call per few thousand rows, because the library fills
// each request to the body cap and only the last of a call goes out part
// full: with Dripcel's budget of about 50 requests a minute, a part-full
// request every few thousand rows would cost several points of the whole
// upload's pace. The library holds one request's sales (and, with a
// ledger, the next thousand it is looking up) at a time, so memory stays
// bounded however long the file.
func (u *upload) send(ctx context.Context) error {
	p, err := u.ex.Pass()
	if err != nil {
		return err
	}
	u.toSend = u.tally.read - u.tally.count[invalid] - u.repeats.ofEarlierRun(u.flags.fromRow)
	u.progress.set(0, u.timeLeft(u.toSend))
	u.progress.start("uploading", u.toSend)
	var (
		n        int   // sales handed to the library
		complete bool  // the pass reached the end of the file
		readErr  error // the pass could not read past a row
		// What the pass read, for an upload whose every sale was
		// recorded (see allRecorded): the rows from --from-row on and
		// the last of them, each also as of the last sale handed over,
		// and the sales by identifier.
		read, last, readAtSale, lastSale int
		by                               [export.NumFields]int
	)
	last, lastSale = max(u.flags.fromRow-1, 0), max(u.flags.fromRow-1, 0)
	seq := func(yield func(dripcel.Sale, error) bool) {
		// After a Ctrl-C no more rows are read: the library sends what it
		// holds only if the request in flight is still being answered,
		// and reports the rest as not sent.
		for !u.interrupted.Load() {
			r, err := p.Next()
			if errors.Is(err, io.EOF) {
				complete = true
				return
			}
			if err != nil {
				// The file changed since it was checked. The rows read so
				// far are sent; a rerun goes on from the first one after.
				readErr = err
				return
			}
			if r.Row < u.flags.fromRow {
				continue
			}
			if err := u.changedRow(r); err != nil {
				readErr = err
				return
			}
			read++
			last = r.Row
			if !u.handedOver(r) {
				continue
			}
			n++
			by[r.By]++
			readAtSale, lastSale = read, r.Row
			if u.ledger != nil && !u.ledger.Remembers(r.Sale.SoldAt) {
				u.pastLedger++
			}
			if !yield(r.Sale, nil) {
				return
			}
		}
	}
	res := newResults(u.client.UploadSalesSeq(ctx, seq), n)
	p.Close()
	u.progress.set(res.settled(), u.timeLeft(u.toSend-res.settled()))
	u.progress.done()

	stop := res.stopCause(u.interrupted.Load())
	if res.allRecorded() {
		// Every row's outcome is known without reading the file again:
		// the usual first upload of a file.
		u.tally.sent, u.tally.sentBy, u.tally.count[recorded] = n, by, n
		u.tally.read, u.lastRow = read, last
		if !complete || readErr != nil {
			u.tally.read, u.lastRow, u.stopped = readAtSale, lastSale, true
		}
	} else if err := u.classify(res, complete && readErr == nil); err != nil {
		return err
	}
	switch {
	case readErr != nil:
		u.stopped = true
		return u.afterSending(fmt.Errorf("%w (the file changed since it was checked?)", readErr))
	case stop != nil:
		return cli.Exit(cli.ExitTransport, fmt.Errorf("upload stopped: %s", cli.Plain(stop)))
	}
	return nil
}

// classify reads the rows a third time and gives each valid row the
// outcome of its sale, the i-th sale handed to the library being the i-th
// valid row from --from-row on: recorded, already in Dripcel (by its answer
// or known from the ledger), refused (and why) or not delivered (and why).
// complete says the send pass read the whole file: then the rows after the
// last sale are counted too.
//
// The rows from the first one never sent (the upload stopped: a refused
// key, the network, Ctrl-C) are left unread, as if reading had stopped
// there: they are not rejects to fix but the rest of the file, which the
// summary says to go on with (--from-row). The library reads ahead of the
// request it sends (up to a thousand sales while looking them up in the
// ledger), so without this a Ctrl-C would fill the rejects file with rows
// nobody sent.
func (u *upload) classify(res *results, complete bool) error {
	p, err := u.ex.Pass()
	if err != nil {
		return u.afterSending(err)
	}
	defer p.Close()
	cut := res.unsentTail()
	u.tally.read = 0
	u.lastRow = max(u.flags.fromRow-1, 0)
	for i := 0; ; {
		if i >= cut && (cut < res.n || !complete) {
			u.stopped = true
			return nil
		}
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			u.stopped = true
			return u.afterSending(fmt.Errorf("%w (the file changed since it was checked?)", err))
		}
		if r.Row < u.flags.fromRow {
			continue
		}
		if err := u.changedRow(r); err != nil {
			u.stopped = true
			return u.afterSending(fmt.Errorf("%w (the file changed since it was checked?)", err))
		}
		u.tally.read++
		u.lastRow = r.Row
		if !u.handedOver(r) {
			continue
		}
		out := res.next(i)
		i++
		if errors.Is(out.Err, dripcel.ErrRepeatInUpload) {
			// Settled with the row it repeats, which Dripcel has: not
			// sent, and counted as repeated by the check.
			if u.repeats.repeated(r.Row) == 0 {
				u.tally.add(repeated, r.Row)
			}
			continue
		}
		if u.repeats.repeated(r.Row) > 0 {
			// The row it repeats was not recorded (refused for its
			// value, say): this one went in its own right, and is
			// counted by its own fate.
			u.tally.unrepeat(r.Row)
		}
		if answered(out) && !errors.Is(out.Err, dripcel.ErrKnownFromLedger) {
			u.tally.sent++
			u.tally.sentBy[r.By]++
		}
		o, reason := u.classOf(out, &r.Sale)
		if o == recorded || o == known {
			u.tally.add(o, r.Row)
			continue
		}
		u.reject(r.Record, o, reason)
	}
}
