package dripcelpg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The chaos test's scale. Dripcel's budget of ~50 requests a minute is
// scaled up 120 times (100 a second), and the lease shortened to 1 s, so
// that the run takes seconds, not hours; the counts keep the run under
// half a minute on a 2-core machine.
const (
	chaosProcs      = 4
	chaosPerProc    = 5000 // orders each process places; every 10th rolls back
	chaosKills      = 5
	chaosBatch      = 20 // sales per request, so the budget binds
	chaosPerMinute  = 6000
	chaosLeaseTTL   = time.Second
	chaosRollbackAt = 7 // seq%10 == 7 rolls back after the insert
)

const chaosChildEnv = "DRIPCELPG_CHAOS_CHILD"

// TestChaosFleet is issue 13's proof. Four OS processes (this test binary,
// run again) place orders, each in a transaction that writes the order and
// enqueues its sale, one in ten rolled back after the insert; all four run
// a Reporter on the outbox, so one of them delivers. Five times, at a
// random moment, the delivering process is killed with SIGKILL and
// replaced. A fake Dripcel holds the rate budget and the duplicate rule.
// Afterwards every committed order's sale is recorded exactly once, no
// rolled-back sale was ever sent, and each takeover is measured.
func TestChaosFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs OS processes for about half a minute")
	}
	pool, schema := testSchema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+schema+".orders (proc int, seq int, cell text, PRIMARY KEY (proc, seq))"); err != nil {
		t.Fatal(err)
	}
	srv := dripceltest.NewServer(t,
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: campaign, Country: "ZA"}),
		dripceltest.WithRateLimit(chaosPerMinute, 5))
	o := newOutbox(t, pool, client(t, srv.URL, srv.Key), schema, dripcelpg.WithLeaseTTL(chaosLeaseTTL))

	fleet := &chaosFleet{t: t, env: []string{
		chaosChildEnv + "=1", "CHAOS_URL=" + srv.URL, "CHAOS_KEY=" + srv.Key, "CHAOS_SCHEMA=" + schema,
		"DRIPCEL_TEST_DATABASE_URL=" + databaseURL(),
	}, procs: map[int]*exec.Cmd{}, ended: map[*exec.Cmd]chan struct{}{}}
	t.Cleanup(fleet.killAll)
	start := time.Now()
	for p := 1; p <= chaosProcs; p++ {
		fleet.start(p)
	}

	var takeovers []time.Duration
	for range chaosKills {
		holder := waitFor(t, 30*time.Second, func() (string, bool) {
			st := stats(t, o)
			return st.Holder, st.Holder != ""
		})
		time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond) // a random moment
		if st := stats(t, o); st.Holder != holder {
			holder = st.Holder // it changed hands meanwhile: kill the new one
		}
		proc, pid := parseInstance(t, holder)
		killed := time.Now()
		if !fleet.kill(proc, pid) {
			continue // gone already
		}
		fleet.start(proc)
		waitFor(t, 30*time.Second, func() (string, bool) {
			st := stats(t, o)
			return st.Holder, st.Holder != "" && st.Holder != holder
		})
		took := time.Since(killed)
		takeovers = append(takeovers, took)
		t.Logf("killed %s (SIGKILL); another process delivers after %s", holder, took.Round(time.Millisecond))
	}

	want := chaosProcs * (chaosPerProc - chaosPerProc/10)
	waitFor(t, 120*time.Second, func() (string, bool) {
		var orders int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".orders").Scan(&orders); err != nil {
			t.Fatal(err)
		}
		st := stats(t, o)
		return "", orders == want && st.Queued == 0
	})
	elapsed := time.Since(start)
	fleet.stopAll()

	committed := map[string]bool{}
	rows, err := pool.Query(ctx, "SELECT cell FROM "+schema+".orders")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		committed[c] = true
	}
	stored := storedCells(srv)
	for c := range committed {
		if stored[c] != 1 {
			t.Errorf("committed sale %s recorded %d times, want once", c, stored[c])
		}
	}
	for c := range stored {
		if !committed[c] {
			t.Errorf("sale %s was sent, but its order never committed", c)
		}
	}
	if st := stats(t, o); st.Rejected != 0 || st.Queued != 0 {
		t.Errorf("outbox %+v; want nothing queued or rejected", st)
	}
	reqs := srv.Requests()
	uploads, limited, sales := 0, 0, 0
	for _, r := range reqs {
		switch r.Status {
		case 429:
			limited++
		case 200, 409:
			uploads++
			sales += r.Sales
		}
	}
	longest := slices.Max(append(takeovers, 0))
	// The ceiling is the budget times the batch; the fleet places orders
	// more slowly than that, so delivery keeps up with them.
	t.Logf("chaos: budget %d requests/min × %d sales = ceiling %d sales/min; recorded %.0f sales/min over the run",
		chaosPerMinute, chaosBatch, chaosPerMinute*chaosBatch, float64(len(srv.Sales()))/time.Since(start).Minutes())
	t.Logf("chaos: %d processes × %d orders (%d rolled back), %d committed, %d recorded, %d kills; "+
		"takeovers %v, longest %s; %d requests answered (%d sales sent, %d resent), %d refused by the budget; %s in all",
		chaosProcs, chaosPerProc, chaosProcs*chaosPerProc/10, len(committed), len(srv.Sales()), len(takeovers),
		roundAll(takeovers), longest.Round(time.Millisecond), uploads, sales, sales-len(srv.Sales()), limited,
		elapsed.Round(time.Millisecond))
	if bound := chaosLeaseTTL + chaosLeaseTTL/5 + time.Second; longest > bound {
		t.Errorf("longest takeover %s, over the bound %s (lease %s + renew interval + 1 s)", longest, bound, chaosLeaseTTL)
	}
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// waitFor polls cond every 10 ms until it holds.
func waitFor(t *testing.T, limit time.Duration, cond func() (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if v, ok := cond(); ok {
			return v
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s", limit)
	return ""
}

func parseInstance(t *testing.T, name string) (proc, pid int) {
	t.Helper()
	if _, err := fmt.Sscanf(name, "proc%d-pid%d", &proc, &pid); err != nil {
		t.Fatalf("instance %q: %v", name, err)
	}
	return proc, pid
}

// chaosFleet runs the child processes.
type chaosFleet struct {
	t   *testing.T
	env []string

	mu    sync.Mutex
	procs map[int]*exec.Cmd
	ended map[*exec.Cmd]chan struct{} // closed once Wait returns
	waits sync.WaitGroup
}

func (f *chaosFleet) start(proc int) {
	f.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(f.env, "CHAOS_PROC="+strconv.Itoa(proc))...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	ended := make(chan struct{})
	f.mu.Lock()
	f.procs[proc] = cmd
	f.ended[cmd] = ended
	f.mu.Unlock()
	f.waits.Go(func() {
		defer close(ended)
		err := cmd.Wait()
		if err != nil && !strings.Contains(err.Error(), "killed") {
			f.t.Errorf("process %d (pid %d): %v\n%s", proc, cmd.Process.Pid, err, out.String())
		}
	})
}

// kill sends SIGKILL to proc if it is still pid, and waits for it to die.
func (f *chaosFleet) kill(proc, pid int) bool {
	f.mu.Lock()
	cmd := f.procs[proc]
	ended := f.ended[cmd]
	f.mu.Unlock()
	if cmd == nil || cmd.Process.Pid != pid {
		return false
	}
	_ = cmd.Process.Kill()
	<-ended
	return true
}

// stopAll asks every process to stop (SIGTERM) and waits.
func (f *chaosFleet) stopAll() {
	f.mu.Lock()
	for _, cmd := range f.procs {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	f.procs = map[int]*exec.Cmd{}
	f.mu.Unlock()
	f.waits.Wait()
}

func (f *chaosFleet) killAll() {
	f.mu.Lock()
	for _, cmd := range f.procs {
		_ = cmd.Process.Kill()
	}
	f.procs = map[int]*exec.Cmd{}
	f.mu.Unlock()
	f.waits.Wait()
}

// chaosChild is one process of the fleet: it places its orders from where
// its last incarnation stopped, and delivers when it holds the lease,
// until SIGTERM.
func chaosChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "chaos child:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	proc, _ := strconv.Atoi(os.Getenv("CHAOS_PROC"))
	schema := os.Getenv("CHAOS_SCHEMA")
	pool, err := pgxpool.New(context.Background(), databaseURL())
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	c, err := dripcel.NewClient(os.Getenv("CHAOS_KEY"), dripcel.WithBaseURL(os.Getenv("CHAOS_URL")),
		dripcel.WithRetryWait(10*time.Millisecond, 200*time.Millisecond),
		// One process delivers at a time, so its own pacing is the fleet's.
		dripcel.WithRateLimit(chaosPerMinute/60, time.Second))
	if err != nil {
		return fail(err)
	}
	o, err := dripcelpg.New(pool, c, dripcelpg.WithSchema(schema), dripcelpg.WithLeaseTTL(chaosLeaseTTL),
		dripcelpg.WithInstance(fmt.Sprintf("proc%d-pid%d", proc, os.Getpid())))
	if err != nil {
		return fail(err)
	}
	r, err := dripcel.NewReporter(c, dripcel.WithQueue(o.Queue()), dripcel.WithMaxBatch(chaosBatch),
		dripcel.WithFlushInterval(50*time.Millisecond))
	if err != nil {
		return fail(err)
	}
	defer func() { _ = r.Close(context.Background()) }()

	var next int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(seq) + 1, 0) FROM "+schema+".orders WHERE proc = $1", proc).Scan(&next); err != nil {
		return fail(err)
	}
	for seq := next; seq < chaosPerProc && ctx.Err() == nil; seq++ {
		cell := fmt.Sprintf("278%d%07d", proc, seq)
		tx, err := pool.Begin(ctx)
		if err != nil {
			return fail(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".orders (proc, seq, cell) VALUES ($1, $2, $3)", proc, seq, cell); err != nil {
			return fail(err)
		}
		s := dripcel.Sale{CampaignID: campaign, Cell: cell, SoldAt: day, Ref: fmt.Sprintf("p%d-%d", proc, seq)}
		if err := o.Enqueue(ctx, tx, s); err != nil {
			return fail(err)
		}
		if seq%10 == chaosRollbackAt {
			err = tx.Rollback(ctx)
		} else {
			err = tx.Commit(ctx)
		}
		if err != nil {
			return fail(err)
		}
	}
	<-ctx.Done()
	return 0
}
