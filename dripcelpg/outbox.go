// Package dripcelpg is a transactional outbox for the dripcel Reporter on
// PostgreSQL (pgx v5): a sale is reported if and only if the transaction
// that records its order commits, and one instance of a fleet at a time
// delivers the outbox to Dripcel, at its budget.
//
//	outbox, err := dripcelpg.New(pool, client)
//	err = outbox.Migrate(ctx)                  // once, at start
//
//	// In the checkout, in the order's own transaction:
//	tx, _ := pool.Begin(ctx)
//	... insert the order ...
//	err = outbox.Enqueue(ctx, tx, dripcel.Sale{..., Ref: orderID})
//	err = tx.Commit(ctx)
//
//	// On every instance; one of them delivers at a time:
//	reporter, err := dripcel.NewReporter(client, dripcel.WithQueue(outbox.Queue()))
//
// A sale leaves the outbox only on Dripcel's own verdict. Sales Dripcel
// refuses are moved, with its answer, to the rejected table (and handed to
// the Reporter's OnRejected), where they stay until someone sends them
// again (RetryRejected) or deletes them (PurgeRejected). Anything else (an
// outage, a proxy's page, a 401) leaves them in the outbox.
//
// To look after it: Stats, Rejected, RetryRejected and PurgeRejected;
// StatusHandler, a page to mount in a service's admin; and the command
// `dripcel outbox`. Ledger keeps what Dripcel confirmed in one table for a
// whole fleet (see dripcel.WithLedger).
//
// Which instance delivers is decided by a lease row with a term, renewed by
// the holder on the database's clock: when the holder dies (SIGKILL, a cut
// connection), another takes over once the lease has expired, within
// LeaseTTL plus one renew interval (6 s with the defaults). A holder that
// loses the lease while it sends (frozen, cut off) stops within one
// request: a claim is sent with a context that ends when the lease is lost
// (see dripcel.LeasedQueue), and is no larger than the client's budget
// sends within the lease. Results are recorded only on rows still claimed
// under the term that claimed them, so a stale holder never overwrites the
// new one's; recording them is retried while the lease is held. No session
// advisory lock is used, so the outbox works behind PgBouncer in
// transaction mode (give such a pool a query mode PgBouncer accepts, as
// pgx documents, e.g. pgx.QueryExecModeExec); no transaction is held
// across a request to Dripcel or a wait for the rate budget.
//
// Of the library's packages, only this one imports pgx.
package dripcelpg

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults of an Outbox; each can be changed with an Option.
const (
	// DefaultTable is the outbox table's name; the others are named after it.
	DefaultTable = "dripcel_outbox"
	// DefaultLeaseTTL is how long a delivering instance's lease lasts
	// without renewal. It is renewed every fifth of it, so a holder that
	// misses three renewals in a row (a slow database) keeps it, and a dead
	// holder is replaced within LeaseTTL plus a renew interval.
	DefaultLeaseTTL = 5 * time.Second
)

// Outbox is the set of tables one stream of sales goes through: the outbox
// itself, the rejected table and the lease. Two Outboxes with different
// table names (or schemas) in one database never see each other's sales.
// It is safe for concurrent use.
type Outbox struct {
	pool   *pgxpool.Pool
	client *dripcel.Client
	cfg    config

	// Quoted, schema-qualified names.
	outbox, rejected, lease, term string
}

type config struct {
	schema, table string
	ttl           time.Duration
	logger        *slog.Logger
	id            string
}

// Option configures an Outbox in New.
type Option func(*config) error

// plainName reports whether name is a letter or underscore followed by
// letters, digits and underscores, 40 at most: with its suffixes it stays
// within PostgreSQL's 63 bytes, and needs no care in a log line.
func plainName(name string) bool {
	if name == "" || len(name) > 40 || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, r := range name {
		if !plainRune(r) {
			return false
		}
	}
	return true
}

// plainRune reports whether r is an ASCII letter, digit or underscore.
func plainRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// WithTable names the outbox table (default "dripcel_outbox"); the others
// are named after it: <table>_rejected, <table>_lease and the sequence
// <table>_term. Letters, digits and underscores, at most 40.
func WithTable(name string) Option {
	return func(c *config) error {
		if !plainName(name) {
			return fmt.Errorf("dripcelpg: WithTable: %q is not a plain name (letters, digits, _; at most 40)", name)
		}
		c.table = name
		return nil
	}
}

// WithSchema puts the tables in schema, which must exist. Without it they
// go where the connection's search_path puts new tables.
func WithSchema(schema string) Option {
	return func(c *config) error {
		if schema == "" {
			return errors.New("dripcelpg: WithSchema: empty schema")
		}
		c.schema = schema
		return nil
	}
}

// WithLeaseTTL sets how long the delivering instance's lease lasts without
// renewal (default 5 s; at least 500 ms). A shorter lease means a quicker
// takeover when the holder dies, and more writes to the lease row.
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 500*time.Millisecond {
			return fmt.Errorf("dripcelpg: WithLeaseTTL: %s is below 500ms", d)
		}
		c.ttl = d
		return nil
	}
}

// WithLogger logs the lease changing hands and failing renewals (silent
// by default).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithInstance names this instance in the lease (default host:pid), so an
// operator can see which one delivers.
func WithInstance(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("dripcelpg: WithInstance: empty name")
		}
		c.id = name
		return nil
	}
}

// New returns the Outbox on pool. client's checks (WithCellRegion
// included) are applied to every sale enqueued. New does no I/O: call
// Migrate to create the tables.
//
// client may be nil for an Outbox that is only looked after, not written
// to: Stats, Rejected, RetryRejected, PurgeRejected and StatusHandler work,
// and Enqueue returns an error.
func New(pool *pgxpool.Pool, client *dripcel.Client, opts ...Option) (*Outbox, error) {
	if pool == nil {
		return nil, errors.New("dripcelpg: New: nil pool")
	}
	host, _ := os.Hostname()
	cfg := config{table: DefaultTable, ttl: DefaultLeaseTTL, id: fmt.Sprintf("%s:%d", host, os.Getpid())}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	o := &Outbox{pool: pool, client: client, cfg: cfg}
	o.outbox = o.name("")
	o.rejected = o.name("_rejected")
	o.lease = o.name("_lease")
	o.term = o.name("_term")
	return o, nil
}

// name quotes the table's name with suffix, in the schema if one was set.
func (o *Outbox) name(suffix string) string {
	if o.cfg.schema == "" {
		return pgx.Identifier{o.cfg.table + suffix}.Sanitize()
	}
	return pgx.Identifier{o.cfg.schema, o.cfg.table + suffix}.Sanitize()
}

// String names the outbox table.
func (o *Outbox) String() string { return "the outbox " + o.outbox }
