package dripcelpg_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/jackc/pgx/v5/pgxpool"
)

// claimAll claims up to max sales from q, failing the test if none come.
func claimAll(t *testing.T, q *dripcelpg.Queue, max int) (context.Context, []dripcel.QueuedSale) {
	t.Helper()
	ctx, batch, err := q.ClaimLeased(context.Background(), max)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) == 0 {
		t.Fatal("claimed nothing")
	}
	return ctx, batch
}

func verdict(qs dripcel.QueuedSale, f dripcel.Fate) dripcel.Verdict {
	v := dripcel.Verdict{QueuedSale: qs, Outcome: dripcel.Outcome{Fate: f}}
	if f == dripcel.Refused {
		v.Outcome.Err = errors.New("campaign not found")
	}
	return v
}

// byID picks the claimed sales with the given IDs.
func byID(batch []dripcel.QueuedSale, ids ...uint64) []dripcel.QueuedSale {
	var out []dripcel.QueuedSale
	for _, id := range ids {
		for _, qs := range batch {
			if qs.ID == id {
				out = append(out, qs)
			}
		}
	}
	return out
}

// count runs a count(*) query.
func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStaleHolderIsFenced checks issue 19's fencing. Instance A claims four
// sales and loses its lease (it expires in the database, as it would for a
// holder frozen past it); its claim's context ends with ErrLeaseLost. B
// takes over, claims sales 1 and 2, and records sale 1. A's late verdicts
// then arrive: refusals of sales 1 and 2 (which B recorded, or is sending)
// move nothing and change nothing, without an error; its verdict on sale
// 3, which nobody has claimed since, still settles it; and its Keep of
// sale 4 releases it, with the reason, which Stats shows. B's own verdict
// on sale 2 then settles it. SettleApplied names the verdicts that stood.
func TestStaleHolderIsFenced(t *testing.T) {
	pool, schema := testSchema(t)
	c := client(t, "http://127.0.0.1:1", "k")
	var logs logBuffer
	oa := newOutbox(t, pool, c, schema, dripcelpg.WithInstance("a"), dripcelpg.WithLogger(logs.logger()))
	ob := newOutbox(t, pool, c, schema, dripcelpg.WithInstance("b"))
	enqueue(t, pool, oa, sale(1), sale(2), sale(3), sale(4))
	ids := func(b []dripcel.QueuedSale) []uint64 {
		var out []uint64
		for _, s := range b {
			out = append(out, s.ID)
		}
		return out
	}

	qa := oa.Queue()
	t.Cleanup(func() { _ = qa.Close() })
	waitHolder(t, 10*time.Second, qa)
	ctxA, claimA := claimAll(t, qa, 10)
	if len(claimA) != 4 {
		t.Fatalf("A claimed %v, want 4 sales", ids(claimA))
	}
	first := claimA[0].ID
	if _, err := pool.Exec(context.Background(),
		"UPDATE "+schema+".dripcel_outbox_lease SET expires_at = now() - interval '1 millisecond'"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctxA.Done():
		if !errors.Is(context.Cause(ctxA), dripcel.ErrLeaseLost) {
			t.Errorf("A's claim ended with %v, want ErrLeaseLost", context.Cause(ctxA))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("A's claim context did not end when its lease was lost")
	}

	qb := ob.Queue()
	t.Cleanup(func() { _ = qb.Close() })
	waitHolder(t, 10*time.Second, qb)
	_, claimB := claimAll(t, qb, 2)
	if got := ids(claimB); len(got) != 2 || got[0] != first || got[1] != first+1 {
		t.Fatalf("B claimed %v, want the oldest two, %d and %d", got, first, first+1)
	}
	if err := qb.Settle(context.Background(), []dripcel.Verdict{verdict(claimB[0], dripcel.Recorded)}); err != nil {
		t.Fatal(err)
	}

	// A's late verdicts.
	late := []dripcel.Verdict{
		verdict(claimA[0], dripcel.Refused), verdict(claimA[1], dripcel.Refused), verdict(claimA[2], dripcel.Recorded),
	}
	applied, err := qa.SettleApplied(context.Background(), late)
	if err != nil {
		t.Fatalf("a stale holder's Settle = %v, want nil (its verdicts dropped)", err)
	}
	if len(applied) != 1 || applied[0] != first+2 {
		t.Errorf("A's late verdicts applied to %v, want sale 3 (%d) alone: a Reporter hands OnRejected only those", applied, first+2)
	}
	if err := qa.Keep(context.Background(), byID(claimA, first+3), errors.New("proxy page")); err != nil {
		t.Fatalf("a stale holder's Keep = %v, want nil", err)
	}
	if n := count(t, pool, "SELECT count(*) FROM "+schema+".dripcel_outbox_rejected"); n != 0 {
		t.Errorf("%d sales moved to the rejected table by a stale holder, want none", n)
	}
	var term *int64
	if err := pool.QueryRow(context.Background(), "SELECT claimed_term FROM "+schema+".dripcel_outbox WHERE id = $1",
		int64(first+1)).Scan(&term); err != nil {
		t.Fatalf("sale 2, which B is sending, is gone: %v", err)
	}
	if st := stats(t, ob); term == nil || *term != st.Term {
		t.Errorf("sale 2 claimed under term %v, want B's %d", term, st.Term)
	}
	if n := count(t, pool, "SELECT count(*) FROM "+schema+".dripcel_outbox WHERE id = $1", int64(first+2)); n != 0 {
		t.Error("A's verdict on sale 3, which nobody claimed since, did not settle it")
	}
	if !strings.Contains(logs.String(), "dropped verdicts") {
		t.Errorf("the dropped verdicts were not logged; logs:\n%s", logs.String())
	}

	if applied, err := qb.SettleApplied(context.Background(), []dripcel.Verdict{verdict(claimB[1], dripcel.Refused)}); err != nil ||
		len(applied) != 1 || applied[0] != first+1 {
		t.Fatalf("B's refusal of sale 2 applied to %v, %v; want %d", applied, err, first+1)
	}
	st := stats(t, ob)
	if st.Queued != 1 || st.Rejected != 1 || st.LastError != "proxy page" || st.Holder != "b" {
		t.Errorf("stats %+v; want sale 4 alone queued, kept by A with its reason, sale 2 rejected by B, b holding", st)
	}
}

// TestSettleRetriedAfterCutConnection checks that a Settle whose
// connection was cut between Dripcel's answer and the settle (here with
// pg_terminate_backend, the pool holding one connection) is tried again
// on a new connection while the lease is held, and settles the sales:
// they are not sent again.
func TestSettleRetriedAfterCutConnection(t *testing.T) {
	pool, schema := testSchema(t)
	cfg, err := pgxpool.ParseConfig(databaseURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.RuntimeParams["application_name"] = "dripcelpg-test-cut-" + schema[len(schema)-6:]
	own, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Close)
	c := client(t, "http://127.0.0.1:1", "k")
	var logs logBuffer
	// A long lease, so that no renewal comes between the cut and the
	// settle to find the dead connection first.
	o := newOutbox(t, own, c, schema, dripcelpg.WithLeaseTTL(5*time.Second), dripcelpg.WithLogger(logs.logger()))
	enqueue(t, pool, o, sale(1), sale(2), sale(3))
	q := o.Queue()
	t.Cleanup(func() { _ = q.Close() })
	waitHolder(t, 15*time.Second, q)
	_, batch := claimAll(t, q, 10)

	var cut int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
		FROM pg_stat_activity WHERE application_name = $1`, cfg.ConnConfig.RuntimeParams["application_name"]).Scan(&cut); err != nil {
		t.Fatal(err)
	}
	if cut == 0 {
		t.Fatal("no connection of the outbox's pool was found to cut")
	}
	var verdicts []dripcel.Verdict
	for _, qs := range batch {
		verdicts = append(verdicts, verdict(qs, dripcel.Recorded))
	}
	if err := q.Settle(context.Background(), verdicts); err != nil {
		t.Fatalf("Settle after a cut connection = %v, want nil", err)
	}
	if st := stats(t, o); st.Queued != 0 {
		t.Errorf("%d sales still queued after the settle, want none", st.Queued)
	}
	if !strings.Contains(logs.String(), "settle: will try again") {
		t.Errorf("the settle was not retried; logs:\n%s", logs.String())
	}
}

// logBuffer collects an outbox's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestSettleAcknowledgementLost: a settle whose COMMIT reached PostgreSQL
// but whose acknowledgement was lost is tried again; the second attempt
// finds the sales gone, and still reports them applied, so that a Reporter
// hands the refusals among them to OnRejected once rather than never.
func TestSettleAcknowledgementLost(t *testing.T) {
	pool, schema := testSchema(t)
	c := client(t, "http://127.0.0.1:1", "k")
	// A long lease: the retry is made only while it holds, and a loaded
	// machine must not make it lapse between the claim and the settle.
	o := newOutbox(t, pool, c, schema, dripcelpg.WithLeaseTTL(10*time.Second))
	enqueue(t, pool, o, sale(1), sale(2), sale(3))
	q := o.Queue()
	t.Cleanup(func() { _ = q.Close() })
	waitHolder(t, 10*time.Second, q)
	_, batch := claimAll(t, q, 10)
	if len(batch) != 3 {
		t.Fatalf("claimed %d sales, want 3", len(batch))
	}
	dripcelpg.LoseSettleAcknowledgement(q, 1)
	applied, err := q.SettleApplied(context.Background(), []dripcel.Verdict{
		verdict(batch[0], dripcel.Refused), verdict(batch[1], dripcel.Recorded), verdict(batch[2], dripcel.Refused),
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(applied)
	if want := []uint64{batch[0].ID, batch[1].ID, batch[2].ID}; !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v: the first attempt committed them", applied, want)
	}
	if st := stats(t, o); st.Queued != 0 || st.Rejected != 2 {
		t.Errorf("stats %+v; want nothing queued and the two refusals rejected", st)
	}
}
