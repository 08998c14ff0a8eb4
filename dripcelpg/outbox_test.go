package dripcelpg_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// TestEnqueueOnlyWhatCommits checks the outbox's promise: a sale enqueued
// in a transaction that commits is delivered once, with either kind of
// transaction; one whose transaction rolls back is never sent; an invalid
// sale is refused before anything is inserted.
func TestEnqueueOnlyWhatCommits(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	c := client(t, srv.URL, srv.Key, dripcel.WithCellRegion("ZA"))
	o := newOutbox(t, pool, c, schema)
	ctx := context.Background()

	enqueue(t, pool, o, sale(1), sale(2))
	// Rolled back after the insert.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Enqueue(ctx, tx, sale(3)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// database/sql, through pgx's driver.
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.EnqueueSQL(ctx, sqlTx, sale(4)); err != nil {
		t.Fatal(err)
	}
	if err := sqlTx.Commit(); err != nil {
		t.Fatal(err)
	}
	rolledBack, err := db.BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.EnqueueSQL(ctx, rolledBack, sale(5)); err != nil {
		t.Fatal(err)
	}
	_ = rolledBack.Rollback()
	// Invalid: nothing of the call is inserted.
	bad := sale(6)
	bad.Cell = "12345"
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return o.Enqueue(ctx, tx, sale(7), bad) })
	if !errors.Is(err, dripcel.ErrInvalidSale) || !strings.Contains(err.Error(), "sale 1") {
		t.Fatalf("Enqueue of an invalid sale = %v; want ErrInvalidSale naming sale 1", err)
	}
	if st := stats(t, o); st.Queued != 3 {
		t.Fatalf("queued %d, want 3", st.Queued)
	}

	r := deliverer(t, c, o)
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	stored := storedCells(srv)
	if len(stored) != 3 || stored[cell(1)] != 1 || stored[cell(2)] != 1 || stored[cell(4)] != 1 {
		t.Errorf("stored %v; want sales 1, 2 and 4 once each", stored)
	}
	if st := stats(t, o); st.Queued != 0 || st.Rejected != 0 {
		t.Errorf("stats %+v; want an empty outbox", st)
	}
}

// TestRefusedSaleMovedWithItsAnswer checks that a sale Dripcel refuses
// leaves the outbox for the rejected table, with its Ref and Dripcel's
// answer, and is handed to OnRejected with its Ref.
func TestRefusedSaleMovedWithItsAnswer(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	c := client(t, srv.URL, srv.Key)
	o := newOutbox(t, pool, c, schema)
	bad := sale(2)
	bad.CampaignID = "no-such-campaign"
	enqueue(t, pool, o, sale(1), bad, sale(3))

	var mu sync.Mutex
	var refs []string
	r := deliverer(t, c, o, dripcel.WithOnRejected(func(s dripcel.Sale, err error) {
		mu.Lock()
		defer mu.Unlock()
		if errors.Is(err, dripcel.ErrCampaignNotFound) {
			refs = append(refs, s.Ref)
		}
	}))
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if !slices.Equal(refs, []string{"order-2"}) {
		t.Errorf("OnRejected saw %q, want [order-2] with ErrCampaignNotFound", refs)
	}
	mu.Unlock()
	var ref, answer, cellNo string
	var status int
	err := pool.QueryRow(context.Background(), "SELECT ref, status, error, cell FROM "+schema+".dripcel_outbox_rejected").
		Scan(&ref, &status, &answer, &cellNo)
	if err != nil {
		t.Fatal(err)
	}
	if ref != "order-2" || status != http.StatusNotFound || !strings.Contains(answer, "Campaign not found") || cellNo != cell(2) {
		t.Errorf("rejected row: ref %q, status %d, error %q, cell %q", ref, status, answer, cellNo)
	}
	if st := stats(t, o); st.Queued != 0 || st.Rejected != 1 {
		t.Errorf("stats %+v; want 0 queued, 1 rejected", st)
	}
	if n := len(srv.Sales()); n != 2 {
		t.Errorf("stored %d sales, want 2", n)
	}
}

// TestDripcelDownThenUp checks that an outage longer than the client's own
// retries loses nothing and rejects nothing: the sales wait in the outbox,
// counted, and go once Dripcel answers again.
func TestDripcelDownThenUp(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	srv.Fail(40, http.StatusServiceUnavailable)
	srv.Drop(10)
	c := client(t, srv.URL, srv.Key, dripcel.WithMaxRetries(1))
	o := newOutbox(t, pool, c, schema)
	var want []dripcel.Sale
	for i := range 50 {
		want = append(want, sale(i))
	}
	enqueue(t, pool, o, want...)
	var rejected sync.Map
	r := deliverer(t, c, o, dripcel.WithMaxBatch(10), dripcel.WithOnRejected(func(s dripcel.Sale, _ error) { rejected.Store(s.Ref, true) }))
	if err := r.Flush(within(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	stored := storedCells(srv)
	for i := range 50 {
		if stored[cell(i)] != 1 {
			t.Errorf("sale %d stored %d times", i, stored[cell(i)])
		}
	}
	st := r.Stats()
	rejected.Range(func(k, _ any) bool { t.Errorf("sale %v rejected", k); return true })
	if st.Retries == 0 || st.Rejected != 0 {
		t.Errorf("reporter stats %+v; want retries and no rejection", st)
	}
	if ps := stats(t, o); ps.Queued != 0 || ps.Rejected != 0 {
		t.Errorf("outbox stats %+v", ps)
	}
}

// TestProxyPageRemovesNothing checks that a front answering with its own
// HTML pages (a 404, a 200) neither removes nor rejects a sale: they stay
// in the outbox, and go once Dripcel itself answers.
func TestProxyPageRemovesNothing(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	c := client(t, srv.URL, srv.Key, dripcel.WithMaxRetries(0))
	o := newOutbox(t, pool, c, schema)
	for i := range 20 {
		enqueue(t, pool, o, sale(i))
	}
	srv.FailWithBody(6, http.StatusNotFound, "<html><body><h1>404 Not Found</h1>nginx</body></html>")
	srv.FailWithBody(3, http.StatusOK, "<html><body>Please log in</body></html>")
	var rejected sync.Map
	r := deliverer(t, c, o, dripcel.WithMaxBatch(5), dripcel.WithOnRejected(func(s dripcel.Sale, _ error) { rejected.Store(s.Ref, true) }))
	if err := r.Flush(within(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	rejected.Range(func(k, _ any) bool { t.Errorf("sale %v handed to OnRejected after a proxy page", k); return true })
	stored := storedCells(srv)
	for i := range 20 {
		if stored[cell(i)] != 1 {
			t.Errorf("sale %d stored %d times", i, stored[cell(i)])
		}
	}
	st := r.Stats()
	if st.NotFromDripcel == 0 || !errors.Is(st.LastNotFromDripcel, dripcel.ErrNotFromDripcel) {
		t.Errorf("stats %+v: want the proxy's answers counted", st)
	}
	if ps := stats(t, o); ps.Queued != 0 || ps.Rejected != 0 {
		t.Errorf("outbox stats %+v; want nothing queued or rejected", ps)
	}
}

// TestTwoOutboxesInOneDatabase checks that outboxes with their own tables
// never see each other's sales, leases or rejections.
func TestTwoOutboxesInOneDatabase(t *testing.T) {
	pool, schema := testSchema(t)
	srvA, srvB := fakeDripcel(t), fakeDripcel(t)
	cA, cB := client(t, srvA.URL, srvA.Key), client(t, srvB.URL, srvB.Key)
	a := newOutbox(t, pool, cA, schema, dripcelpg.WithTable("shop_a"))
	b := newOutbox(t, pool, cB, schema, dripcelpg.WithTable("shop_b"))
	enqueue(t, pool, a, sale(1), sale(2))
	enqueue(t, pool, b, sale(3))
	if sa, sb := stats(t, a), stats(t, b); sa.Queued != 2 || sb.Queued != 1 {
		t.Fatalf("queued %d and %d, want 2 and 1", sa.Queued, sb.Queued)
	}
	ra, rb := deliverer(t, cA, a), deliverer(t, cB, b)
	if err := ra.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rb.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := storedCells(srvA); len(got) != 2 || got[cell(1)] != 1 || got[cell(2)] != 1 {
		t.Errorf("outbox A delivered %v, want sales 1 and 2", got)
	}
	if got := storedCells(srvB); len(got) != 1 || got[cell(3)] != 1 {
		t.Errorf("outbox B delivered %v, want sale 3", got)
	}
	if sa, sb := stats(t, a), stats(t, b); sa.Holder == "" || sb.Holder == "" || sa.Term == sb.Term && sa.Holder != sb.Holder {
		t.Errorf("each outbox should have its own lease: %+v, %+v", sa, sb)
	}
}

// TestMigrateWithoutSuperuser checks that a role with only the CREATE
// privilege on its schema can migrate, twice and at once, and use the
// outbox.
func TestMigrateWithoutSuperuser(t *testing.T) {
	pool, schema := testSchema(t)
	ctx := context.Background()
	role := schema + "_app"
	for _, stmt := range []string{
		"CREATE ROLE " + role + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE",
		"GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role,
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = pool.Exec(ctx, "DROP OWNED BY "+role+" CASCADE")
		_, _ = pool.Exec(ctx, "DROP ROLE "+role)
	})
	cfg, err := pgxpool.ParseConfig(databaseURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.User = role
	appPool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(appPool.Close)
	srv := fakeDripcel(t)
	c := client(t, srv.URL, srv.Key)
	o, err := dripcelpg.New(appPool, c, dripcelpg.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() { errs <- o.Migrate(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Migrate as %s: %v", role, err)
		}
	}
	enqueue(t, appPool, o, sale(1))
	r := deliverer(t, c, o)
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Sales()); n != 1 {
		t.Errorf("stored %d, want 1", n)
	}
}

// TestUnauthorizedInstanceStepsDown checks that an instance whose key
// Dripcel refuses (401) gives the lease up instead of stopping the fleet:
// its sales stay in the outbox, and an instance with a good key delivers.
func TestUnauthorizedInstanceStepsDown(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	good := client(t, srv.URL, srv.Key)
	bad := client(t, srv.URL, "revoked-key")
	enqueue(t, pool, newOutbox(t, pool, good, schema), sale(1), sale(2))

	badOutbox := newOutbox(t, pool, bad, schema, dripcelpg.WithInstance("bad"))
	rb := deliverer(t, bad, badOutbox)
	if err := rb.Flush(within(t, 30*time.Second)); !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Fatalf("Flush with a revoked key = %v, want ErrUnauthorized", err)
	}
	if st := stats(t, badOutbox); st.Queued != 2 || st.Holder == "bad" {
		t.Fatalf("after the 401: %+v; want 2 queued and the lease given up", st)
	}
	rg := deliverer(t, good, newOutbox(t, pool, good, schema, dripcelpg.WithInstance("good")))
	if err := rg.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Sales()); n != 2 {
		t.Errorf("stored %d, want 2", n)
	}
}

// TestInvalidSaleDoesNotBlockTheOutbox checks that a sale one instance
// enqueued but the delivering instance's client will not send (its cell
// region differs) is moved to the rejected table with the reason, instead
// of blocking the sales behind it.
func TestInvalidSaleDoesNotBlockTheOutbox(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	lax := client(t, srv.URL, srv.Key)
	strict := client(t, srv.URL, srv.Key, dripcel.WithCellRegion("ZA"))
	odd := sale(1)
	odd.Cell = "12345" // the lax client lets it through; the strict one will not send it
	enqueue(t, pool, newOutbox(t, pool, lax, schema), odd, sale(2), sale(3))

	o := newOutbox(t, pool, strict, schema)
	r := deliverer(t, strict, o)
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := storedCells(srv); len(got) != 2 || got[cell(2)] != 1 || got[cell(3)] != 1 {
		t.Errorf("stored %v, want sales 2 and 3", got)
	}
	var ref, answer string
	if err := pool.QueryRow(context.Background(), "SELECT ref, error FROM "+schema+".dripcel_outbox_rejected").Scan(&ref, &answer); err != nil {
		t.Fatal(err)
	}
	if ref != "order-1" || !strings.Contains(answer, "not a valid ZA number") {
		t.Errorf("rejected %q: %q", ref, answer)
	}
}
