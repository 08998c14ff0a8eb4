package dripcelpg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
)

// Queue is the Outbox as a Reporter's dripcel.Queue: give it to
// dripcel.NewReporter with dripcel.WithQueue. Every instance of a service
// may run one; they take turns through the lease, and only the holder
// claims sales. The Reporter closes it, which gives the lease up.
type Queue struct {
	o *Outbox
	e *elector

	mu      sync.Mutex
	started bool // the elector runs
	closed  bool
}

var _ dripcel.Queue = (*Queue)(nil)

// Queue returns a new Queue on the outbox. Its lease is first asked for at
// its first Claim, so an instance that only enqueues never delivers.
func (o *Outbox) Queue() *Queue { return &Queue{o: o, e: newElector(o)} }

// Holder reports whether this Queue holds the lease now.
func (q *Queue) Holder() bool { return q.e.holding() != 0 }

// String names the outbox table.
func (q *Queue) String() string { return q.o.String() }

// Add enqueues sales in a transaction of their own, for Reporter.Report.
// To tie a sale to its order, use Outbox.Enqueue in the order's
// transaction instead.
func (q *Queue) Add(ctx context.Context, sales []dripcel.Sale) error {
	return pgx.BeginFunc(ctx, q.o.pool, func(tx pgx.Tx) error { return q.o.Enqueue(ctx, tx, sales...) })
}

// Claim returns up to max of the oldest sales, if this instance holds the
// lease. The claim is one statement, committed before the Reporter sends
// anything: it checks the lease's term on the database's clock, skips rows
// another transaction has locked, and counts the attempt.
func (q *Queue) Claim(ctx context.Context, max int) ([]dripcel.QueuedSale, error) {
	q.mu.Lock()
	if !q.started && !q.closed {
		q.started = true
		go q.e.run()
	}
	q.mu.Unlock()
	term := q.e.holding()
	if term == 0 {
		return nil, nil
	}
	rows, err := q.o.pool.Query(ctx, `WITH picked AS (
			SELECT id FROM `+q.o.outbox+`
			WHERE EXISTS (SELECT 1 FROM `+q.o.lease+` WHERE name = $1 AND term = $2 AND expires_at > now())
			ORDER BY id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE `+q.o.outbox+` AS o SET attempts = o.attempts + 1, claimed_term = $2, claimed_at = now()
		FROM picked WHERE o.id = picked.id
		RETURNING o.id, o.ref, o.campaign_id, o.send_id, o.click_id, o.cell, o.sold_at, o.sold_at_offset,
			o.sale_value, o.attempts`, leaseName, term, max)
	if err != nil {
		return nil, fmt.Errorf("dripcelpg: claim: %w", err)
	}
	batch, err := pgx.CollectRows(rows, scanSale)
	if err != nil {
		return nil, fmt.Errorf("dripcelpg: claim: %w", err)
	}
	slices.SortFunc(batch, func(a, b dripcel.QueuedSale) int { return cmpID(a.ID, b.ID) })
	return batch, nil
}

func cmpID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func scanSale(row pgx.CollectableRow) (dripcel.QueuedSale, error) {
	var (
		qs     dripcel.QueuedSale
		id     int64
		soldAt time.Time
		offset int32
		value  *float64
		tries  int32
	)
	s := &qs.Sale
	if err := row.Scan(&id, &s.Ref, &s.CampaignID, &s.SendID, &s.ClickID, &s.Cell, &soldAt, &offset, &value, &tries); err != nil {
		return qs, err
	}
	qs.ID, qs.Attempts = uint64(id), int(tries)
	// The wall clock sent to Dripcel is the one enqueued, in its offset.
	s.SoldAt = soldAt.In(time.FixedZone("", int(offset)))
	s.SaleValue = value
	return qs, nil
}

// Settle deletes the sales Dripcel recorded (or already had), and moves the
// ones it refused, with its answer, to the rejected table, in one short
// transaction. A sale another instance settled first is left alone.
func (q *Queue) Settle(ctx context.Context, verdicts []dripcel.Verdict) error {
	if len(verdicts) == 0 {
		return nil
	}
	var done, refused []int64
	var statuses []int32
	var answers []string
	for _, v := range verdicts {
		if v.Outcome.Fate == dripcel.Refused {
			refused = append(refused, int64(v.ID))
			status := 0
			var apiErr *dripcel.APIError
			if errors.As(v.Outcome.Err, &apiErr) {
				status = apiErr.StatusCode
			}
			statuses = append(statuses, int32(status))
			answers = append(answers, fmt.Sprint(v.Outcome.Err))
			continue
		}
		done = append(done, int64(v.ID))
	}
	err := pgx.BeginFunc(ctx, q.o.pool, func(tx pgx.Tx) error {
		if len(done) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM `+q.o.outbox+` WHERE id = ANY($1)`, done); err != nil {
				return err
			}
		}
		if len(refused) > 0 {
			_, err := tx.Exec(ctx, `WITH moved AS (
					DELETE FROM `+q.o.outbox+` WHERE id = ANY($1) RETURNING *)
				INSERT INTO `+q.o.rejected+` (id, ref, campaign_id, send_id, click_id, cell, sold_at, sold_at_offset,
					sale_value, enqueued_at, attempts, status, error)
				SELECT m.id, m.ref, m.campaign_id, m.send_id, m.click_id, m.cell, m.sold_at, m.sold_at_offset,
					m.sale_value, m.enqueued_at, m.attempts, a.status, a.error
				FROM moved m JOIN unnest($1::bigint[], $2::integer[], $3::text[]) AS a(id, status, error) ON a.id = m.id
				ON CONFLICT (id) DO NOTHING`, refused, statuses, answers)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dripcelpg: settle: %w", err)
	}
	return nil
}

// Keep releases the claim on sales that got no verdict and records why, so
// they are claimed again, first.
func (q *Queue) Keep(ctx context.Context, sales []dripcel.QueuedSale, cause error) error {
	if len(sales) == 0 {
		return nil
	}
	ids := make([]int64, len(sales))
	for i, s := range sales {
		ids[i] = int64(s.ID)
	}
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	if errors.Is(cause, dripcel.ErrUnauthorized) {
		// The Reporter stops sending on a 401 or 403; holding the lease
		// would stop the whole fleet with it. Another instance, perhaps
		// with a good key, takes over.
		q.stepDown()
	}
	if _, err := q.o.pool.Exec(ctx, `UPDATE `+q.o.outbox+` SET claimed_term = NULL, claimed_at = NULL, last_error = $2
		WHERE id = ANY($1)`, ids, msg); err != nil {
		return fmt.Errorf("dripcelpg: keep: %w", err)
	}
	return nil
}

// Len counts the sales in the outbox, whoever enqueued them.
func (q *Queue) Len(ctx context.Context) (int, error) {
	var n int
	if err := q.o.pool.QueryRow(ctx, `SELECT count(*) FROM `+q.o.outbox).Scan(&n); err != nil {
		return 0, fmt.Errorf("dripcelpg: %w", err)
	}
	return n, nil
}

// Mark is the highest ID in the outbox.
func (q *Queue) Mark(ctx context.Context) (uint64, error) {
	var id int64
	if err := q.o.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM `+q.o.outbox).Scan(&id); err != nil {
		return 0, fmt.Errorf("dripcelpg: %w", err)
	}
	return uint64(id), nil
}

// Holds reports whether a sale with an ID at most upTo is in the outbox.
func (q *Queue) Holds(ctx context.Context, upTo uint64) (bool, error) {
	var holds bool
	err := q.o.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+q.o.outbox+` WHERE id <= $1)`, int64(upTo)).Scan(&holds)
	if err != nil {
		return false, fmt.Errorf("dripcelpg: %w", err)
	}
	return holds, nil
}

// Close stops asking for the lease and gives it up if held, so another
// instance takes over at its next try. The pool stays open: it is yours.
func (q *Queue) Close() error {
	q.stepDown()
	return nil
}

// stepDown stops asking for the lease, and gives it up if held.
func (q *Queue) stepDown() {
	q.mu.Lock()
	stop := q.started && !q.closed
	q.closed = true
	q.mu.Unlock()
	if stop {
		q.e.close()
	}
}
