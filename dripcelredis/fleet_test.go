package dripcelredis_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelredis"
)

// The fleet's budget, Dripcel's scaled down in time: 20 requests in each
// 2-second window instead of 50 a minute, so the test runs in seconds.
const (
	fleetN         = 20
	fleetWindow    = 2 * time.Second
	fleetProcesses = 4
	fleetRequests  = 15 // requests per process
	fleetBatch     = 10 // sales per request
)

// Four OS processes (this test binary, run again as TestFleetWorker) share
// one Redis limiter and upload at once to one fake Dripcel that holds the
// budget in fixed windows and answers 429 without Retry-After beyond it.
// None fails, at most 3 answers are 429, and together they use at least 90%
// of the ceiling, though none knows how many others there are.
func TestFleetSharesOneBudget(t *testing.T) {
	st := runFleet(t, true, fleetRequests)
	span := st.last.Sub(st.first)
	share := float64(st.requests-1) * float64(fleetWindow) / (float64(fleetN) * float64(span))
	t.Logf("%d requests (%d answered 429) in %s: %.1f%% of the ceiling; at most %d in any window of %s (budget %d)",
		st.requests, st.limited, span.Round(time.Millisecond), 100*share, st.maxInWindow, fleetWindow, fleetN)
	if st.limited > 3 {
		t.Errorf("%d answers 429, want at most 3", st.limited)
	}
	if share < 0.9 {
		t.Errorf("%.1f%% of the ceiling, want at least 90%%", 100*share)
	}
}

// The same fleet with a Pacer in each process, each at the organisation's
// budget, runs into the server's limit: this shows the test above can fail.
// Each process meets about one 429 a window before it pauses, so the fleet
// runs for several windows to collect more than the shared run may have.
func TestFleetWithoutSharingIsRateLimited(t *testing.T) {
	st := runFleet(t, false, 24)
	t.Logf("%d requests, %d answered 429", st.requests, st.limited)
	if st.limited <= 3 {
		t.Errorf("%d answers 429 without a shared budget: the shared run proves nothing", st.limited)
	}
}

// runFleet runs the processes, each uploading requests requests' worth of
// sales, and checks that none failed and every sale arrived.
func runFleet(t *testing.T, shared bool, requests int) budgetStats {
	t.Helper()
	rdb := redisClient(t)
	srv := budgetServer(t, fleetN, fleetWindow)
	startFleet(t, fleet{url: srv.URL, apiKey: srv.Key, key: testKey(t, rdb), n: fleetN, window: fleetWindow, shared: shared,
		batch: fleetBatch, sales: requests * fleetBatch})
	st := statsOf(srv, fleetWindow)
	if want := fleetProcesses * requests * fleetBatch; st.sales != want {
		t.Errorf("%d sales accepted, want %d", st.sales, want)
	}
	return st
}

// fleet is what each process of a fleet does: upload sales sales in
// batches of batch (0 for the client's default) to url, with a budget of n
// in window, sharing the Redis key when shared.
type fleet struct {
	url       string
	apiKey    string // the server's
	key       string // the Redis limiter's
	n         int
	window    time.Duration
	shared    bool
	batch     int
	sales     int
	realistic bool // sales with every field set, as a shop sends them
}

// startFleet runs fleetProcesses processes of f and waits for them; a
// process that fails fails the test.
func startFleet(t *testing.T, f fleet) {
	t.Helper()
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, fleetProcesses)
	errs := make([]error, fleetProcesses)
	for p := range fleetProcesses {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFleetWorker$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			"DRIPCEL_FLEET_URL="+f.url,
			"DRIPCEL_FLEET_API_KEY="+f.apiKey,
			"DRIPCEL_FLEET_KEY="+f.key,
			"DRIPCEL_FLEET_N="+strconv.Itoa(f.n),
			"DRIPCEL_FLEET_WINDOW="+f.window.String(),
			"DRIPCEL_FLEET_SHARED="+strconv.FormatBool(f.shared),
			"DRIPCEL_FLEET_BATCH="+strconv.Itoa(f.batch),
			"DRIPCEL_FLEET_SALES="+strconv.Itoa(f.sales),
			"DRIPCEL_FLEET_REALISTIC="+strconv.FormatBool(f.realistic),
			"DRIPCEL_FLEET_PROCESS="+strconv.Itoa(p))
		cmd.Stdout, cmd.Stderr = &outs[p], &outs[p]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs[p] = cmd.Wait() })
	}
	wg.Wait()
	for p, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v\n%s", p, err, outs[p].String())
		}
	}
}

// TestFleetWorker is one process of a fleet; run alone it skips.
func TestFleetWorker(t *testing.T) {
	url := os.Getenv("DRIPCEL_FLEET_URL")
	if url == "" {
		t.Skip("run by the fleet tests as one of their processes")
	}
	p, _ := strconv.Atoi(os.Getenv("DRIPCEL_FLEET_PROCESS"))
	n, _ := strconv.Atoi(os.Getenv("DRIPCEL_FLEET_N"))
	window, _ := time.ParseDuration(os.Getenv("DRIPCEL_FLEET_WINDOW"))
	batch, _ := strconv.Atoi(os.Getenv("DRIPCEL_FLEET_BATCH"))
	count, _ := strconv.Atoi(os.Getenv("DRIPCEL_FLEET_SALES"))
	// The User-Agent names the process, so that the server can count its
	// 429s apart from the others'.
	opts := []dripcel.Option{dripcel.WithBaseURL(url), dripcel.WithRateLimit(n, window),
		dripcel.WithUserAgent(fmt.Sprintf("fleet-process-%d", p))}
	if batch > 0 {
		opts = append(opts, dripcel.WithBatchSize(batch))
	}
	if os.Getenv("DRIPCEL_FLEET_SHARED") == "true" {
		lim, err := dripcelredis.NewLimiter(redisClient(t), os.Getenv("DRIPCEL_FLEET_KEY"), n, window)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, dripcel.WithRateLimiter(lim))
	}
	c, err := dripcel.NewClient(os.Getenv("DRIPCEL_FLEET_API_KEY"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	sales := make([]dripcel.Sale, count)
	for i := range sales {
		if os.Getenv("DRIPCEL_FLEET_REALISTIC") == "true" {
			sales[i] = realisticSale(p*count + i)
		} else {
			sales[i] = dripcel.Sale{CampaignID: campaign, Cell: fmt.Sprintf("2782%d%06d", p, i)}
		}
	}
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
}

// realisticSale is sale i as a shop reports it: every field set (the one
// identifier a sale may name, its campaign), about 110 bytes of JSON. Sales
// are a second apart from 09:02:51 two days ago, within any ledger's
// retention.
func realisticSale(i int) dripcel.Sale {
	return dripcel.Sale{
		CampaignID: campaign,
		Cell:       fmt.Sprintf("2782%07d", i%10_000_000),
		SoldAt:     realisticDay.Add(9*time.Hour + 2*time.Minute + 51*time.Second + time.Duration(i)*time.Second),
		SaleValue:  dripcel.Value(float64(100 + i%900)),
	}
}

// realisticDay is two days before the day the test started, in UTC.
var realisticDay = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
