package dripcelpg_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
)

// TestOutboxDrainsRowsWrittenBeforeTheIdentifierRule inserts rows as a
// version that required campaign_id wrote them, some with a send_id or a
// click_id beside it, and drains the outbox: each is sent by its
// campaign_id alone and stored, none moves to the rejected table, and the
// Reporter counts them. Enqueue itself now refuses such a sale.
func TestOutboxDrainsRowsWrittenBeforeTheIdentifierRule(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	c := client(t, srv.URL, srv.Key)
	o := newOutbox(t, pool, c, schema)
	ctx := context.Background()

	rows := [][3]string{{campaign, "send-1", ""}, {campaign, "", "click-2"}, {campaign, "send-3", "click-3"}, {campaign, "", ""}}
	for i, r := range rows {
		_, err := pool.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "dripcel_outbox"}.Sanitize()+
			` (campaign_id, send_id, click_id, cell, sold_at) VALUES ($1, $2, $3, $4, $5)`,
			r[0], r[1], r[2], cell(i), day)
		if err != nil {
			t.Fatal(err)
		}
	}
	bad := sale(9)
	bad.ClickID = "click-9"
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return o.Enqueue(ctx, tx, bad) })
	if !errors.Is(err, dripcel.ErrInvalidSale) {
		t.Fatalf("Enqueue of a sale naming campaign and click = %v; want ErrInvalidSale", err)
	}

	var rejected atomic.Int64
	r := deliverer(t, c, o, dripcel.WithOnRejected(func(dripcel.Sale, error) { rejected.Add(1) }))
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	stored := srv.Sales()
	if len(stored) != len(rows) {
		t.Fatalf("Dripcel stored %d sales, want %d", len(stored), len(rows))
	}
	for i, s := range stored {
		if s.CampaignID != campaign || s.SendID != "" || s.ClickID != "" {
			t.Errorf("stored sale %d = campaign %q send %q click %q; want the campaign alone", i, s.CampaignID, s.SendID, s.ClickID)
		}
	}
	if st := stats(t, o); st.Queued != 0 || st.Rejected != 0 {
		t.Errorf("outbox: %d queued, %d rejected; want 0, 0", st.Queued, st.Rejected)
	}
	if n := rejected.Load(); n != 0 {
		t.Errorf("%d sales handed to OnRejected", n)
	}
	if st := r.Stats(); st.Legacy != 3 {
		t.Errorf("Stats().Legacy = %d, want 3", st.Legacy)
	}
}
