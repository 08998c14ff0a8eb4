package dripcelredis_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelredis"
	"github.com/dripcel-go/dripcel/internal/fixedwindow"
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
	span := st.Last.Sub(st.First)
	share := float64(st.Requests-1) * float64(fleetWindow) / (float64(fleetN) * float64(span))
	t.Logf("%d requests (%d answered 429) in %s: %.1f%% of the ceiling; at most %d in any window of %s (budget %d)",
		st.Requests, st.Limited, span.Round(time.Millisecond), 100*share, st.MaxInWindow, fleetWindow, fleetN)
	if st.Limited > 3 {
		t.Errorf("%d answers 429, want at most 3", st.Limited)
	}
	if share < 0.9 {
		t.Errorf("%.1f%% of the ceiling, want at least 90%%", 100*share)
	}
}

// The same fleet with a Pacer in each process, each at the organisation's
// budget, runs into the server's limit: this shows the test above can fail.
// Fewer requests keep it short; the 429s are waited out.
func TestFleetWithoutSharingIsRateLimited(t *testing.T) {
	if st := runFleet(t, false, 8); st.Limited <= 3 {
		t.Errorf("%d answers 429 without a shared budget: the shared run proves nothing", st.Limited)
	}
}

// runFleet runs the processes, each uploading requests requests' worth of
// sales, and checks that none failed and every sale arrived.
func runFleet(t *testing.T, shared bool, requests int) fixedwindow.Stats {
	t.Helper()
	rdb := redisClient(t)
	key := testKey(t, rdb)
	fw := fixedwindow.New(fleetN, fleetWindow, 0)
	srv := httptest.NewServer(fw)
	t.Cleanup(srv.Close)

	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, fleetProcesses)
	errs := make([]error, fleetProcesses)
	for p := range fleetProcesses {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFleetWorker$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			"DRIPCEL_FLEET_URL="+srv.URL,
			"DRIPCEL_FLEET_KEY="+key,
			"DRIPCEL_FLEET_SHARED="+strconv.FormatBool(shared),
			"DRIPCEL_FLEET_REQUESTS="+strconv.Itoa(requests),
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
	st := fw.Stats()
	if want := fleetProcesses * requests * fleetBatch; st.Sales != want {
		t.Errorf("%d sales accepted, want %d", st.Sales, want)
	}
	return st
}

// TestFleetWorker is one process of a fleet test; run alone it skips.
func TestFleetWorker(t *testing.T) {
	url := os.Getenv("DRIPCEL_FLEET_URL")
	if url == "" {
		t.Skip("run by TestFleetSharesOneBudget as one of its processes")
	}
	p, _ := strconv.Atoi(os.Getenv("DRIPCEL_FLEET_PROCESS"))
	requests, _ := strconv.Atoi(os.Getenv("DRIPCEL_FLEET_REQUESTS"))
	opts := []dripcel.Option{dripcel.WithBaseURL(url), dripcel.WithRateLimit(fleetN, fleetWindow), dripcel.WithBatchSize(fleetBatch)}
	if os.Getenv("DRIPCEL_FLEET_SHARED") == "true" {
		lim, err := dripcelredis.NewLimiter(redisClient(t), os.Getenv("DRIPCEL_FLEET_KEY"), fleetN, fleetWindow)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, dripcel.WithRateLimiter(lim))
	}
	c, err := dripcel.NewClient("key", opts...)
	if err != nil {
		t.Fatal(err)
	}
	sales := make([]dripcel.Sale, requests*fleetBatch)
	for i := range sales {
		sales[i] = dripcel.Sale{CampaignID: "c", Cell: fmt.Sprintf("27%d%08d", 6+p, i)}
	}
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
}
