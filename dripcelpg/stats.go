package dripcelpg

import (
	"context"
	"fmt"
	"time"
)

// Stats is what the outbox's tables hold, read in one snapshot.
type Stats struct {
	// Queued is how many sales wait for Dripcel's verdict.
	Queued int
	// Oldest is how long the oldest of them has waited (0 with none).
	Oldest time.Duration
	// Rejected is how many sales Dripcel refused, kept in the rejected
	// table.
	Rejected int
	// Holder names the instance that holds the lease (see WithInstance),
	// or is "" when none does.
	Holder string
	// Term is the holder's lease term, 0 with none. Each takeover starts
	// a new term; the rows a holder claims carry it, and only its
	// verdicts settle them.
	Term int64
	// LastError is why the oldest queued sale was last put back unsent
	// (an outage, a proxy's page, a lost lease), or "" when it has not
	// been.
	LastError string
}

// Stats reads the outbox's tables, in one statement, so the numbers agree
// with each other.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var oldestMS float64
	var holder, lastErr *string
	var term *int64
	err := o.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM `+o.outbox+`),
			coalesce((SELECT extract(epoch FROM now() - min(enqueued_at)) * 1000 FROM `+o.outbox+`), 0),
			(SELECT count(*) FROM `+o.rejected+`),
			(SELECT leader_id FROM `+o.lease+` WHERE name = $1 AND expires_at > now()),
			(SELECT term FROM `+o.lease+` WHERE name = $1 AND expires_at > now()),
			(SELECT last_error FROM `+o.outbox+` ORDER BY id LIMIT 1)`, leaseName).
		Scan(&st.Queued, &oldestMS, &st.Rejected, &holder, &term, &lastErr)
	if err != nil {
		return Stats{}, fmt.Errorf("dripcelpg: stats: %w", err)
	}
	st.Oldest = time.Duration(oldestMS * float64(time.Millisecond))
	if holder != nil {
		st.Holder = *holder
	}
	if term != nil {
		st.Term = *term
	}
	if lastErr != nil {
		st.LastError = *lastErr
	}
	return st, nil
}

// Oldest is how long the oldest sale in the outbox has waited since it was
// enqueued, on the database's clock, or 0 when the outbox is empty. It makes
// the Queue a dripcel.AgedQueue, so that every instance's Reporter can say
// how far behind delivery is, whoever holds the lease.
func (q *Queue) Oldest(ctx context.Context) (time.Duration, error) {
	var ms float64
	err := q.o.pool.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM now() - min(enqueued_at)) * 1000, 0) FROM `+q.o.outbox).Scan(&ms)
	if err != nil {
		return 0, fmt.Errorf("dripcelpg: oldest: %w", err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}
