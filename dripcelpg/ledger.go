package dripcelpg

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultLedgerTable is the ledger table's name unless WithLedgerTable
// says otherwise.
const DefaultLedgerTable = "dripcel_ledger"

// Pruning of a Ledger: at most ledgerPruneBatch expired rows are deleted
// per Add, at most once per ledgerPruneEvery per Ledger value, so that no
// Add waits on a large delete.
const (
	ledgerPruneBatch = 10_000
	ledgerPruneEvery = time.Minute
)

// Ledger is a dripcel.Ledger in PostgreSQL: what Dripcel has confirmed,
// shared by every instance of a fleet (and every program) that reports
// sales for the same organisations, so that none of them pays Dripcel's
// budget again for what another already sent. Give it to each client with
// dripcel.WithLedger; a Reporter delivering an Outbox through such a client
// then settles the sales the ledger holds without a request.
//
// One table holds it: a row per sale (a 16-byte digest of the sale and of
// the organisation's scope, as dripcel.LedgerKey describes: no API key, no
// cell) and its soldAt date, by which rows expire after the retention
// (WithLedgerRetention, default dripcel.DefaultRetention). Has and Add each
// cost one round trip, however many keys. It is safe for concurrent use.
type Ledger struct {
	pool      *pgxpool.Pool
	table     string // quoted, schema-qualified
	index     string // the sold_on index's name, quoted (an index lives in its table's schema)
	retention time.Duration

	mu        sync.Mutex
	lastPrune time.Time
}

type ledgerConfig struct {
	schema, table string
	retention     time.Duration
}

// LedgerOption configures a Ledger in NewLedger.
type LedgerOption func(*ledgerConfig) error

// WithLedgerTable names the ledger table (default "dripcel_ledger").
// Letters, digits and underscores, at most 40.
func WithLedgerTable(name string) LedgerOption {
	return func(c *ledgerConfig) error {
		if !plainName(name) {
			return fmt.Errorf("dripcelpg: WithLedgerTable: %q is not a plain name (letters, digits, _; at most 40)", name)
		}
		c.table = name
		return nil
	}
}

// WithLedgerSchema puts the ledger table in schema, which must exist.
// Without it the table goes where the connection's search_path puts new
// tables.
func WithLedgerSchema(schema string) LedgerOption {
	return func(c *ledgerConfig) error {
		if schema == "" {
			return errors.New("dripcelpg: WithLedgerSchema: empty schema")
		}
		c.schema = schema
		return nil
	}
}

// WithLedgerRetention sets how long the ledger remembers a sale after its
// soldAt date, in whole days rounded up, counted on the database's clock
// (default dripcel.DefaultRetention). A sale dated before then is neither
// found nor written.
func WithLedgerRetention(d time.Duration) LedgerOption {
	return func(c *ledgerConfig) error {
		if d <= 0 {
			return fmt.Errorf("dripcelpg: WithLedgerRetention: %s is not positive", d)
		}
		c.retention = d
		return nil
	}
}

// NewLedger returns the Ledger on pool. It does no I/O: call Migrate to
// create its table.
func NewLedger(pool *pgxpool.Pool, opts ...LedgerOption) (*Ledger, error) {
	if pool == nil {
		return nil, errors.New("dripcelpg: NewLedger: nil pool")
	}
	cfg := ledgerConfig{table: DefaultLedgerTable, retention: dripcel.DefaultRetention}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	l := &Ledger{pool: pool, retention: cfg.retention, index: pgx.Identifier{cfg.table + "_sold_on"}.Sanitize()}
	if cfg.schema == "" {
		l.table = pgx.Identifier{cfg.table}.Sanitize()
	} else {
		l.table = pgx.Identifier{cfg.schema, cfg.table}.Sanitize()
	}
	return l, nil
}

// Migrate creates the ledger's table if it does not exist:
//
//	<t>  sum bytea PRIMARY KEY (the sale's digest), sold_on date (its
//	     soldAt date, by which it expires), added_at timestamptz
//
// It needs the CREATE privilege on the schema, and may be called by every
// instance at start: concurrent calls wait for each other.
func (l *Ledger) Migrate(ctx context.Context) error {
	// As Outbox.Migrate: one transaction holding a transaction-scoped
	// advisory lock (so it works through PgBouncer in transaction mode).
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("dripcelpg: ledger: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	h := fnv.New64a()
	_, _ = h.Write([]byte(l.table))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
		return fmt.Errorf("dripcelpg: ledger: migrate: %w", err)
	}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + l.table + ` (
			sum      bytea PRIMARY KEY,
			sold_on  date NOT NULL,
			added_at timestamptz NOT NULL DEFAULT now()
		)`,
		`CREATE INDEX IF NOT EXISTS ` + l.index + ` ON ` + l.table + ` (sold_on)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("dripcelpg: ledger: migrate: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("dripcelpg: ledger: migrate: %w", err)
	}
	return nil
}

// days is the retention in whole days, rounded up.
func (l *Ledger) days() int {
	return int((l.retention + 24*time.Hour - 1) / (24 * time.Hour))
}

// Has reports which keys the ledger holds, in one query. A key dated
// before the retention is never held.
func (l *Ledger) Has(ctx context.Context, keys []dripcel.LedgerKey) ([]bool, error) {
	held := make([]bool, len(keys))
	if len(keys) == 0 {
		return held, nil
	}
	sums := make([][]byte, len(keys))
	at := make(map[[16]byte][]int, len(keys))
	for i, k := range keys {
		sums[i] = k.Sum[:]
		at[k.Sum] = append(at[k.Sum], i)
	}
	rows, err := l.pool.Query(ctx, `SELECT sum FROM `+l.table+`
		WHERE sum = ANY($1) AND sold_on >= current_date - $2::int`, sums, l.days())
	if err != nil {
		return nil, fmt.Errorf("dripcelpg: ledger: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sum []byte
		if err := rows.Scan(&sum); err != nil {
			return nil, fmt.Errorf("dripcelpg: ledger: %w", err)
		}
		var k [16]byte
		copy(k[:], sum)
		for _, i := range at[k] {
			held[i] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dripcelpg: ledger: %w", err)
	}
	return held, nil
}

// Add remembers keys in one statement, leaving out those dated before the
// retention and those already held; now and then it also deletes a bounded
// number of expired rows.
func (l *Ledger) Add(ctx context.Context, keys []dripcel.LedgerKey) error {
	sums := make([][]byte, 0, len(keys))
	days := make([]time.Time, 0, len(keys))
	for _, k := range keys {
		d, err := date(k.Date)
		if err != nil {
			return err
		}
		sums = append(sums, k.Sum[:])
		days = append(days, d)
	}
	if len(sums) > 0 {
		if _, err := l.pool.Exec(ctx, `INSERT INTO `+l.table+` (sum, sold_on)
			SELECT s, d FROM unnest($1::bytea[], $2::date[]) AS k(s, d)
			WHERE d >= current_date - $3::int
			ON CONFLICT (sum) DO NOTHING`, sums, days, l.days()); err != nil {
			return fmt.Errorf("dripcelpg: ledger: %w", err)
		}
	}
	l.mu.Lock()
	prune := time.Since(l.lastPrune) >= ledgerPruneEvery
	if prune {
		l.lastPrune = time.Now()
	}
	l.mu.Unlock()
	if prune {
		// The keys are in: a failed prune must not read as a failed
		// write. It is housekeeping, tried again at the next Add.
		if _, err := l.Prune(ctx); err != nil {
			l.mu.Lock()
			l.lastPrune = time.Time{}
			l.mu.Unlock()
		}
	}
	return nil
}

// Prune deletes up to 10,000 rows dated before the retention and returns
// how many it deleted. Add calls it now and then; call it yourself to
// shrink a ledger no longer written to.
func (l *Ledger) Prune(ctx context.Context) (int, error) {
	tag, err := l.pool.Exec(ctx, `DELETE FROM `+l.table+` WHERE sum IN (
		SELECT sum FROM `+l.table+` WHERE sold_on < current_date - $1::int LIMIT $2)`, l.days(), ledgerPruneBatch)
	if err != nil {
		return 0, fmt.Errorf("dripcelpg: ledger: prune: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// String names the ledger table.
func (l *Ledger) String() string { return "the ledger " + l.table }

// date is a LedgerKey's yyyymmdd date as midnight UTC of that day.
func date(yyyymmdd int) (time.Time, error) {
	y, m, d := yyyymmdd/10000, yyyymmdd/100%100, yyyymmdd%100
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, fmt.Errorf("dripcelpg: ledger: %d is not a yyyymmdd date", yyyymmdd)
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}
