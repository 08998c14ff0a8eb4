package dripcel

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// spoolRecordVersion is the first byte of every spool record, so that a
// later format can be told apart from this one.
const spoolRecordVersion = 1

// spoolRecord is a Sale as kept in the spool, converted to and from Sale so
// that a field added to Sale fails to compile here until the spool format
// says how to keep it. SoldAt keeps its UTC offset, so the wall clock sent
// to Dripcel after a restart is the one reported.
type spoolRecord struct {
	CampaignID string    `json:"c"`
	SendID     string    `json:"s,omitempty"`
	ClickID    string    `json:"k,omitempty"`
	Cell       string    `json:"l"`
	SoldAt     time.Time `json:"t,omitzero"`
	SaleValue  *float64  `json:"v,omitempty"`
}

func encodeSale(s *Sale) ([]byte, error) {
	body, err := json.Marshal(spoolRecord(*s))
	if err != nil {
		return nil, fmt.Errorf("the sale cannot be stored: %w", err)
	}
	return append([]byte{spoolRecordVersion}, body...), nil
}

func decodeSale(data []byte) (Sale, error) {
	if len(data) == 0 || data[0] != spoolRecordVersion {
		return Sale{}, errors.New("unknown record format")
	}
	var rec spoolRecord
	if err := json.Unmarshal(data[1:], &rec); err != nil {
		return Sale{}, err
	}
	return Sale(rec), nil
}

// appendRequest is one sale waiting to be written to the spool.
type appendRequest struct {
	sale Sale
	data []byte
	// done and err are set by the goroutine that wrote the request's group,
	// before it unlocks appendMu.
	done bool
	err  error
}

// reportDurable puts s in the spool, then in the queue unless sales are
// already waiting in the spool alone (which keeps the order).
//
// Writes are committed in groups: while one Report waits for the disk, the
// others line up, and the next to get appendMu writes all of them in one
// transaction, so a busy checkout pays for one fsync per group rather than
// one per sale.
func (r *Reporter) reportDurable(s Sale) error {
	data, err := encodeSale(&s)
	if err != nil {
		return fmt.Errorf("dripcel: report: %w; the sale was not queued", err)
	}
	req := &appendRequest{sale: s, data: data}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errReportClosed
	}
	r.lineup = append(r.lineup, req)
	r.mu.Unlock()

	r.appendMu.Lock()
	defer r.appendMu.Unlock()
	if req.done {
		return req.err
	}
	r.mu.Lock()
	group, closed := r.lineup, r.closed
	r.lineup = nil
	r.mu.Unlock()
	if closed {
		finish(group, errReportClosed)
		return req.err
	}
	records := make([][]byte, len(group))
	for i, g := range group {
		records[i] = g.data
	}
	first, err := r.spool.Append(records...)
	if err != nil {
		finish(group, fmt.Errorf("dripcel: report: %w; the sale was not queued", err))
		return req.err
	}
	r.mu.Lock()
	for i, g := range group {
		id := first + uint64(i)
		r.tail = id
		if r.spilled == 0 && len(r.queue) < r.cfg.queueSize {
			r.queue = append(r.queue, queued{seq: id, sale: g.sale})
			r.loaded = id
		} else {
			r.spilled++
		}
	}
	r.stats.Reported += int64(len(group))
	full := r.pending() >= r.batchLimit()
	r.mu.Unlock()
	finish(group, nil)
	if full {
		r.poke()
	}
	return req.err
}

func finish(group []*appendRequest, err error) {
	for _, g := range group {
		g.done, g.err = true, err
	}
}

// resume checks every record of a newly opened spool and queues them. A
// record that cannot be read makes the spool corrupt: it is refused, not
// skipped, so that nothing in it is lost.
func (r *Reporter) resume() error {
	count, last, err := r.spool.Stat()
	if err != nil {
		return err
	}
	const chunk = 1024
	for after := uint64(0); ; {
		recs, err := r.spool.Read(after, last, chunk)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if _, err := decodeSale(rec.Data); err != nil {
				return fmt.Errorf("spool %s: record %d cannot be read (%w); the file was left untouched",
					r.spool.Path(), rec.ID, err)
			}
		}
		after = recs[len(recs)-1].ID
	}
	r.tail, r.spilled = last, count
	r.stats.Resumed = count
	r.refill()
	return nil
}

// refill moves sales waiting in the spool alone into the queue, in order,
// as far as the queue has room.
func (r *Reporter) refill() {
	if r.spool == nil {
		return
	}
	r.mu.Lock()
	room, after, upTo, waiting := r.cfg.queueSize-len(r.queue), r.loaded, r.tail, r.spilled
	r.mu.Unlock()
	if waiting == 0 || room <= 0 {
		return
	}
	recs, err := r.spool.Read(after, upTo, room)
	if err != nil || len(recs) == 0 {
		if err != nil {
			r.client.logger.LogAttrs(r.sendCtx, slog.LevelError, "dripcel: reporter: reading the spool",
				slog.String("error", err.Error()))
		}
		return
	}
	items := make([]queued, 0, len(recs))
	var damaged int64
	for _, rec := range recs {
		s, err := decodeSale(rec.Data)
		if err != nil {
			// Checked at open, so the disk damaged it since. It stays in
			// the file, which the next Reporter will refuse as corrupt;
			// Stats and Close count it.
			r.client.logger.LogAttrs(r.sendCtx, slog.LevelError, "dripcel: reporter: unreadable spool record left in place",
				slog.Uint64("id", rec.ID), slog.String("error", err.Error()))
			damaged++
			continue
		}
		items = append(items, queued{seq: rec.ID, sale: s})
	}
	r.mu.Lock()
	r.stats.Damaged += damaged
	r.queue = append(r.queue, items...)
	r.loaded = recs[len(recs)-1].ID
	r.spilled -= len(recs)
	r.mu.Unlock()
}
