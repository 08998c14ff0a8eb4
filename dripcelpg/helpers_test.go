package dripcelpg_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/dripcel-go/dripcel/internal/leaktest"
	"github.com/dripcel-go/dripcel/internal/testsvc"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) {
	if os.Getenv(chaosChildEnv) != "" {
		os.Exit(chaosChild())
	}
	leaktest.Main(m)
}

const campaign = "camp-1"

var day = time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)

// databaseURL is where the tests find PostgreSQL.
func databaseURL() string { return testsvc.DatabaseURL() }

// testSchema connects to PostgreSQL and gives the test a schema of its own,
// dropped when it ends. Without PostgreSQL the test is skipped, or fails
// under DRIPCEL_REQUIRE_SERVICES=1 (as in CI).
func testSchema(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, databaseURL())
	if err != nil {
		testsvc.Missing(t, "PostgreSQL", databaseURL(), testsvc.DatabaseURLEnv, err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "dripcelpg_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, databaseURL())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	pool := newPool(t, databaseURL())
	return pool, schema
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func fakeDripcel(t *testing.T, opts ...dripceltest.Option) *dripceltest.Server {
	t.Helper()
	opts = append([]dripceltest.Option{dripceltest.WithCampaigns(
		dripceltest.Campaign{ID: campaign, Country: "ZA", DefaultSaleValue: 10})}, opts...)
	return dripceltest.NewServer(t, opts...)
}

func client(t testing.TB, url, key string, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	// A budget no test reaches: these tests are of the outbox, not of the
	// client's pacing to Dripcel's 50 requests a minute.
	opts = append([]dripcel.Option{dripcel.WithBaseURL(url), dripcel.WithRetryWait(time.Millisecond, 5*time.Millisecond),
		dripcel.WithRateLimit(1_000_000, time.Millisecond)}, opts...)
	c, err := dripcel.NewClient(key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newOutbox makes a migrated outbox in schema.
func newOutbox(t *testing.T, pool *pgxpool.Pool, c *dripcel.Client, schema string, opts ...dripcelpg.Option) *dripcelpg.Outbox {
	t.Helper()
	opts = append([]dripcelpg.Option{dripcelpg.WithSchema(schema), dripcelpg.WithLeaseTTL(time.Second)}, opts...)
	o, err := dripcelpg.New(pool, c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

// deliverer starts a Reporter delivering from o, closed when the test ends.
func deliverer(t *testing.T, c *dripcel.Client, o *dripcelpg.Outbox, opts ...dripcel.ReporterOption) *dripcel.Reporter {
	t.Helper()
	opts = append([]dripcel.ReporterOption{dripcel.WithQueue(o.Queue()), dripcel.WithFlushInterval(20 * time.Millisecond)}, opts...)
	r, err := dripcel.NewReporter(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Close(ctx)
	})
	return r
}

func sale(i int) dripcel.Sale {
	return dripcel.Sale{CampaignID: campaign, Cell: cell(i), SoldAt: day, Ref: fmt.Sprintf("order-%d", i)}
}

func cell(i int) string { return fmt.Sprintf("2782%07d", i) }

// enqueue commits sales in one transaction.
func enqueue(t *testing.T, pool *pgxpool.Pool, o *dripcelpg.Outbox, sales ...dripcel.Sale) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return o.Enqueue(ctx, tx, sales...) })
	if err != nil {
		t.Fatal(err)
	}
}

func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func stats(t *testing.T, o *dripcelpg.Outbox) dripcelpg.Stats {
	t.Helper()
	st, err := o.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func storedCells(srv *dripceltest.Server) map[string]int {
	n := map[string]int{}
	for _, s := range srv.Sales() {
		n[s.Cell]++
	}
	return n
}
