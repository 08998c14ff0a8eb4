package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// The soak: 10 000 postbacks and 1 000 uploads of 100 sales, sent by many
// goroutines against dripceltest while about 1% of requests fail (a 5xx, a
// dropped connection, a 429 with Retry-After 0). Every sale must be in the
// server's record exactly once, and the heap and goroutine count must come
// back to where they started. Skipped with -short; .ci/run runs it.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	postbacks, uploads := 10_000, 1_000
	if raceEnabled {
		postbacks, uploads = 1_000, 100
	}
	const (
		perUpload   = 100
		workers     = 16
		faultPerMil = 10
	)
	total := postbacks + uploads*perUpload
	goroutinesBefore := runtime.NumGoroutine()
	heapBefore := heapInUse()
	start := time.Now()

	stats := runSoak(t, postbacks, uploads, perUpload, workers, faultPerMil)

	elapsed := time.Since(start)
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	goroutinesAfter := settleGoroutines(goroutinesBefore)
	heapAfter := heapInUse()
	t.Logf("soak: %d sales (%d postbacks, %d uploads of %d) in %s", total, postbacks, uploads, perUpload, elapsed.Round(time.Millisecond))
	t.Logf("soak: %d requests, %d faults injected, %d faulty answers seen, %d calls failed after retries and were resent",
		stats.requests, stats.injected, stats.faultsSeen, stats.resent)
	t.Logf("soak: %d sales recorded, %d lost, %d doubled", stats.recorded, stats.lost, stats.doubled)
	t.Logf("soak: heap in use %.1f MiB before, %.1f MiB at the end of the run, %.1f MiB after; goroutines %d before, %d after",
		mib(heapBefore), mib(stats.heapPeak), mib(heapAfter), goroutinesBefore, goroutinesAfter)

	if stats.lost != 0 || stats.doubled != 0 || stats.recorded != total {
		t.Errorf("%d sales recorded of %d: %d lost, %d doubled", stats.recorded, total, stats.lost, stats.doubled)
	}
	if stats.injected == 0 || stats.faultsSeen < stats.injected {
		t.Errorf("%d faults injected, %d seen by the server", stats.injected, stats.faultsSeen)
	}
	if goroutinesAfter > goroutinesBefore {
		t.Errorf("goroutines: %d before, %d after", goroutinesBefore, goroutinesAfter)
	}
	// The run holds 110 000 sales in the fake server; all of it must go.
	if heapAfter > heapBefore+4<<20 {
		t.Errorf("heap in use: %.1f MiB before, %.1f MiB after", mib(heapBefore), mib(heapAfter))
	}
}

type soakStats struct {
	requests, injected, faultsSeen, resent int
	recorded, lost, doubled                int
	heapPeak                               uint64
}

// runSoak runs the load and checks the record. Everything it allocates is
// unreachable when it returns, so the caller can measure the heap.
func runSoak(t *testing.T, postbacks, uploads, perUpload, workers, faultPerMil int) soakStats {
	srv := dripceltest.Start(dripceltest.WithCampaigns(dripceltest.Campaign{ID: "c1", Country: "ZA", DefaultSaleValue: 50}))
	defer srv.Close()
	client, err := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), testBudget,
		dripcel.WithRetryWait(time.Millisecond, 5*time.Millisecond), dripcel.WithBatchSize(perUpload))
	if err != nil {
		t.Fatal(err)
	}
	soldAt := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	sale := func(i int) dripcel.Sale {
		return dripcel.Sale{CampaignID: "c1", Cell: fmt.Sprintf("2782%07d", i), SoldAt: soldAt, SaleValue: dripcel.Value(float64(i))}
	}

	var injected, resent atomic.Int32
	inject := func(r *rand.Rand) {
		if r.IntN(1000) >= faultPerMil {
			return
		}
		injected.Add(1)
		switch r.IntN(6) {
		case 0:
			srv.Drop(1)
		case 1:
			srv.RateLimit(1, "0")
		default:
			srv.Fail(1, []int{500, 502, 503, 504}[r.IntN(4)])
		}
	}
	// send reports a job's sales until they are accepted, as a careful
	// caller does: a call that fails after its retries is sent again, and a
	// 409 then means the earlier attempt got through.
	send := func(ctx context.Context, r *rand.Rand, sales []dripcel.Sale) error {
		for try := 0; ; try++ {
			inject(r)
			var err error
			if len(sales) == 1 {
				err = client.Postback(ctx, sales[0])
			} else {
				err = client.UploadSales(ctx, sales)
			}
			if err == nil || errors.Is(err, dripcel.ErrDuplicateSale) {
				return nil
			}
			if try == 5 {
				return err
			}
			resent.Add(1)
		}
	}

	jobs := make(chan []dripcel.Sale)
	go func() {
		defer close(jobs)
		next := 0
		for i := range postbacks + uploads {
			n := 1 // every (postbacks/uploads+1)-th job is an upload
			if i%(postbacks/uploads+1) == postbacks/uploads {
				n = perUpload
			}
			batch := make([]dripcel.Sale, n)
			for j := range batch {
				batch[j] = sale(next)
				next++
			}
			jobs <- batch
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for batch := range jobs {
				if err := send(context.Background(), r, batch); err != nil {
					errs <- err
					for range jobs { // drain, so the producer ends
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a sale was not accepted after retries and resends: %v", err)
	}

	st := soakStats{injected: int(injected.Load()), resent: int(resent.Load())}
	for _, r := range srv.Requests() {
		st.requests++
		if r.Status == 0 || r.Status == http.StatusTooManyRequests || r.Status >= 500 {
			st.faultsSeen++
		}
	}
	counts := map[string]int{}
	for _, s := range srv.Sales() {
		counts[s.Cell]++
	}
	total := postbacks + uploads*perUpload
	for i := range total {
		switch n := counts[sale(i).Cell]; {
		case n == 0:
			st.lost++
		case n > 1:
			st.doubled += n - 1
		}
	}
	st.recorded = len(srv.Sales())
	st.heapPeak = heapInUse()
	return st
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// settleGoroutines waits, for a few seconds at most, for the goroutine count
// to come down to want (connection readers and server goroutines end a
// moment after their connections close), and returns the count.
func settleGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 500 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}
