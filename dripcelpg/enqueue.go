package dripcelpg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
)

// rowsPerInsert bounds one INSERT: 9 parameters a sale stays far below
// PostgreSQL's 65,535.
const rowsPerInsert = 1000

// Enqueue puts sales in the outbox inside the caller's transaction tx: they
// are delivered if and only if tx commits, and are invisible to the
// delivering instance until then. Each sale is first checked with the
// client's own rules (dripcel.Client.Validate); if any is invalid nothing
// is inserted and the error, matching dripcel.ErrInvalidSale, names it.
//
// Set Ref to the order's own ID: it stays with the sale, comes back with
// a refusal and is never sent to Dripcel. A zero SoldAt is set to now, so
// that a sale sent late, or again, keeps its date (and so Dripcel's
// duplicate check).
func (o *Outbox) Enqueue(ctx context.Context, tx pgx.Tx, sales ...dripcel.Sale) error {
	if tx == nil {
		return errors.New("dripcelpg: enqueue: nil transaction")
	}
	return o.insert(sales, func(query string, args []any) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	})
}

// EnqueueSQL is Enqueue for database/sql users: tx may come from any
// PostgreSQL driver (pgx's stdlib, lib/pq).
func (o *Outbox) EnqueueSQL(ctx context.Context, tx *sql.Tx, sales ...dripcel.Sale) error {
	if tx == nil {
		return errors.New("dripcelpg: enqueue: nil transaction")
	}
	return o.insert(sales, func(query string, args []any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// insert validates sales and runs exec on the INSERTs that keep them.
func (o *Outbox) insert(sales []dripcel.Sale, exec func(string, []any) error) error {
	if o.client == nil {
		return errors.New("dripcelpg: enqueue: the outbox was made without a client, to look after it only; give New the client whose checks apply")
	}
	for i, s := range sales {
		if err := o.client.Validate(s); err != nil {
			return fmt.Errorf("dripcelpg: enqueue: sale %d: %w", i, err)
		}
	}
	now := time.Now().Round(0)
	for start := 0; start < len(sales); start += rowsPerInsert {
		chunk := sales[start:min(start+rowsPerInsert, len(sales))]
		var b strings.Builder
		b.WriteString("INSERT INTO " + o.outbox + " (" + saleColumns + ") VALUES ")
		args := make([]any, 0, 8*len(chunk))
		for i, s := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j := range 8 {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(len(args)+j+1))
			}
			b.WriteString(")")
			soldAt := s.SoldAt
			if soldAt.IsZero() {
				// Dripcel would take the time it receives the sale, which
				// may be another day after an outage.
				soldAt = now
			}
			_, offset := soldAt.Zone()
			var value any
			if s.SaleValue != nil {
				value = *s.SaleValue
			}
			args = append(args, s.Ref, s.CampaignID, s.SendID, s.ClickID, s.Cell, soldAt.UTC(), offset, value)
		}
		if err := exec(b.String(), args); err != nil {
			return fmt.Errorf("dripcelpg: enqueue: %w", err)
		}
	}
	return nil
}
