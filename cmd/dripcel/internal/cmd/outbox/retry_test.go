package outbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// queuedSale is a row of the outbox as the deliverer reads it.
type queuedSale struct {
	Ref, CampaignID, SendID, ClickID, Cell string
	SoldAt                                 time.Time
	Offset                                 int32
	Value                                  *float64
	Attempts                               int32
}

func (d *db) queued(t *testing.T) []queuedSale {
	t.Helper()
	rows, err := d.pool.Query(context.Background(), `SELECT ref, campaign_id, send_id, click_id, cell, sold_at, sold_at_offset,
		sale_value, attempts FROM `+d.table("")+` ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	sales, err := pgx.CollectRows(rows, pgx.RowToStructByPos[queuedSale])
	if err != nil {
		t.Fatal(err)
	}
	return sales
}

// TestRetry: the chosen refused sales go back to the queue whole, and
// leave the rejected table; no filter is refused, --all takes them all.
func TestRetry(t *testing.T) {
	d := testDB(t)
	fourRefusals(t, d)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "retry needs a filter saying which refused sales to send again"},
		{[]string{"--all", "--campaign", "c-gone", "--ref", "A-2"}, "--all and --campaign and --ref given: --all moves every refused sale"},
		{[]string{"--older-than", "soon"}, `--older-than "soon" is not a duration`},
		{[]string{"A-1"}, "retry takes flags only"},
		{[]string{"--campaign", " "}, "the values given are blank; nothing was changed"},
	} {
		r := d.run(t, append([]string{"retry"}, tt.args...)...)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, tt.want)
	}
	if got := d.refs(t, "_rejected"); len(got) != 4 || len(d.queued(t)) != 0 {
		t.Fatalf("usage errors moved sales: %v rejected", got)
	}

	r := d.run(t, "retry", "--campaign", "c-gone")
	r.WantCode(t, 0)
	if r.Stdout != "moved 2 rejected sales back to the queue\n" {
		t.Errorf("retry printed %q", r.Stdout)
	}
	want := []queuedSale{
		{Ref: "A-1", CampaignID: "c-gone", Cell: "27631231234", SoldAt: time.Date(2025, 10, 14, 9, 2, 51, 0, sast), Offset: 7200, Value: value(199.99)},
		{Ref: "A-4", CampaignID: "c-gone", Cell: "2782", SoldAt: time.Date(2025, 10, 17, 0, 0, 0, 0, sast), Offset: 7200, Value: value(0)},
	}
	got := d.queued(t)
	if len(got) != len(want) {
		t.Fatalf("the outbox holds %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Ref != w.Ref || g.CampaignID != w.CampaignID || g.SendID != "" || g.ClickID != "" || g.Cell != w.Cell ||
			!g.SoldAt.Equal(w.SoldAt) || g.Offset != w.Offset || g.Value == nil || *g.Value != *w.Value || g.Attempts != 0 {
			t.Errorf("queued %+v, want %+v", g, w)
		}
	}
	if got := d.refs(t, "_rejected"); !slices.Equal(got, []string{"A-2", "A-3"}) {
		t.Errorf("the rejected table holds %v, want A-2, A-3", got)
	}

	r = d.run(t, "retry", "--id", "11")
	r.WantCode(t, 1)
	wantContains(t, "stderr", r.Stderr, "no refused sale matches: nothing moved")

	r = d.run(t, "retry", "--all")
	r.WantCode(t, 0)
	if r.Stdout != "moved 2 rejected sales back to the queue\n" {
		t.Errorf("retry --all printed %q", r.Stdout)
	}
	var refs []string
	for _, s := range d.queued(t) {
		refs = append(refs, s.Ref)
	}
	// They join the back of the queue in the order they were first
	// enqueued (their IDs), whatever the order of their refusals.
	if !slices.Equal(refs, []string{"A-1", "A-4", "A-2", "A-3"}) {
		t.Errorf("the outbox holds %v", refs)
	}
	r = d.run(t, "retry", "--all")
	r.WantCode(t, 1)
	r = d.run(t, "rejected")
	r.WantCode(t, 1)
}
