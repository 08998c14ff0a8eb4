package dripcel_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// fencedQueue is a leasedQueue whose fence drops the verdicts on the sales
// in drop, as dripcelpg's does for sales the next holder has claimed since:
// they leave this queue (the other holder has them) but are not applied.
type fencedQueue struct {
	*leasedQueue
	drop map[uint64]bool
}

var _ dripcel.FencedQueue = (*fencedQueue)(nil)

func (q *fencedQueue) Settle(ctx context.Context, verdicts []dripcel.Verdict) error {
	_, err := q.SettleApplied(ctx, verdicts)
	return err
}

func (q *fencedQueue) SettleApplied(ctx context.Context, verdicts []dripcel.Verdict) ([]uint64, error) {
	var applied []uint64
	for _, v := range verdicts {
		if !q.drop[v.ID] {
			applied = append(applied, v.ID)
		}
	}
	return applied, q.leasedQueue.Settle(ctx, verdicts)
}

// A refusal whose verdict the fence dropped is not handed to OnRejected:
// the holder that has the sale now reports its own fate. A refusal that
// stood is, once; and the sales Dripcel recorded are not.
func TestOnRejectedOnlyForVerdictsThatStood(t *testing.T) {
	srv := reporterServer(t)
	q := &fencedQueue{leasedQueue: &leasedQueue{term: 1 << 62}, drop: map[uint64]bool{1: true}}
	unknown := func(i int) dripcel.Sale {
		s := testSale(i)
		s.CampaignID = "no-such-campaign"
		return s
	}
	// IDs 1 and 2 are refused, 3 and 4 recorded; 1's verdict is dropped.
	for _, s := range []dripcel.Sale{unknown(1), unknown(2), testSale(3), testSale(4)} {
		if err := q.Add(context.Background(), []dripcel.Sale{s}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var rejected []string
	r := newReporter(t, reporterClient(t, srv), dripcel.WithQueue(q),
		dripcel.WithOnRejected(func(s dripcel.Sale, _ error) {
			mu.Lock()
			defer mu.Unlock()
			rejected = append(rejected, s.Cell)
		}))
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{testCell(2)}; !slices.Equal(rejected, want) {
		t.Errorf("OnRejected called for %v, want %v alone (sale 1's refusal was dropped by the fence)", rejected, want)
	}
	if n := len(srv.Sales()); n != 2 {
		t.Errorf("Dripcel stored %d sales, want 2", n)
	}
	if st := r.Stats(); st.Rejected != 2 {
		t.Errorf("Stats().Rejected = %d, want 2: Dripcel refused both, whichever instance keeps the verdict", st.Rejected)
	}
}
