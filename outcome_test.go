package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// batchModes are the ways Dripcel may treat a batch holding a bad sale; its
// docs do not say which it uses, so the client must be right under each.
var batchModes = []struct {
	name string
	mode dripceltest.BatchMode
}{
	{"partial", dripceltest.BatchPartial},
	{"atomic", dripceltest.BatchAtomic},
	{"prefix", dripceltest.BatchPrefix},
}

// outcomeUpload is an upload of 40 sales into campaign "za" with, at known
// indexes, sales Dripcel already has, sales of an unknown campaign and
// sales repeating an earlier one of the same upload.
type outcomeUpload struct {
	sales    []dripcel.Sale
	before   []int       // recorded before the upload
	unknown  []int       // campaign "nope"
	repeats  map[int]int // index → the earlier index it repeats
	refusals map[int]bool
}

func newOutcomeUpload() outcomeUpload {
	day := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	u := outcomeUpload{before: []int{3, 17}, unknown: []int{9, 25}, repeats: map[int]int{30: 12, 31: 9},
		refusals: map[int]bool{9: true, 25: true, 31: true}}
	u.sales = make([]dripcel.Sale, 40)
	for i := range u.sales {
		u.sales[i] = dripcel.Sale{CampaignID: "za", Cell: fmt.Sprintf("2763%07d", i), SoldAt: day}
	}
	for _, i := range u.unknown {
		u.sales[i].CampaignID = "nope"
	}
	for i, first := range u.repeats {
		u.sales[i] = u.sales[first]
		u.sales[i].SoldAt = day.Add(9 * time.Hour) // same date, another clock
	}
	return u
}

// TestOutcomesMatchWhatDripcelStored builds each sale's outcome under each
// batch mode and compares it with what the server stored: every sale
// Dripcel would accept is stored once, every outcome is Dripcel's own
// answer about that sale, and the refused sales are exactly the bad ones.
func TestOutcomesMatchWhatDripcelStored(t *testing.T) {
	for _, m := range batchModes {
		t.Run(m.name, func(t *testing.T) {
			u := newOutcomeUpload()
			srv := dripceltest.NewServer(t, dripceltest.WithBatchMode(m.mode),
				dripceltest.WithCampaigns(dripceltest.Campaign{ID: "za", Country: "ZA"}))
			c, err := dripcel.NewClient(dripceltest.DefaultKey, dripcel.WithBaseURL(srv.URL), dripcel.WithBatchSize(8), testBudget)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range u.before {
				if err := c.Postback(context.Background(), u.sales[i]); err != nil {
					t.Fatal(err)
				}
			}
			err = c.UploadSales(context.Background(), u.sales)
			var ue *dripcel.UploadError
			if !errors.As(err, &ue) || ue.Total != len(u.sales) {
				t.Fatalf("err = %v, want an *UploadError for %d sales", err, len(u.sales))
			}

			stored := map[string]int{}
			for _, s := range srv.Sales() {
				stored[s.CampaignID+"/"+s.Cell]++
			}
			seen := 0
			for i, o := range ue.Outcomes() {
				if i != seen {
					t.Fatalf("Outcomes yielded sale %d after %d", i, seen-1)
				}
				seen++
				if o != ue.Outcome(i) {
					t.Errorf("sale %d: Outcomes says %v, Outcome says %v", i, o, ue.Outcome(i))
				}
				key := u.sales[i].CampaignID + "/" + u.sales[i].Cell
				switch {
				case u.refusals[i]:
					if o.Fate != dripcel.Refused || !errors.Is(o.Err, dripcel.ErrCampaignNotFound) || stored[key] != 0 {
						t.Errorf("sale %d (unknown campaign): %v %v, stored %d times; want refused, not stored", i, o.Fate, o.Err, stored[key])
					}
				case slicesContains(u.before, i) || u.repeats[i] != 0:
					if o.Fate != dripcel.AlreadyRecorded || !errors.Is(o.Err, dripcel.ErrDuplicateSale) || stored[key] != 1 {
						t.Errorf("sale %d (Dripcel had it): %v %v, stored %d times; want already recorded, stored once", i, o.Fate, o.Err, stored[key])
					}
				default:
					// A partial or prefix Dripcel stores good sales of a
					// batch it refuses, and then answers 409 for each alone.
					want := o.Fate == dripcel.Recorded || m.mode != dripceltest.BatchAtomic && o.Fate == dripcel.AlreadyRecorded
					if !want || stored[key] != 1 {
						t.Errorf("sale %d (new): %v %v, stored %d times; want recorded, stored once", i, o.Fate, o.Err, stored[key])
					}
				}
			}
			if seen != len(u.sales) {
				t.Errorf("Outcomes yielded %d sales, want %d", seen, len(u.sales))
			}
			if n := ue.Count(dripcel.NotDelivered); n != 0 {
				t.Errorf("%d sales not delivered", n)
			}
			if got, want := len(srv.Sales()), len(u.sales)-len(u.refusals)-1; got != want {
				t.Errorf("server holds %d sales, want %d", got, want)
			}
			sum := 0
			for _, f := range []dripcel.Fate{dripcel.Recorded, dripcel.AlreadyRecorded, dripcel.Refused, dripcel.NotDelivered} {
				sum += ue.Count(f)
			}
			if sum != ue.Total {
				t.Errorf("counts add up to %d, want %d", sum, ue.Total)
			}
		})
	}
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// The README's pattern: a batch holding one sale Dripcel already has must
// not cost the others. Under an atomic Dripcel, which stores nothing of a
// refused batch, the four new sales are recorded by the split.
func TestOneRecordedSaleDoesNotCostItsBatch(t *testing.T) {
	for _, m := range batchModes {
		t.Run(m.name, func(t *testing.T) {
			srv := dripceltest.NewServer(t, dripceltest.WithBatchMode(m.mode),
				dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
			c, err := dripcel.NewClient(dripceltest.DefaultKey, dripcel.WithBaseURL(srv.URL), testBudget)
			if err != nil {
				t.Fatal(err)
			}
			sales := salesN(5)
			if err := c.Postback(context.Background(), sales[2]); err != nil {
				t.Fatal(err)
			}
			err = c.UploadSales(context.Background(), sales)
			var ue *dripcel.UploadError
			if !errors.As(err, &ue) || !errors.Is(err, dripcel.ErrDuplicateSale) {
				t.Fatalf("err = %v, want an *UploadError matching ErrDuplicateSale", err)
			}
			if got := ue.Outcome(2).Fate; got != dripcel.AlreadyRecorded {
				t.Errorf("sale 2: %v, want already recorded", got)
			}
			if n := len(srv.Sales()); n != 5 {
				t.Errorf("server holds %d sales, want 5", n)
			}
			for i, o := range ue.Outcomes() {
				if !o.Fate.Settled() || o.Fate == dripcel.Refused {
					t.Errorf("sale %d: %v", i, o.Fate)
				}
			}
		})
	}
}

// A sale repeating an earlier one of the same upload (same cell, campaign
// and soldAt date) is settled with it, without being sent: Dripcel would
// refuse it as a duplicate. Its fate follows the first sale's.
func TestRepeatsInsideAnUploadAreNotSent(t *testing.T) {
	day := time.Date(2025, 10, 14, 8, 0, 0, 0, time.UTC)
	first := dripcel.Sale{CampaignID: "camp-1", Cell: "27630000001", SoldAt: day}
	later := first
	later.SoldAt = day.Add(3 * time.Hour)
	other := dripcel.Sale{CampaignID: "camp-1", Cell: "27630000002", SoldAt: day}
	nextDay := first
	nextDay.SoldAt = day.Add(24 * time.Hour)

	t.Run("recorded", func(t *testing.T) {
		srv := dripceltest.NewServer(t, dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
		c, _ := dripcel.NewClient(dripceltest.DefaultKey, dripcel.WithBaseURL(srv.URL), testBudget)
		err := c.UploadSales(context.Background(), []dripcel.Sale{first, later, other, nextDay})
		var ue *dripcel.UploadError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v", err)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if reqs := srv.Requests(); len(reqs) == 1 && reqs[0].Sales != 3 {
			t.Errorf("the request held %d sales, want 3 (the repeat is not sent)", reqs[0].Sales)
		}
		o := ue.Outcome(1)
		if o.Fate != dripcel.AlreadyRecorded || !errors.Is(o.Err, dripcel.ErrDuplicateSale) || !strings.Contains(o.Err.Error(), "repeats sale 0") {
			t.Errorf("sale 1: %v %v, want already recorded as a repeat of sale 0", o.Fate, o.Err)
		}
		if ue.Count(dripcel.Recorded) != 3 || ue.Failed()[0] != 1 || len(ue.Failed()) != 1 {
			t.Errorf("recorded %d, failed %v; want 3 and [1]", ue.Count(dripcel.Recorded), ue.Failed())
		}
	})
	t.Run("follows a refusal", func(t *testing.T) {
		srv := dripceltest.NewServer(t) // no campaigns: every sale is refused
		c, _ := dripcel.NewClient(dripceltest.DefaultKey, dripcel.WithBaseURL(srv.URL), testBudget)
		err := c.UploadSales(context.Background(), []dripcel.Sale{first, later})
		var ue *dripcel.UploadError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v", err)
		}
		for i := range 2 {
			if o := ue.Outcome(i); o.Fate != dripcel.Refused || !errors.Is(o.Err, dripcel.ErrCampaignNotFound) {
				t.Errorf("sale %d: %v %v, want refused: campaign not found", i, o.Fate, o.Err)
			}
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("follows no delivery", func(t *testing.T) {
		srv := dripceltest.NewServer(t, dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
		srv.Fail(1, http.StatusServiceUnavailable)
		c, _ := dripcel.NewClient(dripceltest.DefaultKey, dripcel.WithBaseURL(srv.URL), dripcel.WithMaxRetries(0), testBudget)
		err := c.UploadSales(context.Background(), []dripcel.Sale{first, later})
		var ue *dripcel.UploadError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v", err)
		}
		for i := range 2 {
			if o := ue.Outcome(i); o.Fate != dripcel.NotDelivered {
				t.Errorf("sale %d: %v, want not delivered", i, o.Fate)
			}
		}
	})
}

// limitServer accepts upload bodies up to limit bytes and answers larger
// ones 413 with a page of its own, as an Express service does.
type limitServer struct {
	limit int
	mu    sync.Mutex
	sizes []int // every body, in order
	taken int   // sales accepted
}

func (l *limitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sizes = append(l.sizes, len(body))
	if len(body) > l.limit {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, "<pre>PayloadTooLargeError: request entity too large</pre>")
		return
	}
	l.taken += strings.Count(string(body), `"campaign_id"`)
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// Dripcel does not document its body limit. Against a server whose limit
// is well under the default cap, a 413 splits the batch and sends it again
// (nothing lost), and the client's cap searches its way to just under the
// limit: a few 413s, and from then on requests about as full as the limit
// allows.
func TestBodyLimitIsLearnt(t *testing.T) {
	ls := &limitServer{limit: 30_000}
	srv := httptest.NewServer(ls)
	t.Cleanup(srv.Close)
	c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), dripcel.WithMaxRetries(0), testBudget)
	if err != nil {
		t.Fatal(err)
	}
	sales := salesN(10000)
	for i := range sales {
		sales[i].CampaignID = "camp-1-" + fmt.Sprintf("click-%06d", i)
	}
	upload := func(sales []dripcel.Sale) (refused, accepted, fewest int) {
		t.Helper()
		ls.mu.Lock()
		ls.sizes, ls.taken = nil, 0
		ls.mu.Unlock()
		if err := c.UploadSales(context.Background(), sales); err != nil {
			t.Fatal(err)
		}
		if ls.taken != len(sales) {
			t.Errorf("server took %d sales, want %d", ls.taken, len(sales))
		}
		bytes := 0
		for _, n := range ls.sizes {
			if n > ls.limit {
				refused++
				continue
			}
			bytes += n
			accepted++
		}
		return refused, accepted, (bytes + ls.limit - 1) / ls.limit
	}
	if refused, _, _ := upload(sales[:5000]); refused == 0 || refused > 8 {
		t.Errorf("first upload: %d answers 413, want a search of a few", refused)
	}
	refused, accepted, fewest := upload(sales[5000:])
	if refused > 1 || accepted > fewest*11/10+1 {
		t.Errorf("second upload: %d answers 413 and %d requests, the fewest that could carry the sales is %d", refused, accepted, fewest)
	}
}
