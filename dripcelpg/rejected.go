package dripcelpg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
)

// RejectedSale is a sale Dripcel refused, as the rejected table keeps it:
// the sale, and Dripcel's answer.
type RejectedSale struct {
	// ID is the sale's row in the rejected table (its ID in the outbox).
	ID int64
	// Sale is the sale as enqueued, Ref included.
	Sale dripcel.Sale
	// Status is the HTTP status of Dripcel's refusal (404, 409, 400…), or
	// 0 when the sale was refused before it was sent (invalid under the
	// client's checks).
	Status int
	// Error is Dripcel's message ("Campaign not found"), or, for a sale
	// refused before it was sent, the client's reason.
	Error string
	// Attempts is how many times the sale was sent.
	Attempts int
	// Enqueued and Rejected are when the sale entered the outbox and when
	// Dripcel's refusal moved it to the rejected table.
	Enqueued, Rejected time.Time
}

// RejectedFilter chooses rejected sales. Its fields are combined: a sale
// must match each one that is set. The zero filter chooses every one.
type RejectedFilter struct {
	// IDs and Refs choose sales by their row ID or their Ref.
	IDs  []int64
	Refs []string
	// CampaignID, SendID and ClickID choose sales by their identifier.
	CampaignID, SendID, ClickID string
	// Message chooses sales whose refusal contains it, in any case
	// ("campaign not found").
	Message string
	// Status chooses sales refused with this HTTP status.
	Status int
	// OlderThan and NewerThan choose sales refused more, or less, than
	// this long ago.
	OlderThan, NewerThan time.Duration
	// Limit bounds how many sales Rejected returns, newest refusal first;
	// 0 means 100. RetryRejected and PurgeRejected take every match.
	Limit int
}

// ErrFilterChoosesAll is RetryRejected's and PurgeRejected's refusal of a
// filter that chooses every rejected sale (an empty one, or one of blank
// values): a mistake far more often than a wish.
var ErrFilterChoosesAll = errors.New("the filter chooses every rejected sale")

// where is the filter as SQL over the rejected table, with its arguments.
func (f RejectedFilter) where() (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.IDs) > 0 {
		conds = append(conds, "id = ANY("+arg(f.IDs)+")")
	}
	if len(f.Refs) > 0 {
		conds = append(conds, "ref = ANY("+arg(f.Refs)+")")
	}
	for _, c := range []struct{ col, v string }{
		{"campaign_id", f.CampaignID}, {"send_id", f.SendID}, {"click_id", f.ClickID},
	} {
		if c.v != "" {
			conds = append(conds, c.col+" = "+arg(c.v))
		}
	}
	if f.Message != "" {
		// strpos, not LIKE: a message holding % or _ is matched as written.
		conds = append(conds, "strpos(lower(error), lower("+arg(f.Message)+")) > 0")
	}
	if f.Status != 0 {
		conds = append(conds, "status = "+arg(f.Status))
	}
	if f.OlderThan > 0 {
		conds = append(conds, "rejected_at < now() - "+arg(f.OlderThan)+"::interval")
	}
	if f.NewerThan > 0 {
		conds = append(conds, "rejected_at >= now() - "+arg(f.NewerThan)+"::interval")
	}
	if len(conds) == 0 {
		return "true", args
	}
	return strings.Join(conds, " AND "), args
}

// Rejected returns the rejected sales f chooses, the newest refusal first,
// at most f.Limit (100 when 0) of them.
func (o *Outbox) Rejected(ctx context.Context, f RejectedFilter) ([]RejectedSale, error) {
	where, args := f.where()
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := o.pool.Query(ctx, `SELECT id, `+saleColumns+`, status, error, attempts, enqueued_at, rejected_at
		FROM `+o.rejected+` WHERE `+where+` ORDER BY rejected_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("dripcelpg: rejected: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RejectedSale, error) {
		var r RejectedSale
		var status, attempts int32
		sale, err := scanSaleColumns(row, &r.ID, []any{&status, &r.Error, &attempts, &r.Enqueued, &r.Rejected})
		r.Sale, r.Status, r.Attempts = sale, int(status), int(attempts)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("dripcelpg: rejected: %w", err)
	}
	return out, nil
}

// CountRejected returns how many rejected sales f chooses, f.Limit aside:
// what PurgeRejected or RetryRejected with f would take, to say so before
// doing it.
func (o *Outbox) CountRejected(ctx context.Context, f RejectedFilter) (int, error) {
	where, args := f.where()
	var n int64
	if err := o.pool.QueryRow(ctx, `SELECT count(*) FROM `+o.rejected+` WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("dripcelpg: count rejected: %w", err)
	}
	return int(n), nil
}

// RetryRejected moves the rejected sales f chooses back to the outbox, in
// one transaction, and returns how many it moved: for a sale refused for a
// reason since put right (its campaign created, say). Each goes to the back
// of the queue as a new row, with its attempts counted from 0. A filter
// choosing nothing moves nothing; to move every rejected sale, set a filter
// that matches them all, such as OlderThan of a nanosecond.
func (o *Outbox) RetryRejected(ctx context.Context, f RejectedFilter) (int, error) {
	where, args := f.where()
	if where == "true" {
		return 0, fmt.Errorf("dripcelpg: retry rejected: %w; say which to send again", ErrFilterChoosesAll)
	}
	tag, err := o.pool.Exec(ctx, `WITH moved AS (
			DELETE FROM `+o.rejected+` WHERE `+where+` RETURNING id, `+saleColumns+`)
		INSERT INTO `+o.outbox+` (`+saleColumns+`)
		SELECT `+saleColumns+` FROM moved ORDER BY id`, args...)
	if err != nil {
		return 0, fmt.Errorf("dripcelpg: retry rejected: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// PurgeRejected deletes the rejected sales f chooses, for good, and returns
// how many it deleted. As for RetryRejected, a filter choosing every sale
// is refused: keep the record of Dripcel's refusals unless told which to
// drop (OlderThan, typically).
func (o *Outbox) PurgeRejected(ctx context.Context, f RejectedFilter) (int, error) {
	where, args := f.where()
	if where == "true" {
		return 0, fmt.Errorf("dripcelpg: purge rejected: %w; say which to delete", ErrFilterChoosesAll)
	}
	tag, err := o.pool.Exec(ctx, `DELETE FROM `+o.rejected+` WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("dripcelpg: purge rejected: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
