package dripcelpg_test

import (
	"context"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripcelpg"
)

// waitHolder polls until one of qs holds the lease and returns it; polling
// every 10 ms, it measures the takeover to within that.
func waitHolder(t *testing.T, limit time.Duration, qs ...*dripcelpg.Queue) *dripcelpg.Queue {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, q := range qs {
			_, _ = q.Claim(context.Background(), 1) // starts its elector
			if q.Holder() {
				return q
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no instance took the lease within %s", limit)
	return nil
}

// TestTakeover measures how long the lease takes to change hands, with the
// default lease of 5 s: when the holder resigns (Close), and when its
// connections are cut for good (its pool closed, as a dead host's would
// be). The stated bound is LeaseTTL plus one renew interval (6 s), plus
// the follower's jitter; never two holders at once.
func TestTakeover(t *testing.T) {
	pool, schema := testSchema(t)
	c := client(t, "http://127.0.0.1:1", "k")
	for _, tc := range []struct {
		name  string
		bound time.Duration
		end   func(q *dripcelpg.Queue, pool func())
	}{
		{"resign", dripcelpg.DefaultLeaseTTL/5 + time.Second, func(q *dripcelpg.Queue, _ func()) { _ = q.Close() }},
		{"cut connection", dripcelpg.DefaultLeaseTTL + dripcelpg.DefaultLeaseTTL/5 + time.Second, func(_ *dripcelpg.Queue, cut func()) { cut() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "lease_" + map[string]string{"resign": "a", "cut connection": "b"}[tc.name]
			setup, err := dripcelpg.New(pool, c, dripcelpg.WithSchema(schema), dripcelpg.WithTable(table))
			if err != nil {
				t.Fatal(err)
			}
			if err := setup.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			var qs []*dripcelpg.Queue
			var cuts []func()
			for i := range 3 {
				p := newPool(t, databaseURL())
				o, err := dripcelpg.New(p, c, dripcelpg.WithSchema(schema), dripcelpg.WithTable(table),
					dripcelpg.WithInstance(string(rune('a'+i))))
				if err != nil {
					t.Fatal(err)
				}
				q := o.Queue()
				t.Cleanup(func() { _ = q.Close() })
				qs = append(qs, q)
				cuts = append(cuts, p.Close)
			}
			holder := waitHolder(t, 10*time.Second, qs...)
			// Let every follower make its first try, so the measure is of
			// the steady state: followers asking once per renew interval.
			time.Sleep(2 * dripcelpg.DefaultLeaseTTL / 5)
			var rest []*dripcelpg.Queue
			idx := 0
			for i, q := range qs {
				if q == holder {
					idx = i
				} else {
					rest = append(rest, q)
				}
			}
			start := time.Now()
			tc.end(holder, cuts[idx])
			next := waitHolder(t, 30*time.Second, rest...)
			took := time.Since(start)
			if holder.Holder() {
				t.Error("the old holder still holds the lease after another took it")
			}
			held := 0
			for _, q := range rest {
				if q.Holder() {
					held++
				}
			}
			if held != 1 || !next.Holder() {
				t.Errorf("%d instances hold the lease, want 1", held)
			}
			t.Logf("takeover after %s: %s (bound %s)", tc.name, took.Round(time.Millisecond), tc.bound)
			if took > tc.bound {
				t.Errorf("takeover took %s, over the bound of %s", took, tc.bound)
			}
		})
	}
}
