package outbox_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/jackc/pgx/v5"
)

// deliver runs a Reporter on o until the outbox is empty, then closes it,
// as a service's deliverer does.
func deliver(t *testing.T, c *dripcel.Client, o *dripcelpg.Outbox) {
	t.Helper()
	r, err := dripcel.NewReporter(c, dripcel.WithQueue(o.Queue()), dripcel.WithFlushInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStatusAndRetryOfRealRefusals: sales Dripcel refused (an unknown
// campaign), through a real Reporter and outbox, are counted by status,
// listed by rejected and moved back by retry; once their campaign exists,
// the outbox delivers the one moved back.
func TestStatusAndRetryOfRealRefusals(t *testing.T) {
	d := testDB(t)
	srv := dripceltest.NewServer(t, dripceltest.WithCampaigns(dripceltest.Campaign{ID: "c1", Country: "ZA"}))
	c, err := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithRateLimit(1_000_000, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	o, err := dripcelpg.New(d.pool, c, dripcelpg.WithSchema(d.schema))
	if err != nil {
		t.Fatal(err)
	}
	sold := time.Date(2025, 10, 14, 9, 2, 51, 0, sast)
	sale := func(ref, campaign, cell string) dripcel.Sale {
		return dripcel.Sale{CampaignID: campaign, Cell: cell, SoldAt: sold, SaleValue: dripcel.Value(99.5), Ref: ref}
	}
	enqueue := func(sales ...dripcel.Sale) {
		t.Helper()
		ctx := context.Background()
		if err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return o.Enqueue(ctx, tx, sales...) }); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(sale("order-1", "deleted-campaign", "27820000001"), sale("order-2", "deleted-campaign", "27820000002"),
		sale("order-3", "c1", "27820000003"))
	deliver(t, c, o)

	t.Run("empty queue", func(t *testing.T) {
		r := d.run(t, "status")
		r.WantCode(t, 0)
		want := "outbox      " + d.schema + ".dripcel_outbox\nqueued      0\noldest      none\nholder      none\nrejected    2\nlast error  none\n"
		if r.Stdout != want {
			t.Errorf("status:\n%s\nwant:\n%s", r.Stdout, want)
		}
	})

	// A sale waiting 4 minutes and put back after an outage, and an
	// instance holding the lease.
	enqueue(sale("order-4", "c1", "27820000004"))
	d.exec(t, `UPDATE `+d.table("")+` SET enqueued_at = now() - interval '252 seconds', last_error = '503 Service Unavailable'`)
	d.exec(t, `INSERT INTO `+d.table("_lease")+` (name, leader_id, term, elected_at, expires_at)
		VALUES ('deliver', 'checkout-7f9c:4312', 12, now(), now() + interval '1 hour')`)

	r := d.run(t, "status")
	r.WantCode(t, 0)
	if !regexp.MustCompile(`^outbox      \S+\.dripcel_outbox
queued      1
oldest      4m 1[2-9]s
holder      checkout-7f9c:4312, term 12
rejected    2
last error  503 Service Unavailable
$`).MatchString(r.Stdout) {
		t.Errorf("status:\n%s", r.Stdout)
	}
	r = d.run(t, "status", "--json")
	r.WantCode(t, 0)
	var st map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("status --json printed %q: %v", r.Stdout, err)
	}
	if sec, _ := st["oldest_seconds"].(float64); sec < 252 || sec > 300 {
		t.Errorf("oldest_seconds %v, want about 252", st["oldest_seconds"])
	}
	delete(st, "oldest_seconds")
	want := map[string]any{"outbox": d.schema + ".dripcel_outbox", "queued": 1.0, "holder": "checkout-7f9c:4312", "term": 12.0,
		"rejected": 2.0, "last_error": "503 Service Unavailable"}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("status --json: %s is %v, want %v", k, st[k], v)
		}
	}
	if len(st) != len(want) {
		t.Errorf("status --json: %v, want the keys of %v", st, want)
	}
	d.exec(t, `DELETE FROM `+d.table("")) // order-4: not this test's concern any more

	r = d.run(t, "rejected", "--format", "json")
	r.WantCode(t, 0)
	var listed []struct {
		Ref, SoldAt, Message string
		SaleValue            *float64
		Status, Attempts     int
	}
	if err := json.Unmarshal([]byte(r.Stdout), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 {
		t.Fatalf("rejected listed %d sales, want 2:\n%s", len(listed), r.Stdout)
	}
	for _, s := range listed {
		if s.Status != 404 || s.Message != "Campaign not found" || s.SoldAt != "2025-10-14 09:02:51" ||
			s.SaleValue == nil || *s.SaleValue != 99.5 || s.Attempts != 1 {
			t.Errorf("listed %+v", s)
		}
	}

	r = d.run(t, "retry", "--ref", "order-1")
	r.WantCode(t, 0)
	if r.Stdout != "moved 1 rejected sale back to the queue\n" {
		t.Errorf("retry printed %q", r.Stdout)
	}
	if got := d.refs(t, ""); !slices.Equal(got, []string{"order-1"}) {
		t.Errorf("the outbox holds %v, want order-1", got)
	}
	if got := d.refs(t, "_rejected"); !slices.Equal(got, []string{"order-2"}) {
		t.Errorf("the rejected table holds %v, want order-2", got)
	}
	r = d.run(t, "retry", "--ref", "order-1")
	r.WantCode(t, 1)
	wantContains(t, "stderr", r.Stderr, "no refused sale matches: nothing moved")

	// The campaign exists now: the sale moved back is delivered as it was
	// enqueued, the other is still refused.
	srv.AddCampaign(dripceltest.Campaign{ID: "deleted-campaign", Country: "ZA"})
	d.exec(t, `DELETE FROM `+d.table("_lease"))
	deliver(t, c, o)
	var got []string
	for _, s := range srv.Sales() {
		if s.CampaignID == "deleted-campaign" {
			got = append(got, s.Cell+" "+s.SoldAt)
		}
	}
	if !slices.Equal(got, []string{"27820000001 2025-10-14 09:02:51"}) {
		t.Errorf("Dripcel holds %v of the campaign, want the sale moved back", got)
	}
	r = d.run(t, "status", "--json")
	r.WantCode(t, 0)
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || st["queued"] != 0.0 || st["rejected"] != 1.0 {
		t.Errorf("status at the end: %s", r.Stdout)
	}
}
