package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/internal/testsvc"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { clitest.Main(m) }

var wantContains = clitest.WantContains

// db is a test's own schema in the test database, dropped when it ends.
type db struct {
	pool   *pgxpool.Pool
	schema string
	url    string
}

// testDB connects to PostgreSQL and gives the test a schema of its own,
// with an outbox migrated in it. Without PostgreSQL the test is skipped,
// or fails under DRIPCEL_REQUIRE_SERVICES=1 (as in CI).
func testDB(t *testing.T) *db {
	t.Helper()
	url := testsvc.DatabaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		testsvc.Missing(t, "PostgreSQL", url, testsvc.DatabaseURLEnv, err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "dripcel_outbox_cmd_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	d := &db{pool: pool, schema: schema, url: url}
	if err := d.outbox(t).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

// outbox is the test's outbox, without a client: for reading it.
func (d *db) outbox(t *testing.T) *dripcelpg.Outbox {
	t.Helper()
	o, err := dripcelpg.New(d.pool, nil, dripcelpg.WithSchema(d.schema))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// table is the schema-qualified name of the outbox's table with suffix.
func (d *db) table(suffix string) string {
	return pgx.Identifier{d.schema, dripcelpg.DefaultTable + suffix}.Sanitize()
}

func (d *db) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := d.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// refs are the Refs in a table of the outbox, in the order of their IDs.
func (d *db) refs(t *testing.T, suffix string) []string {
	t.Helper()
	rows, err := d.pool.Query(context.Background(), "SELECT ref FROM "+d.table(suffix)+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// refused is a row of the rejected table, written by SQL so that each test
// chooses its identifiers, answers and ages.
type refused struct {
	id                    int64
	ref                   string
	campaign, send, click string
	cell                  string
	soldAt                time.Time
	value                 *float64
	status                int
	message               string
	age                   time.Duration // how long ago Dripcel refused it
}

// addRejected writes rows into the rejected table, as the outbox's
// deliverer does when Dripcel refuses a sale.
func (d *db) addRejected(t *testing.T, rows ...refused) {
	t.Helper()
	for _, r := range rows {
		_, offset := r.soldAt.Zone()
		d.exec(t, `INSERT INTO `+d.table("_rejected")+` (id, ref, campaign_id, send_id, click_id, cell, sold_at, sold_at_offset,
				sale_value, enqueued_at, attempts, status, error, rejected_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() - $10::interval - interval '1 minute', 1, $11, $12, now() - $10::interval)`,
			r.id, r.ref, r.campaign, r.send, r.click, r.cell, r.soldAt, offset, r.value, r.age, r.status, r.message)
	}
}

// run runs "dripcel outbox" with args and --schema, DATABASE_URL naming
// the test database.
func (d *db) run(t *testing.T, args ...string) clitest.Result {
	t.Helper()
	return d.runIn(t, nil, args...)
}

func (d *db) runIn(t *testing.T, stdin io.Reader, args ...string) clitest.Result {
	t.Helper()
	args = append(append([]string{"outbox"}, args...), "--schema", d.schema)
	return clitest.Invocation{Args: args, Env: map[string]string{"DATABASE_URL": d.url}, Stdin: stdin}.Run(t)
}

// jsonRefs are the refs of rejected --format json's output, in its order.
func jsonRefs(t *testing.T, stdout string) []string {
	t.Helper()
	var sales []struct{ Ref string }
	if err := json.Unmarshal([]byte(stdout), &sales); err != nil {
		t.Fatalf("rejected --format json printed %q: %v", stdout, err)
	}
	refs := []string{}
	for _, s := range sales {
		refs = append(refs, s.Ref)
	}
	return refs
}

func value(v float64) *float64 { return &v }

// sast is South Africa's zone, in which the sales are made.
var sast = time.FixedZone("SAST", 2*60*60)

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
