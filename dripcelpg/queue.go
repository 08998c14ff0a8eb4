package dripcelpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// The last claim: the term each of its sales was claimed under, and
	// the release of its context. The Reporter settles a claim before it
	// claims again, so a verdict on a sale not in it is stale.
	claims  map[uint64]int64
	release func()

	// afterCommit, in tests, stands for a connection lost between a
	// settle's COMMIT and its acknowledgement: an error from it makes a
	// committed attempt look failed.
	afterCommit func() error
}

var (
	_ dripcel.LeasedQueue = (*Queue)(nil)
	_ dripcel.FencedQueue = (*Queue)(nil)
)

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
// another transaction has locked, records the term in each row it claims
// (so that only that term's verdicts settle them) and counts the attempt.
// A Reporter calls ClaimLeased instead.
func (q *Queue) Claim(ctx context.Context, max int) ([]dripcel.QueuedSale, error) {
	_, batch, err := q.ClaimLeased(ctx, max)
	return batch, err
}

// ClaimLeased is Claim, and returns with the sales the context to send
// them with: it ends, with cause dripcel.ErrLeaseLost, as soon as this
// instance may no longer hold the lease they were claimed under (see
// dripcel.LeasedQueue). It is released at the next claim or Close.
func (q *Queue) ClaimLeased(ctx context.Context, max int) (context.Context, []dripcel.QueuedSale, error) {
	q.mu.Lock()
	if !q.started && !q.closed {
		q.started = true
		go q.e.run()
	}
	if q.release != nil {
		q.release()
		q.release = nil
	}
	q.claims = nil
	q.mu.Unlock()
	term := q.e.holding()
	if term == 0 {
		return ctx, nil, nil
	}
	batch, err := q.claim(ctx, term, max)
	if err != nil || len(batch) == 0 {
		return ctx, nil, err
	}
	claimCtx, release := newClaimContext(ctx, q.e, term)
	claims := make(map[uint64]int64, len(batch))
	for _, s := range batch {
		claims[s.ID] = term
	}
	q.mu.Lock()
	closed := q.closed
	if !closed {
		q.claims, q.release = claims, release
	}
	q.mu.Unlock()
	if closed {
		release()
	}
	return claimCtx, batch, nil
}

// LeaseTerm is how long a holder relies on its lease without renewing it,
// its trust window: LeaseTTL less one renew interval (4 s with the
// defaults). A Reporter claims no more than its budget sends in that time.
func (q *Queue) LeaseTerm() time.Duration { return q.e.ttl - q.e.interval }

// claim is the claim's statement.
func (q *Queue) claim(ctx context.Context, term int64, max int) ([]dripcel.QueuedSale, error) {
	rows, err := q.o.pool.Query(ctx, `WITH picked AS (
			SELECT id FROM `+q.o.outbox+`
			WHERE EXISTS (SELECT 1 FROM `+q.o.lease+` WHERE name = $1 AND term = $2 AND expires_at > now())
			ORDER BY id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE `+q.o.outbox+` AS o SET attempts = o.attempts + 1, claimed_term = $2, claimed_at = now()
		FROM picked WHERE o.id = picked.id
		RETURNING o.id, `+saleColumnsOf("o")+`, o.attempts`, leaseName, term, max)
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

// termOf returns the term the last claim took id under, 0 when id is not
// in it.
func (q *Queue) termOf(id uint64) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.claims[id]
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
		qs    dripcel.QueuedSale
		id    int64
		tries int32
	)
	sale, err := scanSaleColumns(row, &id, []any{&tries})
	qs.ID, qs.Sale, qs.Attempts = uint64(id), sale, int(tries)
	return qs, err
}

// Settle deletes the sales Dripcel recorded (or already had), and moves the
// ones it refused, with its answer, to the rejected table, in one short
// transaction.
//
// It is fenced by the lease's term: a row is settled only while it is
// still claimed under the term that claimed it for this instance. A stale
// holder (one that lost the lease while it sent) thus never overwrites
// what the new holder has done since: a sale the new holder has claimed,
// recorded or moved is left alone, and the stale verdict is dropped,
// logged at debug, without an error. A row nobody has claimed since is
// still settled, even after the lease was lost: the verdict is Dripcel's,
// and dropping it would cost the next holder a resend that Dripcel refuses
// as a duplicate, which takes about one request a sale to settle.
//
// A statement that fails (a cut connection) is tried again, with backoff,
// for as long as this instance holds the lease; once it has lost it, the
// sales are left for the next holder, which sends them again, and Settle
// returns nil. Verdicts on sales not in the last claim are stale.
func (q *Queue) Settle(ctx context.Context, verdicts []dripcel.Verdict) error {
	_, err := q.SettleApplied(ctx, verdicts)
	return err
}

// SettleApplied is Settle, returning the IDs of the sales whose verdicts
// were applied: deleted, or moved to the rejected table. A verdict the
// fence dropped is not among them, so a Reporter hands a refusal to
// OnRejected only when this instance's verdict stood. An attempt that
// committed but whose acknowledgement was lost with its connection counts
// as applied: the attempt after it finds its sales gone.
func (q *Queue) SettleApplied(ctx context.Context, verdicts []dripcel.Verdict) ([]uint64, error) {
	if len(verdicts) == 0 {
		return nil, nil
	}
	var done, refused []int64
	var doneTerms, refusedTerms []int64
	var statuses []int32
	var answers []string
	stale := 0
	for _, v := range verdicts {
		term := q.termOf(v.ID)
		if term == 0 {
			stale++
			continue
		}
		if v.Outcome.Fate == dripcel.Refused {
			refused = append(refused, int64(v.ID))
			refusedTerms = append(refusedTerms, term)
			// Dripcel's own words ("Campaign not found") are what an
			// operator reads and filters by; the status is kept beside
			// them. A sale refused before it was sent keeps the reason.
			status, answer := 0, fmt.Sprint(v.Outcome.Err)
			var apiErr *dripcel.APIError
			if errors.As(v.Outcome.Err, &apiErr) {
				status = apiErr.StatusCode
				if apiErr.FromDripcel && apiErr.Message != "" {
					answer = apiErr.Message
				}
			}
			statuses = append(statuses, int32(status))
			answers = append(answers, answer)
			continue
		}
		done = append(done, int64(v.ID))
		doneTerms = append(doneTerms, term)
	}
	if len(done)+len(refused) == 0 {
		q.dropped(ctx, "settle", int64(stale), stale)
		return nil, nil
	}
	// Only a committed attempt's IDs count: retry returns nil, with
	// nothing applied, when the lease is lost after a failed one.
	var applied []uint64
	committed := false
	attempts := 0
	err := q.retry(ctx, firstTerm(doneTerms, refusedTerms), "settle", func(ctx context.Context) error {
		attempts++
		var ids []uint64
		err := pgx.BeginFunc(ctx, q.o.pool, func(tx pgx.Tx) error {
			if len(done) > 0 {
				rows, err := tx.Query(ctx, `DELETE FROM `+q.o.outbox+` AS o
					USING unnest($1::bigint[], $2::bigint[]) AS v(id, term)
					WHERE o.id = v.id AND o.claimed_term = v.term
					RETURNING o.id`, done, doneTerms)
				if err := collectIDs(rows, err, &ids); err != nil {
					return err
				}
			}
			if len(refused) > 0 {
				// The sales deleted are the ones applied, whether or not
				// the rejected table already held them.
				rows, err := tx.Query(ctx, `WITH moved AS (
						DELETE FROM `+q.o.outbox+` AS o
						USING unnest($1::bigint[], $4::bigint[]) AS v(id, term)
						WHERE o.id = v.id AND o.claimed_term = v.term
						RETURNING o.*),
					kept AS (
						INSERT INTO `+q.o.rejected+` (id, `+saleColumns+`, enqueued_at, attempts, status, error)
						SELECT m.id, `+saleColumnsOf("m")+`, m.enqueued_at, m.attempts, a.status, a.error
						FROM moved m JOIN unnest($1::bigint[], $2::integer[], $3::text[]) AS a(id, status, error) ON a.id = m.id
						ON CONFLICT (id) DO NOTHING)
					SELECT id FROM moved`, refused, statuses, answers, refusedTerms)
				if err := collectIDs(rows, err, &ids); err != nil {
					return err
				}
			}
			if attempts > 1 {
				// An earlier attempt may have committed unheard (its
				// acknowledgement lost with its connection): its sales
				// are gone from the outbox. No other instance can have
				// claimed them since, as retry tries again only while
				// this one holds the lease; so they were applied, and
				// their refusals stand.
				// Those this attempt deleted are gone too: the list
				// replaces its own.
				rows, err := tx.Query(ctx, `SELECT v.id FROM unnest($1::bigint[]) AS v(id)
					WHERE NOT EXISTS (SELECT 1 FROM `+q.o.outbox+` AS o WHERE o.id = v.id)`, slices.Concat(done, refused))
				ids = ids[:0]
				if err := collectIDs(rows, err, &ids); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && q.afterCommit != nil {
			err = q.afterCommit()
		}
		if err == nil {
			applied, committed = ids, true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dripcelpg: settle: %w", err)
	}
	if !committed {
		return nil, nil // the lease was lost first; retry said so
	}
	q.dropped(ctx, "settle", int64(len(verdicts)-len(applied)), stale)
	return applied, nil
}

// collectIDs appends the ids rows return to ids; err is the query's.
func collectIDs(rows pgx.Rows, err error, ids *[]uint64) error {
	if err != nil {
		return err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, id := range got {
		*ids = append(*ids, uint64(id))
	}
	return nil
}

// firstTerm is the term of a claim's verdicts: one claim has one term.
func firstTerm(lists ...[]int64) int64 {
	for _, l := range lists {
		if len(l) > 0 {
			return l[0]
		}
	}
	return 0
}

// dropped logs, at debug, verdicts a stale holder's fence dropped.
func (q *Queue) dropped(ctx context.Context, op string, n int64, notClaimed int) {
	if n <= 0 {
		return
	}
	q.o.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "dripcelpg: "+op+": dropped verdicts on sales no longer claimed under this instance's term",
		slog.String("instance", q.e.id), slog.Int64("sales", n), slog.Int("not_in_last_claim", notClaimed))
}

// retry runs f until it succeeds, with backoff, while this instance holds
// term (and ctx lasts); each attempt is bounded by what is left of the
// trust window, and at least one is made. When the lease is lost first it
// logs that the sales are left for the next holder and returns nil.
func (q *Queue) retry(ctx context.Context, term int64, op string, f func(context.Context) error) error {
	wait := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, max(q.e.trustLeft(term), q.e.interval))
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		left := q.e.trustLeft(term)
		if left <= 0 {
			q.o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "dripcelpg: "+op+": the lease was lost before the outbox could be updated; the next holder sends these sales again",
				slog.String("instance", q.e.id), slog.Int64("term", term), slog.Int("attempts", attempt),
				slog.String("error", err.Error()))
			return nil
		}
		q.o.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "dripcelpg: "+op+": will try again",
			slog.Int("attempt", attempt), slog.String("error", err.Error()))
		d := min(wait/2+rand.N(wait/2+1), left)
		wait = min(2*wait, q.e.interval)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// Keep releases the claim on sales that got no verdict and records why, so
// they are claimed again, first. It is fenced and retried as Settle is.
func (q *Queue) Keep(ctx context.Context, sales []dripcel.QueuedSale, cause error) error {
	if len(sales) == 0 {
		return nil
	}
	var ids, terms []int64
	stale := 0
	for _, s := range sales {
		term := q.termOf(s.ID)
		if term == 0 {
			stale++
			continue
		}
		ids = append(ids, int64(s.ID))
		terms = append(terms, term)
	}
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	if len(ids) == 0 {
		q.dropped(ctx, "keep", int64(stale), stale)
		return nil
	}
	var applied int64
	err := q.retry(ctx, firstTerm(terms), "keep", func(ctx context.Context) error {
		tag, err := q.o.pool.Exec(ctx, `UPDATE `+q.o.outbox+` AS o SET claimed_term = NULL, claimed_at = NULL, last_error = $3
			FROM unnest($1::bigint[], $2::bigint[]) AS v(id, term)
			WHERE o.id = v.id AND o.claimed_term = v.term`, ids, terms, msg)
		applied = tag.RowsAffected()
		return err
	})
	if errors.Is(cause, dripcel.ErrUnauthorized) {
		// The Reporter stops sending on a 401 or 403; holding the lease
		// would stop the whole fleet with it. Another instance, perhaps
		// with a good key, takes over.
		q.stepDown()
	}
	if err != nil {
		return fmt.Errorf("dripcelpg: keep: %w", err)
	}
	q.dropped(ctx, "keep", int64(len(sales))-applied, stale)
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
	q.mu.Lock()
	if q.release != nil {
		q.release()
		q.release = nil
	}
	q.mu.Unlock()
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
