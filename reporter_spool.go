package dripcel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel/internal/spool"
)

// spoolRecordVersion is the first byte of every spool record, so that a
// later format can be told apart from this one.
const spoolRecordVersion = 1

// spoolRecord is a Sale as kept in the spool, converted to and from Sale so
// that a field added to Sale fails to compile here until the spool format
// says how to keep it. SoldAt keeps its UTC offset, so the wall clock sent
// to Dripcel after a restart is the one reported. Ref is new in the same
// version: older records read back with an empty Ref.
type spoolRecord struct {
	CampaignID string    `json:"c"`
	SendID     string    `json:"s,omitempty"`
	ClickID    string    `json:"k,omitempty"`
	Cell       string    `json:"l"`
	SoldAt     time.Time `json:"t,omitzero"`
	SaleValue  *float64  `json:"v,omitempty"`
	Ref        string    `json:"r,omitempty"`
}

// spoolEntry is a record as written: the sale, and when it was queued
// (zero in records written before the spool kept it).
type spoolEntry struct {
	spoolRecord
	Queued time.Time `json:"q,omitzero"`
}

func encodeSale(s *Sale, queued time.Time) ([]byte, error) {
	body, err := json.Marshal(spoolEntry{spoolRecord(*s), queued.Round(0)})
	if err != nil {
		return nil, fmt.Errorf("the sale cannot be stored: %w", err)
	}
	return append([]byte{spoolRecordVersion}, body...), nil
}

func decodeSale(data []byte) (Sale, time.Time, error) {
	if len(data) == 0 || data[0] != spoolRecordVersion {
		return Sale{}, time.Time{}, errors.New("unknown record format")
	}
	var rec spoolEntry
	if err := json.Unmarshal(data[1:], &rec); err != nil {
		return Sale{}, time.Time{}, err
	}
	return Sale(rec.spoolRecord), rec.Queued, nil
}

// spoolQueue is the Queue of WithSpool: the bbolt spool file, read from
// disk as sales are claimed, so memory holds one batch however many wait.
type spoolQueue struct {
	sp     *spool.Spool
	logger *slog.Logger

	// Appends are made by one writer goroutine, in groups: while it waits
	// for the disk, Reports line up on appends, and the next group is
	// written in one transaction, so a busy checkout pays for one fsync per
	// group rather than one per sale. A Report waits for its group or its
	// context, whichever ends first.
	appends chan *appendRequest
	stop    chan struct{}
	done    chan struct{}
	// beforeAppend, when set, runs before each group is written: tests use
	// it to stall the disk.
	beforeAppend func()

	mu      sync.Mutex
	cursor  uint64 // the highest ID claimed: Claim reads after it
	count   int    // records in the file, damaged ones included
	last    uint64 // the highest ID written
	damaged map[uint64]bool
	resumed int
}

// appendRequest is a group of sales waiting to be written to the spool.
type appendRequest struct {
	records [][]byte
	err     error
	done    chan struct{}
}

// openSpoolQueue opens the spool at path and checks every record in it. A
// record that cannot be read makes the spool corrupt: it is refused, not
// skipped, so that nothing in it is lost.
func openSpoolQueue(path string, logger *slog.Logger) (*spoolQueue, error) {
	sp, err := spool.Open(path)
	if err != nil {
		return nil, err
	}
	q := &spoolQueue{
		sp: sp, logger: logger,
		appends: make(chan *appendRequest),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		damaged: map[uint64]bool{},
	}
	if err := q.check(); err != nil {
		_ = sp.Close()
		return nil, err
	}
	go q.write()
	return q, nil
}

func (q *spoolQueue) check() error {
	count, last, err := q.sp.Stat()
	if err != nil {
		return err
	}
	const chunk = 1024
	for after := uint64(0); ; {
		recs, err := q.sp.Read(after, last, chunk)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if _, _, err := decodeSale(rec.Data); err != nil {
				return fmt.Errorf("spool %s: record %d cannot be read (%w); the file was left untouched",
					q.sp.Path(), rec.ID, err)
			}
		}
		after = recs[len(recs)-1].ID
	}
	q.count, q.last, q.resumed = count, last, count
	return nil
}

// write is the writer goroutine.
func (q *spoolQueue) write() {
	defer close(q.done)
	for {
		var group []*appendRequest
		select {
		case <-q.stop:
			return
		case req := <-q.appends:
			group = append(group, req)
		}
	gather:
		for len(group) < 1024 {
			select {
			case req := <-q.appends:
				group = append(group, req)
			default:
				break gather
			}
		}
		if q.beforeAppend != nil {
			q.beforeAppend()
		}
		var records [][]byte
		for _, g := range group {
			records = append(records, g.records...)
		}
		first, err := q.sp.Append(records...)
		if err == nil {
			q.mu.Lock()
			q.count += len(records)
			q.last = max(q.last, first+uint64(len(records))-1)
			q.mu.Unlock()
		}
		for _, g := range group {
			g.err = err
			close(g.done)
		}
	}
}

func (q *spoolQueue) Add(ctx context.Context, sales []Sale) error {
	req := &appendRequest{done: make(chan struct{})}
	now := time.Now()
	for i := range sales {
		data, err := encodeSale(&sales[i], now)
		if err != nil {
			return fmt.Errorf("dripcel: report: %w; the sale was not queued", err)
		}
		req.records = append(req.records, data)
	}
	select {
	case q.appends <- req:
	case <-q.stop:
		return errReportClosed
	case <-ctx.Done():
		return fmt.Errorf("dripcel: report: the spool was busy until the context ended; the sale was not queued: %w", ctx.Err())
	}
	select {
	case <-req.done:
		if req.err != nil {
			return fmt.Errorf("dripcel: report: %w; the sale was not queued", req.err)
		}
		return nil
	case <-ctx.Done():
		// The disk may yet take it; a sale reported twice is refused by
		// Dripcel as a duplicate, so the caller may report it again.
		return fmt.Errorf("dripcel: report: the spool did not confirm the write before the context ended "+
			"(the sale may still be written; reporting it again is safe): %w", ctx.Err())
	}
}

// Oldest is how long the first sale in the file has waited: settled sales
// are deleted, so it is the oldest queued. A sale written before the spool
// kept the time, or one the disk damaged, counts as 0.
func (q *spoolQueue) Oldest(context.Context) (time.Duration, error) {
	recs, err := q.sp.Read(0, math.MaxUint64, 1)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	// A record the disk damaged is counted by Stats and Close; here it
	// only has no age to give.
	if _, queued, derr := decodeSale(recs[0].Data); derr == nil && !queued.IsZero() {
		return time.Since(queued), nil
	}
	return 0, nil
}

func (q *spoolQueue) Claim(_ context.Context, max int) ([]QueuedSale, error) {
	q.mu.Lock()
	after := q.cursor
	q.mu.Unlock()
	recs, err := q.sp.Read(after, math.MaxUint64, max)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	batch := make([]QueuedSale, 0, len(recs))
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, rec := range recs {
		s, _, err := decodeSale(rec.Data)
		if err != nil {
			// Checked at open, so the disk damaged it since. It stays in
			// the file, which the next Reporter will refuse as corrupt;
			// Stats and Close count it.
			if !q.damaged[rec.ID] {
				q.logger.LogAttrs(context.Background(), slog.LevelError, "dripcel: reporter: unreadable spool record left in place",
					slog.Uint64("id", rec.ID), slog.String("error", err.Error()))
				q.damaged[rec.ID] = true
			}
			continue
		}
		batch = append(batch, QueuedSale{ID: rec.ID, Sale: s})
	}
	q.cursor = recs[len(recs)-1].ID
	return batch, nil
}

func (q *spoolQueue) Settle(_ context.Context, verdicts []Verdict) error {
	if len(verdicts) == 0 {
		return nil
	}
	ids := make([]uint64, len(verdicts))
	for i, v := range verdicts {
		ids[i] = v.ID
	}
	if err := q.sp.Delete(ids); err != nil {
		return err
	}
	q.mu.Lock()
	q.count -= len(ids)
	q.mu.Unlock()
	return nil
}

func (q *spoolQueue) Keep(_ context.Context, sales []QueuedSale, _ error) error {
	if len(sales) == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cursor = min(q.cursor, sales[0].ID-1) // sales come in ID order
	return nil
}

func (q *spoolQueue) Len(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count - len(q.damaged), nil
}

func (q *spoolQueue) Mark(context.Context) (uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last, nil
}

func (q *spoolQueue) Holds(_ context.Context, upTo uint64) (bool, error) {
	for after := uint64(0); ; {
		recs, err := q.sp.Read(after, upTo, 64)
		if err != nil || len(recs) == 0 {
			return false, err
		}
		q.mu.Lock()
		for _, rec := range recs {
			if !q.damaged[rec.ID] {
				q.mu.Unlock()
				return true, nil
			}
		}
		q.mu.Unlock()
		after = recs[len(recs)-1].ID
	}
}

func (q *spoolQueue) damagedCount() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int64(len(q.damaged))
}

// Close stops the writer, once the group it is writing is on disk, and
// releases the file.
func (q *spoolQueue) Close() error {
	close(q.stop)
	<-q.done
	return q.sp.Close()
}

// String names the queue by its file.
func (q *spoolQueue) String() string { return "the spool " + q.sp.Path() }
