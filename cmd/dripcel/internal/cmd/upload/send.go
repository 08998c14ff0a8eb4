package upload

import (
	"context"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"io"

	"github.com/dripcel-go/dripcel"
)

// send reads the rows again and uploads the valid ones a batch at a time.
// Invalid and repeated rows were counted (and the invalid ones written to
// the rejects file) by check, and are passed over.
func (u *upload) send(ctx context.Context) error {
	p, err := u.ex.Pass()
	if err != nil {
		return err
	}
	defer p.Close()
	u.toSend = u.tally.read - u.tally.count[invalid] - u.tally.count[repeated]
	u.progress.set(0, u.timeLeft(u.toSend))
	u.progress.start("uploading", u.toSend)
	defer u.progress.done()
	u.tally.read = 0
	u.lastRow = max(u.flags.fromRow-1, 0)
	batch := make([]*export.Row, 0, u.flags.chunk())
	sales := make([]dripcel.Sale, 0, u.flags.chunk())
	for eof := false; !eof; {
		if u.interrupted.Load() {
			u.stopped = true
			return nil
		}
		batch, sales = batch[:0], sales[:0]
		for len(batch) < cap(batch) {
			r, err := p.Next()
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				// The file changed since it was checked. The rows read
				// into this batch go to the rejects, and a rerun starts
				// from the first of them.
				u.stopped = true
				for _, rec := range batch {
					u.reject(rec.Record, notDelivered, "not sent: the file could not be read past a later row")
				}
				return u.afterSending(fmt.Errorf("%w (the file changed since it was checked?)", err))
			}
			if r.Row < u.flags.fromRow {
				continue
			}
			u.tally.read++
			u.lastRow = r.Row
			if len(r.Problems) > 0 || u.repeats.repeated(r.Row) > 0 {
				continue
			}
			batch, sales = append(batch, r), append(sales, r.Sale)
		}
		if u.interrupted.Load() {
			u.stopped = !eof
			for _, rec := range batch {
				u.reject(rec.Record, notDelivered, "not sent: interrupted")
			}
			return nil
		}
		if len(batch) == 0 {
			continue
		}
		if err := u.upload(ctx, batch, sales); err != nil {
			u.stopped = !eof
			if u.interrupted.Load() && errors.Is(err, context.Canceled) {
				return nil
			}
			return cli.Exit(cli.ExitTransport, fmt.Errorf("upload stopped: %s", cli.Plain(err)))
		}
	}
	return nil
}
