package dripcelpg

import (
	"context"
	"fmt"
	"hash/fnv"
)

// Migrate creates the outbox's tables if they do not exist. It needs the
// CREATE privilege on the schema, not a superuser, and may be called by
// every instance at start: concurrent calls wait for each other.
//
// The tables, for <t> the outbox table's name:
//
//	<t>           sales waiting for Dripcel's verdict (id, ref, the sale,
//	              enqueued_at, attempts, claimed_term, claimed_at, last_error)
//	<t>_rejected  sales Dripcel refused, with its answer (status, error,
//	              rejected_at); never deleted by this package
//	<t>_lease     one row: which instance delivers, for which term, until when
//	<t>_term      the sequence that numbers lease terms
func (o *Outbox) Migrate(ctx context.Context) error {
	tx, err := o.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("dripcelpg: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// A transaction-scoped lock, released at commit, so it also works
	// through PgBouncer in transaction mode.
	h := fnv.New64a()
	_, _ = h.Write([]byte(o.outbox))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
		return fmt.Errorf("dripcelpg: migrate: %w", err)
	}
	for _, stmt := range []string{
		// Rows are deleted once settled, so the table churns: vacuum it
		// sooner than the default 20% of dead rows.
		`CREATE TABLE IF NOT EXISTS ` + o.outbox + ` (
			id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			ref            text NOT NULL DEFAULT '',
			campaign_id    text NOT NULL,
			send_id        text NOT NULL DEFAULT '',
			click_id       text NOT NULL DEFAULT '',
			cell           text NOT NULL,
			sold_at        timestamptz NOT NULL,
			sold_at_offset integer NOT NULL DEFAULT 0,
			sale_value     double precision,
			enqueued_at    timestamptz NOT NULL DEFAULT now(),
			attempts       integer NOT NULL DEFAULT 0,
			claimed_term   bigint,
			claimed_at     timestamptz,
			last_error     text
		) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 500)`,
		`CREATE TABLE IF NOT EXISTS ` + o.rejected + ` (
			id             bigint PRIMARY KEY,
			ref            text NOT NULL DEFAULT '',
			campaign_id    text NOT NULL,
			send_id        text NOT NULL DEFAULT '',
			click_id       text NOT NULL DEFAULT '',
			cell           text NOT NULL,
			sold_at        timestamptz NOT NULL,
			sold_at_offset integer NOT NULL DEFAULT 0,
			sale_value     double precision,
			enqueued_at    timestamptz NOT NULL,
			attempts       integer NOT NULL,
			status         integer NOT NULL,
			error          text NOT NULL,
			rejected_at    timestamptz NOT NULL DEFAULT now()
		)`,
		// Unlogged: after a database crash the lease is simply gone, and
		// the next instance to ask takes it.
		`CREATE UNLOGGED TABLE IF NOT EXISTS ` + o.lease + ` (
			name        text PRIMARY KEY,
			leader_id   text NOT NULL,
			term        bigint NOT NULL,
			elected_at  timestamptz NOT NULL,
			expires_at  timestamptz NOT NULL
		)`,
		`CREATE SEQUENCE IF NOT EXISTS ` + o.term,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("dripcelpg: migrate: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("dripcelpg: migrate: %w", err)
	}
	return nil
}
