package dripcelpg_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// rejectedOutbox is an outbox whose Dripcel refused sales 1 and 2 (an
// unknown campaign) and recorded sale 3.
func rejectedOutbox(t *testing.T) (*dripcelpg.Outbox, *dripceltest.Server, *pgxpool.Pool, string) {
	t.Helper()
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	c := client(t, srv.URL, srv.Key)
	o := newOutbox(t, pool, c, schema)
	lost := func(i int) dripcel.Sale {
		s := sale(i)
		s.CampaignID = "deleted-campaign"
		return s
	}
	enqueue(t, pool, o, lost(1), lost(2), sale(3))
	r := deliverer(t, c, o)
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, o); st.Queued != 0 || st.Rejected != 2 {
		t.Fatalf("outbox: %d queued, %d rejected; want 0, 2", st.Queued, st.Rejected)
	}
	return o, srv, pool, schema
}

// TestRejectedSalesListed: the rejected sales come back with Dripcel's
// answer, filtered by campaign, message, status, Ref and age.
func TestRejectedSalesListed(t *testing.T) {
	o, _, _, _ := rejectedOutbox(t)
	ctx := context.Background()
	all, err := o.Rejected(ctx, dripcelpg.RejectedFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d rejected sales, want 2", len(all))
	}
	for _, r := range all {
		if r.Status != 404 || r.Sale.CampaignID != "deleted-campaign" || r.Sale.Cell == "" ||
			!r.Sale.SoldAt.Equal(day) || r.Attempts != 1 || r.Rejected.IsZero() || r.Enqueued.IsZero() {
			t.Errorf("rejected sale %+v", r)
		}
	}
	refs := []string{all[0].Sale.Ref, all[1].Sale.Ref}
	slices.Sort(refs)
	if !slices.Equal(refs, []string{"order-1", "order-2"}) {
		t.Errorf("refs %v", refs)
	}
	for _, tt := range []struct {
		name string
		f    dripcelpg.RejectedFilter
		want int
	}{
		{"campaign", dripcelpg.RejectedFilter{CampaignID: "deleted-campaign"}, 2},
		{"other campaign", dripcelpg.RejectedFilter{CampaignID: campaign}, 0},
		{"message in any case", dripcelpg.RejectedFilter{Message: "CAMPAIGN NOT FOUND"}, 2},
		{"message with a wildcard", dripcelpg.RejectedFilter{Message: "campaign%found"}, 0},
		{"status", dripcelpg.RejectedFilter{Status: 404}, 2},
		{"ref", dripcelpg.RejectedFilter{Refs: []string{"order-2"}}, 1},
		{"id", dripcelpg.RejectedFilter{IDs: []int64{all[0].ID}}, 1},
		{"older than an hour", dripcelpg.RejectedFilter{OlderThan: time.Hour}, 0},
		{"newer than an hour", dripcelpg.RejectedFilter{NewerThan: time.Hour}, 2},
		{"limit", dripcelpg.RejectedFilter{Limit: 1}, 1},
	} {
		got, err := o.Rejected(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) != tt.want {
			t.Errorf("%s: %d sales, want %d", tt.name, len(got), tt.want)
		}
	}
}

// TestRetryRejected: a rejected sale moved back to the outbox, once its
// campaign exists, is delivered; the other stays rejected. A filter that
// chooses every sale is refused rather than taken as "all".
func TestRetryRejected(t *testing.T) {
	o, srv, _, _ := rejectedOutbox(t)
	ctx := context.Background()
	if _, err := o.RetryRejected(ctx, dripcelpg.RejectedFilter{}); err == nil {
		t.Error("RetryRejected with an empty filter moved sales back")
	}
	n, err := o.RetryRejected(ctx, dripcelpg.RejectedFilter{Refs: []string{"order-1"}})
	if err != nil || n != 1 {
		t.Fatalf("RetryRejected = %d, %v; want 1", n, err)
	}
	if st := stats(t, o); st.Queued != 1 || st.Rejected != 1 {
		t.Fatalf("after retry: %d queued, %d rejected; want 1, 1", st.Queued, st.Rejected)
	}
	srv.AddCampaign(dripceltest.Campaign{ID: "deleted-campaign", Country: "ZA"})
	c := client(t, srv.URL, srv.Key)
	r := deliverer(t, c, o)
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := storedCells(srv)[cell(1)]; got != 1 {
		t.Errorf("sale 1 stored %d times after the retry, want 1", got)
	}
	if st := stats(t, o); st.Queued != 0 || st.Rejected != 1 {
		t.Errorf("at the end: %d queued, %d rejected; want 0, 1", st.Queued, st.Rejected)
	}
}

// TestOutboxWithoutClient is looked after but not written to.
func TestOutboxWithoutClient(t *testing.T) {
	_, _, pool, schema := rejectedOutbox(t)
	admin, err := dripcelpg.New(pool, nil, dripcelpg.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if st := stats(t, admin); st.Rejected != 2 {
		t.Errorf("Stats without a client: %d rejected, want 2", st.Rejected)
	}
	err = pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return admin.Enqueue(context.Background(), tx, sale(9))
	})
	if err == nil || !strings.Contains(err.Error(), "without a client") {
		t.Errorf("Enqueue without a client = %v", err)
	}
}

// TestPurgeRejected deletes by age only what is old enough, as
// CountRejected counted beforehand.
func TestPurgeRejected(t *testing.T) {
	o, _, _, _ := rejectedOutbox(t)
	ctx := context.Background()
	if _, err := o.PurgeRejected(ctx, dripcelpg.RejectedFilter{}); err == nil {
		t.Error("PurgeRejected with an empty filter deleted sales")
	}
	for _, tt := range []struct {
		f    dripcelpg.RejectedFilter
		want int
	}{
		{dripcelpg.RejectedFilter{}, 2},
		{dripcelpg.RejectedFilter{Limit: 1}, 2}, // a count, not a page
		{dripcelpg.RejectedFilter{Refs: []string{"order-2"}}, 1},
		{dripcelpg.RejectedFilter{OlderThan: time.Hour}, 0},
		{dripcelpg.RejectedFilter{OlderThan: time.Nanosecond}, 2},
	} {
		if n, err := o.CountRejected(ctx, tt.f); err != nil || n != tt.want {
			t.Errorf("CountRejected(%+v) = %d, %v; want %d", tt.f, n, err, tt.want)
		}
	}
	if n, err := o.PurgeRejected(ctx, dripcelpg.RejectedFilter{OlderThan: time.Hour}); err != nil || n != 0 {
		t.Errorf("purge older than an hour = %d, %v; want 0", n, err)
	}
	if n, err := o.PurgeRejected(ctx, dripcelpg.RejectedFilter{OlderThan: time.Nanosecond}); err != nil || n != 2 {
		t.Errorf("purge older than a nanosecond = %d, %v; want 2", n, err)
	}
	if st := stats(t, o); st.Rejected != 0 {
		t.Errorf("%d rejected left", st.Rejected)
	}
}

// TestQueueOldest: the outbox's Queue says how long its oldest sale has
// waited, so a Reporter on any instance can report it.
func TestQueueOldest(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	o := newOutbox(t, pool, client(t, srv.URL, srv.Key), schema)
	q := o.Queue()
	defer func() { _ = q.Close() }()
	if d, err := q.Oldest(context.Background()); err != nil || d != 0 {
		t.Fatalf("empty outbox: Oldest = %v, %v", d, err)
	}
	enqueue(t, pool, o, sale(1))
	if _, err := pool.Exec(context.Background(), `UPDATE `+pgx.Identifier{schema, "dripcel_outbox"}.Sanitize()+
		` SET enqueued_at = now() - interval '90 seconds'`); err != nil {
		t.Fatal(err)
	}
	if d, err := q.Oldest(context.Background()); err != nil || d < 90*time.Second || d > 100*time.Second {
		t.Errorf("Oldest = %v, %v; want about 90s", d, err)
	}
	var _ dripcel.AgedQueue = q
}
