package dripcelpg

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// leaseName is the key of the lease's single row.
const leaseName = "deliver"

// elector keeps, or tries to take, the outbox's lease. Times that decide
// who holds it are the database's (now()); the local monotonic clock only
// bounds how long this instance trusts a lease it could not renew.
type elector struct {
	o        *Outbox
	id       string
	ttl      time.Duration
	interval time.Duration

	mu         sync.Mutex
	term       int64         // 0 while not the holder
	trustUntil time.Time     // local: act as holder only before this
	lost       chan struct{} // closed when term is given up, for whatever reason
	elected    time.Time

	stop chan struct{}
	done chan struct{}
}

func newElector(o *Outbox) *elector {
	return &elector{
		o: o, id: o.cfg.id, ttl: o.cfg.ttl, interval: o.cfg.ttl / 5,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// holding returns the term this instance holds the lease for, or 0.
func (e *elector) holding() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.term != 0 && time.Now().Before(e.trustUntil) {
		return e.term
	}
	return 0
}

// holds reports whether this instance may still act as the holder of
// term: it is the term it holds, and its trust window has not ended. The
// window is read on the local monotonic clock at the moment of asking, so
// a process that was frozen past it knows at once, before any of its
// goroutines has had time to notice.
func (e *elector) holds(term int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return term != 0 && e.term == term && time.Now().Before(e.trustUntil)
}

// trustLeft is how long the trust window of term has left, 0 when term is
// not held.
func (e *elector) trustLeft(term int64) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if term == 0 || e.term != term {
		return 0
	}
	return max(0, time.Until(e.trustUntil))
}

// lostCh returns the channel closed when term is given up, or nil when
// term is not held.
func (e *elector) lostCh(term int64) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if term == 0 || e.term != term {
		return nil
	}
	return e.lost
}

// drop gives up the term held, telling every claim made under it. Caller
// holds mu.
func (e *elector) drop() {
	if e.term == 0 {
		return
	}
	e.term = 0
	close(e.lost)
}

// run tries to take the lease, or renews it, every interval (with a little
// jitter, so that a fleet started together does not ask in step). A holder
// also wakes when its trust window ends, so that its claims are cancelled
// then rather than at the next renewal.
func (e *elector) run() {
	defer close(e.done)
	for {
		e.step()
		wait := e.interval + rand.N(e.interval/5+1)
		if term := e.holding(); term != 0 {
			wait = min(e.interval, e.trustLeft(term))
		}
		t := time.NewTimer(wait)
		select {
		case <-e.stop:
			t.Stop()
			e.resign()
			return
		case <-t.C:
		}
	}
}

func (e *elector) step() {
	e.mu.Lock()
	term := e.term
	if term != 0 && !time.Now().Before(e.trustUntil) {
		// Renewals failed for too long: another instance may hold the
		// lease by now.
		e.o.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, "dripcelpg: stopped delivering: the lease could not be renewed in time",
			slog.Int64("term", term))
		e.drop()
		term = 0
	}
	timeout := e.interval
	if term != 0 {
		// A renewal that hangs must not keep the loop from noticing the
		// end of the trust window.
		timeout = max(min(timeout, time.Until(e.trustUntil)), time.Millisecond)
	}
	e.mu.Unlock()

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if term == 0 {
		e.elect(ctx, start)
		return
	}
	e.renew(ctx, start, term)
}

// elect takes the lease if nobody holds it or it has expired. One
// statement, so two candidates cannot both win.
func (e *elector) elect(ctx context.Context, start time.Time) {
	var term int64
	err := e.o.pool.QueryRow(ctx, `INSERT INTO `+e.o.lease+` AS l (name, leader_id, term, elected_at, expires_at)
		VALUES ($1, $2, nextval($4::regclass), now(), now() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET leader_id = excluded.leader_id, term = excluded.term,
			elected_at = excluded.elected_at, expires_at = excluded.expires_at
		WHERE l.expires_at < now()
		RETURNING term`, leaseName, e.id, e.ttl.Milliseconds(), e.o.term).Scan(&term)
	if errors.Is(err, pgx.ErrNoRows) {
		return // another instance holds it
	}
	if err != nil {
		e.o.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "dripcelpg: could not ask for the lease", slog.String("error", err.Error()))
		return
	}
	e.mu.Lock()
	e.term, e.trustUntil, e.elected = term, start.Add(e.ttl-e.interval), time.Now()
	e.lost = make(chan struct{})
	e.mu.Unlock()
	e.o.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "dripcelpg: delivering: took the lease",
		slog.String("instance", e.id), slog.Int64("term", term))
}

// renew extends the lease of term, which only its holder can do, and only
// before it expires: a holder that was paused past its expiry finds the
// lease gone (or another's) and stops.
func (e *elector) renew(ctx context.Context, start time.Time, term int64) {
	tag, err := e.o.pool.Exec(ctx, `UPDATE `+e.o.lease+` SET expires_at = now() + $3 * interval '1 millisecond'
		WHERE name = $1 AND term = $2 AND expires_at >= now()`, leaseName, term, e.ttl.Milliseconds())
	if err != nil {
		// Keep trying until the trust window ends; the lease may well
		// still be ours.
		e.o.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "dripcelpg: could not renew the lease", slog.String("error", err.Error()))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.term != term {
		return // given up meanwhile (the trust window ended, or a resignation)
	}
	if tag.RowsAffected() == 0 {
		e.drop()
		e.o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "dripcelpg: stopped delivering: the lease expired or was taken",
			slog.Int64("term", term))
		return
	}
	e.trustUntil = start.Add(e.ttl - e.interval)
}

// resign gives the lease up, so that another instance takes over at its
// next try instead of waiting for expiry. It uses a context of its own: a
// shutdown must not leave the lease held for a whole TTL.
func (e *elector) resign() {
	e.mu.Lock()
	term := e.term
	e.drop()
	e.mu.Unlock()
	if term == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := e.o.pool.Exec(ctx, `DELETE FROM `+e.o.lease+` WHERE name = $1 AND term = $2`, leaseName, term); err != nil {
		e.o.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "dripcelpg: could not resign the lease; it expires by itself",
			slog.String("error", err.Error()))
	}
}

func (e *elector) close() {
	close(e.stop)
	<-e.done
}
