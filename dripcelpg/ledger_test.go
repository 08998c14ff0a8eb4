package dripcelpg_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// today is a soldAt date within any retention.
func today() time.Time {
	y, m, d := time.Now().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func recentSale(i int) dripcel.Sale {
	s := sale(i)
	s.SoldAt = today()
	return s
}

func newLedger(t *testing.T, pool *pgxpool.Pool, schema string, opts ...dripcelpg.LedgerOption) *dripcelpg.Ledger {
	t.Helper()
	opts = append([]dripcelpg.LedgerOption{dripcelpg.WithLedgerSchema(schema)}, opts...)
	l, err := dripcelpg.NewLedger(pool, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}

func requestsDuring(srv *dripceltest.Server, fn func()) int {
	before := len(srv.Requests())
	fn()
	return len(srv.Requests()) - before
}

// Two instances of a fleet share one ledger: what one had confirmed, the
// other never sends. Migrate may run on both.
func TestLedgerSharedByAFleet(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	a := client(t, srv.URL, dripceltest.DefaultKey, dripcel.WithLedger(newLedger(t, pool, schema)))
	b := client(t, srv.URL, dripceltest.DefaultKey, dripcel.WithLedger(newLedger(t, pool, schema)))
	sales := make([]dripcel.Sale, 2000)
	for i := range sales {
		sales[i] = recentSale(i)
	}
	ctx := within(t, 30*time.Second)
	if err := a.UploadSales(ctx, sales[:1500]); err != nil {
		t.Fatal(err)
	}
	var err error
	n := requestsDuring(srv, func() { err = b.UploadSales(ctx, sales) })
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || ue.Count(dripcel.AlreadyRecorded) != 1500 || ue.Count(dripcel.Recorded) != 500 {
		t.Fatalf("err = %v, want 1500 known and 500 recorded", err)
	}
	for i, o := range ue.Outcomes() {
		if (i < 1500) != errors.Is(o.Err, dripcel.ErrKnownFromLedger) {
			t.Fatalf("sale %d: %v %v", i, o.Fate, o.Err)
		}
	}
	if n != 1 {
		t.Errorf("the second instance sent %d requests, want 1 (the 500 new sales)", n)
	}
	if n := requestsDuring(srv, func() { err = a.UploadSales(ctx, sales) }); n != 0 || !errors.Is(err, dripcel.ErrKnownFromLedger) {
		t.Errorf("all known: %d requests, %v", n, err)
	}
	if len(srv.Sales()) != len(sales) {
		t.Errorf("server holds %d sales, want %d", len(srv.Sales()), len(sales))
	}
}

// A Reporter delivering the outbox through a client with the ledger
// settles the sales the ledger holds without sending them, and records
// the others as Dripcel answers.
func TestLedgerWithOutbox(t *testing.T) {
	pool, schema := testSchema(t)
	srv := fakeDripcel(t)
	ledger := newLedger(t, pool, schema)
	c := client(t, srv.URL, dripceltest.DefaultKey, dripcel.WithLedger(ledger))
	ctx := within(t, 30*time.Second)
	var sales []dripcel.Sale
	for i := range 300 {
		sales = append(sales, recentSale(i))
	}
	if err := c.UploadSales(ctx, sales[:200]); err != nil {
		t.Fatal(err)
	}
	o := newOutbox(t, pool, c, schema)
	enqueue(t, pool, o, sales...)
	before := len(srv.Requests())
	r := deliverer(t, c, o)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Close stops the sender, so the counters include the last batch.
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Sent != 100 || st.Duplicates != 200 {
		t.Errorf("sent %d, duplicates %d; want 100 and 200", st.Sent, st.Duplicates)
	}
	for _, q := range srv.Requests()[before:] {
		if q.Sales != 100 {
			t.Errorf("a request of %d sales, want only the 100 unknown ones", q.Sales)
		}
	}
	keys := make([]dripcel.LedgerKey, len(sales))
	for i, s := range sales {
		keys[i], _ = c.LedgerKey(s)
	}
	held, err := ledger.Has(ctx, keys)
	if err != nil || slices.Contains(held, false) {
		t.Errorf("ledger holds %v, %v; want every sale", held, err)
	}
}

// Rows expire by soldAt date: a sale dated before the retention is neither
// written nor found, and expired rows are pruned.
func TestLedgerRetention(t *testing.T) {
	pool, schema := testSchema(t)
	ledger := newLedger(t, pool, schema, dripcelpg.WithLedgerRetention(30*24*time.Hour))
	srv := fakeDripcel(t)
	c := client(t, srv.URL, dripceltest.DefaultKey, dripcel.WithLedger(ledger))
	ctx := within(t, 30*time.Second)
	old, recent := sale(1), recentSale(2)
	old.SoldAt = today().AddDate(0, 0, -40)
	if err := c.UploadSales(ctx, []dripcel.Sale{old, recent}); err != nil {
		t.Fatal(err)
	}
	ko, _ := c.LedgerKey(old)
	kr, _ := c.LedgerKey(recent)
	held, err := ledger.Has(ctx, []dripcel.LedgerKey{ko, kr, kr})
	if err != nil || !slices.Equal(held, []bool{false, true, true}) {
		t.Fatalf("held %v, %v; want the recent sale only", held, err)
	}
	// A row written before the retention was shortened.
	if _, err := pool.Exec(ctx, `INSERT INTO `+schema+`.dripcel_ledger (sum, sold_on) VALUES ($1, $2)`, ko.Sum[:], old.SoldAt); err != nil {
		t.Fatal(err)
	}
	if n, err := ledger.Prune(ctx); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want 1", n, err)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.dripcel_ledger`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d rows, %v; want 1", rows, err)
	}
}

func TestLedgerOptions(t *testing.T) {
	for name, opt := range map[string]dripcelpg.LedgerOption{
		"table":     dripcelpg.WithLedgerTable("bad name"),
		"schema":    dripcelpg.WithLedgerSchema(""),
		"retention": dripcelpg.WithLedgerRetention(0),
	} {
		if _, err := dripcelpg.NewLedger(&pgxpool.Pool{}, opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := dripcelpg.NewLedger(nil); err == nil {
		t.Error("nil pool accepted")
	}
}
