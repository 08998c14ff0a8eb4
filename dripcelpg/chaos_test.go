package dripcelpg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
// that the run takes seconds, not hours.
const (
	chaosProcs      = 3
	chaosKills      = 3
	chaosCuts       = 2               // connections cut once between Dripcel's answer and the settle
	chaosFreezes    = 2               // SIGSTOP of the holder mid-upload, SIGCONT later
	chaosFreezeFor  = 3 * time.Second // how long the holder stays frozen
	chaosBatch      = 20              // sales per request, so the budget binds
	chaosMaxBatch   = 100             // sales per claim: five requests, so a freeze comes mid-upload
	chaosBurst      = 1000            // orders placed at once before a freeze, so the holder has a backlog
	chaosPerMinute  = 6000
	chaosLeaseTTL   = time.Second
	chaosStorm      = 5 * chaosLeaseTTL / 2 // connections cut every 2 ms for 2.5 lease terms
	chaosStormEvery = 2 * time.Millisecond
	chaosRollbackAt = 7 // seq%10 == 7 rolls back after the insert
	chaosParentProc = chaosProcs + 1
	chaosOrderGap   = 5 * time.Millisecond // between a process's orders: about 150 a second each
)

const (
	chaosChildEnv  = "DRIPCELPG_CHAOS_CHILD"
	chaosHeader    = "X-Chaos-Instance"
	chaosStoppedAt = "dripcelpg: stopped delivering"
)

// TestChaosFleet is the proof of issues 13 and 19. Three OS processes (this
// test binary, run again) place orders, each in a transaction that writes
// the order and enqueues its sale, one in ten rolled back after the
// insert; all three run a Reporter on the outbox, so one of them delivers,
// to a fake Dripcel behind a proxy that records who sent what. Then, in
// turn:
//
//   - the holder is killed with SIGKILL at a random moment, and replaced;
//   - the holder's database connections are cut (pg_terminate_backend)
//     once, between Dripcel's answer and the settle: the settle is retried
//     and nothing Dripcel accepted is sent again;
//   - they are cut every 2 ms for 2.5 lease terms: the holder loses the
//     lease, another takes over, and the old one sends nothing after that;
//   - the holder is frozen (SIGSTOP) in the middle of an upload, another
//     takes over, and 3 s later it is resumed (SIGCONT): it sends at most
//     one request before it stops.
//
// Afterwards every committed order's sale is recorded exactly once and no
// rolled-back sale was ever sent. The test logs the takeover times, the
// requests stale holders sent, the sales sent again after Dripcel had
// accepted them and the duplicates Dripcel answered.
func TestChaosFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs OS processes for about half a minute")
	}
	pool, schema := testSchema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+schema+".orders (proc int, seq int, cell text, PRIMARY KEY (proc, seq))"); err != nil {
		t.Fatal(err)
	}
	fake := dripceltest.NewServer(t,
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: campaign, Country: "ZA"}),
		dripceltest.WithRateLimit(chaosPerMinute, 5))
	proxy := &chaosProxy{t: t, fake: fake, admin: pool}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	t.Cleanup(proxy.wait)
	o := newOutbox(t, pool, client(t, fake.URL, fake.Key), schema, dripcelpg.WithLeaseTTL(chaosLeaseTTL))

	stopFile := filepath.Join(t.TempDir(), "stop-ordering")
	fleet := &chaosFleet{t: t, env: []string{
		chaosChildEnv + "=1", "CHAOS_URL=" + front.URL, "CHAOS_KEY=" + fake.Key, "CHAOS_SCHEMA=" + schema,
		"CHAOS_STOP=" + stopFile, "DRIPCEL_TEST_DATABASE_URL=" + databaseURL(),
	}, procs: map[int]*exec.Cmd{}, ended: map[*exec.Cmd]chan struct{}{}, out: map[int]*syncBuffer{}}
	t.Cleanup(fleet.killAll)
	proxy.freezer = fleet.freeze
	start := time.Now()
	for p := 1; p <= chaosProcs; p++ {
		fleet.start(p)
	}
	holderNow := func() string {
		return waitFor(t, 30*time.Second, func() (string, bool) {
			st := stats(t, o)
			return st.Holder, st.Holder != ""
		})
	}
	takenFrom := func(old string) string {
		return waitFor(t, 30*time.Second, func() (string, bool) {
			st := stats(t, o)
			return st.Holder, st.Holder != "" && st.Holder != old
		})
	}
	var f chaosFigures
	bound := chaosLeaseTTL + chaosLeaseTTL/5 + time.Second

	// SIGKILL at a random moment.
	for range chaosKills {
		holder := holderNow()
		time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond) // a random moment
		if st := stats(t, o); st.Holder != holder && st.Holder != "" {
			holder = st.Holder // it changed hands meanwhile: kill the new one
		}
		proc, pid := parseInstance(t, holder)
		killed := time.Now()
		if !fleet.kill(proc, pid) {
			continue // gone already
		}
		fleet.start(proc)
		takenFrom(holder)
		f.kills = append(f.kills, time.Since(killed))
		t.Logf("killed %s (SIGKILL); another process delivers after %s", holder, time.Since(killed).Round(time.Millisecond))
	}

	// Connections cut once, between Dripcel's answer and the settle.
	for range chaosCuts {
		holder := holderNow()
		cells := await(t, proxy.arm(func(a *chaosArm) { a.cut = holder }))
		proxy.progress(t, holder, time.Now(), 10)
		f.cutCells = append(f.cutCells, cells...)
		t.Logf("cut %s's connections once after Dripcel accepted %d of its sales", holder, len(cells))
	}

	// Connections cut every 2 ms for 2.5 lease terms: the lease is lost,
	// unless a renewal slips through on a new connection between two cuts.
	{
		holder := holderNow()
		await(t, proxy.arm(func(a *chaosArm) { a.cut, a.storm = holder, true }))
		began := time.Now()
		next := waitFor(t, 30*time.Second, func() (string, bool) {
			st := stats(t, o)
			if st.Holder != "" && st.Holder != holder {
				return st.Holder, true
			}
			return "", proxy.stormOver()
		})
		tookOver := time.Now()
		proxy.waitStorm()
		if next == "" {
			t.Logf("cut %s's connections every %s for %s: it kept the lease (a renewal got through)", holder, chaosStormEvery, chaosStorm)
		} else {
			f.storms = append(f.storms, tookOver.Sub(began))
			proxy.progress(t, next, time.Now(), 20)
			stale := proxy.sentBy(holder, tookOver, time.Now())
			f.staleAfterStorm = append(f.staleAfterStorm, stale)
			t.Logf("cut %s's connections every %s for %s: %s delivers after %s; %s sent %d requests after that",
				holder, chaosStormEvery, chaosStorm, next, tookOver.Sub(began).Round(time.Millisecond), holder, stale)
			if stale > 1 {
				t.Errorf("%s sent %d requests after %s took the lease over, want at most 1 (one in flight)", holder, stale, next)
			}
		}
	}

	// The database stops answering the holder's renewals (the lease row is
	// locked): it must stop sending once its trust window ends, within a
	// lease term, though nobody can take over until the lock goes.
	{
		holder := holderNow()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT 1 FROM "+schema+".dripcel_outbox_lease FOR UPDATE"); err != nil {
			t.Fatal(err)
		}
		stalled := time.Now()
		burst(t, pool, o, schema, chaosBurst) // so that it has sales to send
		time.Sleep(time.Until(stalled.Add(chaosStorm)))
		stale := proxy.sentBy(holder, stalled.Add(chaosLeaseTTL), time.Now())
		before := proxy.sentBy(holder, stalled, stalled.Add(chaosLeaseTTL))
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		f.staleAfterStall = append(f.staleAfterStall, stale)
		t.Logf("locked the lease row for %s: %s sent %d requests in the lease term after, %d after that", chaosStorm, holder, before, stale)
		if stale > 1 {
			t.Errorf("%s sent %d requests after its renewals had failed for a lease term, want at most 1", holder, stale)
		}
	}

	// SIGSTOP in the middle of an upload, SIGCONT after 3 s.
	for range chaosFreezes {
		burst(t, pool, o, schema, chaosBurst)
		holder := holderNow()
		proc, _ := parseInstance(t, holder)
		before := fleet.output(proc).count(chaosStoppedAt)
		await(t, proxy.arm(func(a *chaosArm) { a.freeze = holder }))
		frozenAt := time.Now()
		next := takenFrom(holder)
		f.freezes = append(f.freezes, time.Since(frozenAt))
		time.Sleep(time.Until(frozenAt.Add(chaosFreezeFor))) // frozen for chaosFreezeFor in all
		fleet.resume(holder)
		resumed := time.Now()
		// It notices its lease is gone, and the new holder goes on.
		waitFor(t, 30*time.Second, func() (string, bool) {
			return "", fleet.output(proc).count(chaosStoppedAt) > before
		})
		proxy.progress(t, next, resumed, 20)
		stale := proxy.sentBy(holder, resumed, time.Now())
		f.staleAfterResume = append(f.staleAfterResume, stale)
		t.Logf("froze %s (SIGSTOP) mid-upload: %s delivers after %s; resumed (SIGCONT) after %s, %s sent %d requests",
			holder, next, f.freezes[len(f.freezes)-1].Round(time.Millisecond), chaosFreezeFor, holder, stale)
		if stale > 1 {
			t.Errorf("the resumed %s sent %d requests after it lost its lease, want at most 1", holder, stale)
		}
	}

	if err := os.WriteFile(stopFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fleet.waitOrdering()
	waitFor(t, 120*time.Second, func() (string, bool) {
		return "", stats(t, o).Queued == 0
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
	stored := storedCells(fake)
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

	reqs := proxy.requests()
	resent, resends := resentAfterAccepted(reqs)
	for _, c := range f.cutCells {
		if resent[c] {
			t.Errorf("sale %s was sent again after Dripcel accepted it, although only the settle's connection was cut", c)
		}
	}
	uploads, limited, dupReqs, dupSales, sent := 0, 0, 0, 0, 0
	for _, r := range reqs {
		switch r.status {
		case http.StatusTooManyRequests:
			limited++
		case http.StatusConflict:
			dupReqs++
			dupSales += len(r.cells)
		}
		if r.status != http.StatusTooManyRequests {
			uploads++
			sent += len(r.cells)
		}
	}
	t.Logf("chaos: %d processes, %d orders committed (one in ten placed rolled back), %d recorded; "+
		"%d requests answered (%d sales sent), %d refused by the budget; %s in all",
		chaosProcs, len(committed), len(fake.Sales()), uploads, sent, limited, elapsed.Round(time.Millisecond))
	t.Logf("chaos: takeovers after SIGKILL %v, after SIGSTOP %v, after cutting connections for %s %v",
		roundAll(f.kills), roundAll(f.freezes), chaosStorm, roundAll(f.storms))
	t.Logf("chaos: requests sent by stale holders: after SIGCONT %v; after the takeover that followed cut connections %v; "+
		"a lease term after renewals stalled %v", f.staleAfterResume, f.staleAfterStorm, f.staleAfterStall)
	t.Logf("chaos: sales sent again after Dripcel had accepted them: %d (%d sends); after a single cut between answer and settle: 0 of %d",
		len(resent), resends, len(f.cutCells))
	t.Logf("chaos: answered as duplicates (409): %d requests holding %d sales", dupReqs, dupSales)
	for _, d := range slices.Concat(f.kills, f.freezes) {
		if d > bound {
			t.Errorf("takeover after %s, over the bound %s (lease %s + renew interval + 1 s)", d, bound, chaosLeaseTTL)
		}
	}
}

// await waits for what an armed proxy did.
func await(t *testing.T, done <-chan []string) []string {
	t.Helper()
	select {
	case cells := <-done:
		return cells
	case <-time.After(60 * time.Second):
		t.Fatal("the holder sent no request within 60s")
		return nil
	}
}

// chaosFigures are what the chaos test measures.
type chaosFigures struct {
	kills, freezes, storms            []time.Duration
	staleAfterResume, staleAfterStorm []int
	staleAfterStall                   []int
	cutCells                          []string
}

// resentAfterAccepted returns the sales sent in a request after one that
// Dripcel answered 200 (so had stored them all), and how many such sends
// there were.
func resentAfterAccepted(reqs []chaosRequest) (map[string]bool, int) {
	accepted := map[string]bool{}
	resent := map[string]bool{}
	sends := 0
	for _, r := range reqs {
		for _, c := range r.cells {
			if accepted[c] {
				resent[c] = true
				sends++
			}
		}
		if r.status == http.StatusOK {
			for _, c := range r.cells {
				accepted[c] = true
			}
		}
	}
	return resent, sends
}

// burst commits n orders at once, with their sales, as the parent
// process's own orders.
func burst(t *testing.T, pool *pgxpool.Pool, o *dripcelpg.Outbox, schema string, n int) {
	t.Helper()
	ctx := context.Background()
	var first int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(seq) + 1, 0) FROM "+schema+".orders WHERE proc = $1", chaosParentProc).Scan(&first); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		sales := make([]dripcel.Sale, n)
		for i := range sales {
			seq := first + i
			cell := fmt.Sprintf("278%d%07d", chaosParentProc, seq)
			if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".orders (proc, seq, cell) VALUES ($1, $2, $3)", chaosParentProc, seq, cell); err != nil {
				return err
			}
			sales[i] = dripcel.Sale{CampaignID: campaign, Cell: cell, SoldAt: day, Ref: fmt.Sprintf("p%d-%d", chaosParentProc, seq)}
		}
		return o.Enqueue(ctx, tx, sales...)
	})
	if err != nil {
		t.Fatal(err)
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

// chaosRequest is one request the proxy passed to the fake Dripcel.
type chaosRequest struct {
	instance string
	at       time.Time
	status   int
	cells    []string
}

// chaosArm is what the proxy does to the next request of an instance.
type chaosArm struct {
	freeze string // SIGSTOP it as its request arrives
	cut    string // cut its connections once Dripcel has accepted its request
	storm  bool   // and keep cutting them for chaosStorm
	done   chan []string
}

// chaosProxy stands in front of the fake Dripcel: it records which
// instance sent which sales (each child names itself in chaosHeader), and
// does what it is armed to do to a holder's next request.
type chaosProxy struct {
	t       *testing.T
	fake    *dripceltest.Server
	admin   *pgxpool.Pool
	freezer func(instance string)

	mu       sync.Mutex
	reqs     []chaosRequest
	armed    *chaosArm
	storming bool
	storms   sync.WaitGroup
}

// arm sets what to do to the next request; the channel returned gets the
// cells of the request it was done to.
func (p *chaosProxy) arm(set func(*chaosArm)) <-chan []string {
	a := &chaosArm{done: make(chan []string, 1)}
	set(a)
	p.mu.Lock()
	p.armed = a
	p.mu.Unlock()
	return a.done
}

func (p *chaosProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inst := r.Header.Get(chaosHeader)
	body, _ := io.ReadAll(r.Body)
	var sales []struct {
		Cell string `json:"cell"`
	}
	_ = json.Unmarshal(body, &sales)
	cells := make([]string, len(sales))
	for i, s := range sales {
		cells[i] = s.Cell
	}
	at := time.Now()
	p.mu.Lock()
	a := p.armed
	if a != nil && a.freeze == inst && inst != "" {
		p.armed = nil
		p.freezer(inst) // frozen before Dripcel answers: the answer waits in its socket
		a.done <- cells
	}
	p.mu.Unlock()

	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	p.fake.Handler().ServeHTTP(rec, r)

	p.mu.Lock()
	p.reqs = append(p.reqs, chaosRequest{instance: inst, at: at, status: rec.Code, cells: cells})
	a = p.armed
	cut := a != nil && a.cut == inst && inst != "" && rec.Code == http.StatusOK
	if cut {
		p.armed = nil
	}
	p.mu.Unlock()
	if cut {
		// Between Dripcel's answer and the settle: the instance gets the
		// answer only once its connections are gone.
		p.cutConnections(inst, true)
		if a.storm {
			p.mu.Lock()
			p.storming = true
			p.mu.Unlock()
			p.storms.Go(func() {
				defer func() {
					p.mu.Lock()
					p.storming = false
					p.mu.Unlock()
				}()
				for end := time.Now().Add(chaosStorm); time.Now().Before(end); {
					p.cutConnections(inst, false)
					time.Sleep(chaosStormEvery)
				}
			})
		}
		a.done <- cells
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// cutConnections ends every database connection of instance, waiting for
// them to go if asked.
func (p *chaosProxy) cutConnections(instance string, wait bool) {
	timeout := 0
	if wait {
		timeout = 2000
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.admin.Exec(ctx, `SELECT pg_terminate_backend(pid, $2) FROM pg_stat_activity WHERE application_name = $1`,
		instance, timeout); err != nil {
		p.t.Errorf("cutting %s's connections: %v", instance, err)
	}
}

// stormOver reports whether no storm is under way.
func (p *chaosProxy) stormOver() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.storming
}

// waitStorm waits for the connection storms to end.
func (p *chaosProxy) waitStorm() { p.storms.Wait() }

// wait is waitStorm, for the test's cleanup.
func (p *chaosProxy) wait() { p.storms.Wait() }

func (p *chaosProxy) requests() []chaosRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.reqs)
}

// sentBy counts the requests instance sent in [from, to].
func (p *chaosProxy) sentBy(instance string, from, to time.Time) int {
	n := 0
	for _, r := range p.requests() {
		if r.instance == instance && !r.at.Before(from) && !r.at.After(to) {
			n++
		}
	}
	return n
}

// progress waits until instance has sent n requests since from.
func (p *chaosProxy) progress(t *testing.T, instance string, from time.Time, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, func() (string, bool) {
		return "", p.sentBy(instance, from, time.Now()) >= n
	})
}

// syncBuffer is a child's output, read while it is written.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) count(s string) int { return strings.Count(b.String(), s) }

// chaosFleet runs the child processes.
type chaosFleet struct {
	t   *testing.T
	env []string

	mu    sync.Mutex
	procs map[int]*exec.Cmd
	ended map[*exec.Cmd]chan struct{} // closed once Wait returns
	out   map[int]*syncBuffer         // each proc's output, all its incarnations
	waits sync.WaitGroup
}

func (f *chaosFleet) start(proc int) {
	f.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(f.env, "CHAOS_PROC="+strconv.Itoa(proc))...)
	out := f.output(proc)
	cmd.Stdout, cmd.Stderr = out, out
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

// output is proc's output.
func (f *chaosFleet) output(proc int) *syncBuffer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out[proc] == nil {
		f.out[proc] = &syncBuffer{}
	}
	return f.out[proc]
}

// process is the running process of instance, or nil.
func (f *chaosFleet) process(instance string) *os.Process {
	proc, pid := parseInstance(f.t, instance)
	f.mu.Lock()
	defer f.mu.Unlock()
	if cmd := f.procs[proc]; cmd != nil && cmd.Process.Pid == pid {
		return cmd.Process
	}
	return nil
}

func (f *chaosFleet) freeze(instance string) {
	if p := f.process(instance); p != nil {
		_ = p.Signal(syscall.SIGSTOP)
	}
}

func (f *chaosFleet) resume(instance string) {
	if p := f.process(instance); p != nil {
		_ = p.Signal(syscall.SIGCONT)
	}
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

// waitOrdering waits until every process has stopped placing orders.
func (f *chaosFleet) waitOrdering() {
	waitFor(f.t, 60*time.Second, func() (string, bool) {
		for p := 1; p <= chaosProcs; p++ {
			if f.output(p).count("chaos child: stopped ordering") == 0 {
				return "", false
			}
		}
		return "", true
	})
}

// stopAll asks every process to stop (SIGTERM) and waits.
func (f *chaosFleet) stopAll() {
	f.mu.Lock()
	for _, cmd := range f.procs {
		_ = cmd.Process.Signal(syscall.SIGCONT)
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

// namingTransport names the instance on each request, for the proxy.
type namingTransport struct{ name string }

func (n namingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(chaosHeader, n.name)
	return http.DefaultTransport.RoundTrip(r)
}

// chaosChild is one process of the fleet: it places orders from where its
// last incarnation stopped until the stop file appears, and delivers when
// it holds the lease, until SIGTERM. Its pool's connections carry its
// instance name as application_name, as the README advises, which is how
// the test finds them to cut.
func chaosChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "chaos child:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	proc, _ := strconv.Atoi(os.Getenv("CHAOS_PROC"))
	schema := os.Getenv("CHAOS_SCHEMA")
	instance := fmt.Sprintf("proc%d-pid%d", proc, os.Getpid())
	cfg, err := pgxpool.ParseConfig(databaseURL())
	if err != nil {
		return fail(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = instance
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := dripcel.NewClient(os.Getenv("CHAOS_KEY"), dripcel.WithBaseURL(os.Getenv("CHAOS_URL")),
		dripcel.WithHTTPClient(&http.Client{Transport: namingTransport{instance}}),
		dripcel.WithRetryWait(10*time.Millisecond, 200*time.Millisecond),
		dripcel.WithBatchSize(chaosBatch),
		// One process delivers at a time, so its own pacing is the fleet's.
		dripcel.WithRateLimit(chaosPerMinute/60, time.Second))
	if err != nil {
		return fail(err)
	}
	o, err := dripcelpg.New(pool, c, dripcelpg.WithSchema(schema), dripcelpg.WithLeaseTTL(chaosLeaseTTL),
		dripcelpg.WithInstance(instance), dripcelpg.WithLogger(logger))
	if err != nil {
		return fail(err)
	}
	r, err := dripcel.NewReporter(c, dripcel.WithQueue(o.Queue()), dripcel.WithMaxBatch(chaosMaxBatch),
		dripcel.WithFlushInterval(50*time.Millisecond))
	if err != nil {
		return fail(err)
	}
	defer func() { _ = r.Close(context.Background()) }()

	var next int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(seq) + 1, 0) FROM "+schema+".orders WHERE proc = $1", proc).Scan(&next); err != nil {
		return fail(err)
	}
	stopFile := os.Getenv("CHAOS_STOP")
	for seq := next; ctx.Err() == nil; seq++ {
		if _, err := os.Stat(stopFile); err == nil {
			break
		}
		cell := fmt.Sprintf("278%d%07d", proc, seq)
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".orders (proc, seq, cell) VALUES ($1, $2, $3)", proc, seq, cell); err != nil {
				return err
			}
			s := dripcel.Sale{CampaignID: campaign, Cell: cell, SoldAt: day, Ref: fmt.Sprintf("p%d-%d", proc, seq)}
			if err := o.Enqueue(ctx, tx, s); err != nil {
				return err
			}
			if seq%10 == chaosRollbackAt {
				return errRollBack
			}
			return nil
		})
		time.Sleep(chaosOrderGap)
		if err != nil && !errors.Is(err, errRollBack) {
			if ctx.Err() != nil {
				return 0
			}
			// A connection the test cut. The order and its sale were
			// committed together or not at all (the commit's answer may
			// be what was lost): go on with the next.
			time.Sleep(5 * time.Millisecond)
		}
	}
	fmt.Fprintln(os.Stderr, "chaos child: stopped ordering")
	<-ctx.Done()
	return 0
}

// errRollBack rolls an order back after its insert.
var errRollBack = errors.New("roll back")
