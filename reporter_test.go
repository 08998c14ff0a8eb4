package dripcel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

const reporterCampaign = "camp-1"

var reportDay = time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)

func reporterServer(t *testing.T, opts ...dripceltest.Option) *dripceltest.Server {
	t.Helper()
	opts = append([]dripceltest.Option{dripceltest.WithCampaigns(
		dripceltest.Campaign{ID: reporterCampaign, Country: "ZA", DefaultSaleValue: 10})}, opts...)
	return dripceltest.NewServer(t, opts...)
}

func reporterClient(t *testing.T, srv *dripceltest.Server, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	opts = append([]dripcel.Option{
		dripcel.WithBaseURL(srv.URL),
		dripcel.WithRetryWait(time.Millisecond, 5*time.Millisecond),
		testBudget,
	}, opts...)
	c, err := dripcel.NewClient(srv.Key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newReporter starts a Reporter that the test closes (with a generous
// deadline) if it has not closed it itself.
func newReporter(t *testing.T, c *dripcel.Client, opts ...dripcel.ReporterOption) *dripcel.Reporter {
	t.Helper()
	r, err := dripcel.NewReporter(c, opts...)
	if err != nil {
		t.Fatalf("NewReporter: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = r.Close(ctx)
	})
	return r
}

// testSale is sale number i: a distinct cell, so Dripcel stores each once.
func testSale(i int) dripcel.Sale {
	return dripcel.Sale{CampaignID: reporterCampaign, Cell: fmt.Sprintf("2782%07d", i), SoldAt: reportDay}
}

func testCell(i int) string { return fmt.Sprintf("2782%07d", i) }

func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func report(t *testing.T, r *dripcel.Reporter, sales ...dripcel.Sale) {
	t.Helper()
	for _, s := range sales {
		if err := r.Report(context.Background(), s); err != nil {
			t.Fatalf("Report(%s): %v", s.Cell, err)
		}
	}
}

// storedCells counts the sales the server stored, by cell.
func storedCells(srv *dripceltest.Server) map[string]int {
	n := map[string]int{}
	for _, s := range srv.Sales() {
		n[s.Cell]++
	}
	return n
}

func storedOrder(srv *dripceltest.Server) []string {
	var cells []string
	for _, s := range srv.Sales() {
		cells = append(cells, s.Cell)
	}
	return cells
}

// rejections records what OnRejected was given.
type rejections struct {
	mu   sync.Mutex
	errs map[string][]error
}

func (rj *rejections) record(s dripcel.Sale, err error) {
	rj.mu.Lock()
	defer rj.mu.Unlock()
	if rj.errs == nil {
		rj.errs = map[string][]error{}
	}
	key := s.CampaignID + "/" + s.Cell
	rj.errs[key] = append(rj.errs[key], err)
}

func (rj *rejections) snapshot() map[string][]error {
	rj.mu.Lock()
	defer rj.mu.Unlock()
	out := map[string][]error{}
	for k, v := range rj.errs {
		out[k] = slices.Clone(v)
	}
	return out
}

// TestReporterDeliversEverySaleOnceUnderFaults is the stress test of the
// delivery guarantee: many goroutines report thousands of sales, some of
// them twice and some that Dripcel refuses, while the server fails, rate
// limits and drops connections in bursts.
func TestReporterDeliversEverySaleOnceUnderFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spool bool
		mode  dripceltest.BatchMode
	}{
		{"memory/partial", false, dripceltest.BatchPartial},
		{"spool/atomic", true, dripceltest.BatchAtomic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const (
				workers   = 8
				perWorker = 400
				dupEvery  = 97 // every 97th sale of a worker is reported a second time
				badEvery  = 149
			)
			srv := reporterServer(t, dripceltest.WithBatchMode(tc.mode))
			c := reporterClient(t, srv)
			var rj rejections
			opts := []dripcel.ReporterOption{
				dripcel.WithMaxBatch(50), dripcel.WithFlushInterval(5 * time.Millisecond),
				dripcel.WithQueueSize(300), dripcel.WithWaitWhenFull(), dripcel.WithOnRejected(rj.record),
			}
			if tc.spool {
				opts = append(opts, dripcel.WithSpool(filepath.Join(t.TempDir(), "sales.spool")))
			}
			r := newReporter(t, c, opts...)

			var (
				wg                    sync.WaitGroup
				reported, dups, wants atomic.Int64
				badCampaign, badCell  atomic.Int64
			)
			for w := range workers {
				wg.Go(func() {
					for j := range perWorker {
						i := w*perWorker + j
						s := testSale(i)
						switch j % badEvery {
						case 7:
							s.CampaignID = "no-such-campaign"
							badCampaign.Add(1)
						case 70:
							s.Cell = fmt.Sprintf("%05d", i) // not a phone number: 400
							badCell.Add(1)
						default:
							wants.Add(1)
						}
						if err := r.Report(context.Background(), s); err != nil {
							t.Errorf("Report: %v", err)
							return
						}
						reported.Add(1)
						if j%dupEvery == 3 && s.CampaignID == reporterCampaign && s.Cell == testCell(i) {
							if err := r.Report(context.Background(), s); err != nil {
								t.Errorf("Report duplicate: %v", err)
								return
							}
							reported.Add(1)
							dups.Add(1)
						}
						// Every so often a burst of faults, most of them longer
						// than the client's own three retries.
						if w == 0 && j%40 == 0 {
							switch j / 40 % 5 {
							case 0:
								srv.Fail(6, http.StatusServiceUnavailable)
							case 1:
								srv.RateLimit(5, "0")
							case 2:
								srv.Drop(5)
							case 3:
								srv.Fail(2, http.StatusBadGateway)
							case 4:
								srv.RateLimit(1, "1")
							}
						}
					}
				})
			}
			wg.Wait()
			if err := r.Close(within(t, 60*time.Second)); err != nil {
				t.Fatalf("Close: %v", err)
			}

			st := r.Stats()
			stored := storedCells(srv)
			for i := range workers * perWorker {
				j := i % perWorker
				if j%badEvery == 7 || j%badEvery == 70 {
					continue
				}
				if n := stored[testCell(i)]; n != 1 {
					t.Errorf("sale %d stored %d times, want once", i, n)
				}
			}
			if got := int64(len(srv.Sales())); got != wants.Load() {
				t.Errorf("server stored %d sales, want %d", got, wants.Load())
			}
			rejected := rj.snapshot()
			if int64(len(rejected)) != badCampaign.Load()+badCell.Load() {
				t.Errorf("OnRejected saw %d sales, want %d", len(rejected), badCampaign.Load()+badCell.Load())
			}
			for k, errs := range rejected {
				if len(errs) != 1 {
					t.Errorf("OnRejected called %d times for %s", len(errs), k)
				}
				if strings.HasPrefix(k, "no-such-campaign/") && !errors.Is(errs[0], dripcel.ErrCampaignNotFound) {
					t.Errorf("rejection of %s: %v, want ErrCampaignNotFound", k, errs[0])
				}
			}
			lost := st.Reported - st.Sent - st.Duplicates - st.Rejected
			t.Logf("reported %d (%d twice), delivered %d (sent %d + duplicates %d), rejected %d, lost %d, retries %d, requests %d",
				st.Reported, dups.Load(), st.Sent+st.Duplicates, st.Sent, st.Duplicates, st.Rejected, lost, st.Retries, len(srv.Requests()))
			switch {
			case st.Reported != reported.Load():
				t.Errorf("Stats.Reported = %d, want %d", st.Reported, reported.Load())
			case lost != 0 || st.Queued != 0:
				t.Errorf("lost %d, still queued %d; want 0", lost, st.Queued)
			case st.Rejected != badCampaign.Load()+badCell.Load():
				t.Errorf("Stats.Rejected = %d, want %d", st.Rejected, badCampaign.Load()+badCell.Load())
			case st.Duplicates < dups.Load():
				t.Errorf("Stats.Duplicates = %d, want at least %d", st.Duplicates, dups.Load())
			case st.Retries == 0:
				t.Error("Stats.Retries = 0, but faults were injected")
			case st.Err != nil:
				t.Errorf("Stats.Err = %v", st.Err)
			}
		})
	}
}

// TestReporterBatchHoldingDuplicate checks that a batch refused because it
// holds one duplicate loses nothing, whether Dripcel stores the rest of the
// batch or nothing of it.
func TestReporterBatchHoldingDuplicate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mode       dripceltest.BatchMode
		sent, dups int64
		split      int
	}{
		// The rest was stored: both halves are refused, then each sale
		// comes back 409 alone.
		{"partial", dripceltest.BatchPartial, 0, 4, 2 + 4},
		// Nothing was stored: the half without the duplicate is accepted,
		// the other is asked about sale by sale.
		{"atomic", dripceltest.BatchAtomic, 3, 1, 2 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := reporterServer(t, dripceltest.WithBatchMode(tc.mode))
			c := reporterClient(t, srv)
			if err := c.UploadSales(context.Background(), []dripcel.Sale{testSale(2)}); err != nil {
				t.Fatal(err)
			}
			// The four are queued before the Reporter starts, so that they
			// go as one batch: reported one by one after it starts, they
			// could meet its first claim, made at once.
			path := filepath.Join(t.TempDir(), "sales.spool")
			writeSpool(t, path, salesFromTo(1, 5)...)
			r := newReporter(t, c, dripcel.WithSpool(path), dripcel.WithMaxBatch(4), dripcel.WithFlushInterval(time.Hour))
			if err := r.Flush(within(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			st := r.Stats()
			if st.Sent != tc.sent || st.Duplicates != tc.dups || st.Queued != 0 {
				t.Errorf("sent %d, duplicates %d, queued %d; want %d, %d, 0", st.Sent, st.Duplicates, st.Queued, tc.sent, tc.dups)
			}
			stored := storedCells(srv)
			for i := 1; i <= 4; i++ {
				if stored[testCell(i)] != 1 {
					t.Errorf("sale %d stored %d times", i, stored[testCell(i)])
				}
			}
			// The batch of four, then what the client's split asks.
			if n := len(srv.Requests()); n != 1+1+tc.split {
				t.Errorf("%d requests, want %d (setup, the batch, %d to settle it)", n, 2+tc.split, tc.split)
			}
		})
	}
}

func TestReporterDuplicateCountedNotResent(t *testing.T) {
	srv := reporterServer(t)
	r := newReporter(t, reporterClient(t, srv), dripcel.WithFlushInterval(time.Millisecond))
	report(t, r, testSale(1))
	if err := r.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	report(t, r, testSale(1))
	if err := r.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	// More flush intervals pass with nothing to send.
	report(t, r, testSale(2))
	if err := r.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Sent != 2 || st.Duplicates != 1 {
		t.Errorf("sent %d, duplicates %d; want 2, 1", st.Sent, st.Duplicates)
	}
	reqs := srv.Requests()
	if before != 2 || len(reqs) != 3 || reqs[1].Status != http.StatusConflict {
		t.Errorf("requests %+v: want the duplicate sent once", reqs)
	}
}

func TestReporterRejectedOnce(t *testing.T) {
	// Stores nothing from the refused batch, as this test expects.
	srv := reporterServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic))
	var rj rejections
	r := newReporter(t, reporterClient(t, srv), dripcel.WithMaxBatch(3),
		dripcel.WithFlushInterval(time.Hour), dripcel.WithOnRejected(rj.record))
	bad := testSale(2)
	bad.CampaignID = "unknown"
	report(t, r, testSale(1), bad, testSale(3))
	if err := r.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	got := rj.snapshot()
	errs := got["unknown/"+bad.Cell]
	if len(got) != 1 || len(errs) != 1 || !errors.Is(errs[0], dripcel.ErrCampaignNotFound) {
		t.Fatalf("OnRejected got %v; want one ErrCampaignNotFound for the unknown campaign", got)
	}
	if st := r.Stats(); st.Rejected != 1 || st.Sent != 2 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	if stored := storedCells(srv); stored[testCell(1)] != 1 || stored[testCell(3)] != 1 {
		t.Errorf("stored %v", stored)
	}
}

// timedTransport records when each request starts.
type timedTransport struct {
	mu    sync.Mutex
	times []time.Time
}

func (tt *timedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tt.mu.Lock()
	tt.times = append(tt.times, time.Now())
	tt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// The client waits out a 429 within a call; once it gives up, the Reporter
// waits at least as long again before its next try, so its retries are
// paced by the budget too.
func TestReporterHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		wait         time.Duration // asked for by each 429
	}{
		{"Retry-After", "1", time.Second},
		{"the window without Retry-After", "", 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := reporterServer(t)
			limited := 1 + dripcel.DefaultMaxRateLimitWaits // one call's worth
			srv.RateLimit(limited, tc.header)
			tt := &timedTransport{}
			budget := dripcel.WithRateLimit(1_000_000, time.Millisecond)
			if tc.header == "" {
				budget = dripcel.WithRateLimit(1_000_000, tc.wait)
			}
			c := reporterClient(t, srv, budget, dripcel.WithMaxRetries(0), dripcel.WithHTTPClient(&http.Client{Transport: tt}))
			r := newReporter(t, c, dripcel.WithFlushInterval(time.Millisecond))
			report(t, r, testSale(1))
			if err := r.Flush(within(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
			tt.mu.Lock()
			times := slices.Clone(tt.times)
			tt.mu.Unlock()
			if len(times) != limited+1 {
				t.Fatalf("%d requests, want %d", len(times), limited+1)
			}
			for i := 1; i < len(times); i++ {
				if gap := times[i].Sub(times[i-1]); gap < tc.wait {
					t.Errorf("request %d came %s after the one before; the 429 asked for %s", i+1, gap, tc.wait)
				}
			}
			if st := r.Stats(); st.Retries != 1 || st.Sent != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestReporterUnauthorizedStopsAndKeepsSales(t *testing.T) {
	srv := reporterServer(t, dripceltest.WithKey("right-key"))
	path := filepath.Join(t.TempDir(), "sales.spool")
	wrong, err := dripcel.NewClient("wrong-key", dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithRetryWait(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r := newReporter(t, wrong, dripcel.WithSpool(path), dripcel.WithFlushInterval(time.Millisecond))
	report(t, r, testSale(1), testSale(2), testSale(3))
	err = r.Flush(within(t, 10*time.Second))
	if !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Fatalf("Flush = %v, want ErrUnauthorized", err)
	}
	if err := r.Flush(within(t, 10*time.Second)); !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Fatalf("second Flush = %v, want ErrUnauthorized", err)
	}
	st := r.Stats()
	if !errors.Is(st.Err, dripcel.ErrUnauthorized) || st.Queued != 3 || st.Spooled != 3 {
		t.Errorf("stats %+v: want ErrUnauthorized and 3 queued", st)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests after a 401, want 1", n)
	}
	err = r.Close(within(t, 10*time.Second))
	if !errors.Is(err, dripcel.ErrUnauthorized) || !strings.Contains(err.Error(), "3 sales") {
		t.Fatalf("Close = %v, want ErrUnauthorized naming 3 sales", err)
	}

	// With the right key, the next Reporter delivers them.
	r2 := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(path))
	if err := r2.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Sales()); got != 3 {
		t.Errorf("stored %d sales, want 3", got)
	}
}

func TestReporterCrashResumesFromSpoolInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.spool")
	hung := reporterServer(t)
	hung.Delay(1000, time.Hour)
	r := newReporter(t, reporterClient(t, hung), dripcel.WithSpool(path),
		dripcel.WithMaxBatch(20), dripcel.WithFlushInterval(time.Millisecond), dripcel.WithQueueSize(30))
	var want []string
	for i := range 50 {
		report(t, r, testSale(i))
		want = append(want, testCell(i))
	}
	dripcel.AbandonReporter(r)
	if err := r.Report(context.Background(), testSale(99)); err == nil {
		t.Fatal("Report after the crash succeeded")
	}

	srv := reporterServer(t)
	r2 := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(path), dripcel.WithMaxBatch(20))
	if st := r2.Stats(); st.Resumed != 50 || st.Queued != 50 {
		t.Fatalf("resumed %d, queued %d; want 50", st.Resumed, st.Queued)
	}
	if err := r2.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := storedOrder(srv); !slices.Equal(got, want) {
		t.Fatalf("stored %v\nwant %v", got, want)
	}
	if n := len(hung.Sales()); n != 0 {
		t.Errorf("the hung server stored %d", n)
	}
}

// storeThenHang passes requests to the server, and once, after the server
// has answered an upload, holds the answer back until the request is
// cancelled: Dripcel stored the batch, but the Reporter never learns it.
type storeThenHang struct {
	once   sync.Once
	stored chan struct{}
}

func (s *storeThenHang) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost {
		return resp, err
	}
	hang := false
	s.once.Do(func() { hang = true })
	if !hang {
		return resp, nil
	}
	_ = resp.Body.Close()
	close(s.stored)
	<-req.Context().Done()
	return nil, req.Context().Err()
}

func TestReporterCrashMidBatch(t *testing.T) {
	for _, mode := range []dripceltest.BatchMode{dripceltest.BatchPartial, dripceltest.BatchAtomic} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sales.spool")
			// The sales are in the spool before the Reporter starts, so
			// that its first claim is a whole batch: sales reported one by
			// one after it starts could meet a claim made after the first.
			writeSpool(t, path, salesFromTo(0, 12)...)
			srv := reporterServer(t, dripceltest.WithBatchMode(mode))
			sth := &storeThenHang{stored: make(chan struct{})}
			c := reporterClient(t, srv, dripcel.WithHTTPClient(&http.Client{Transport: sth}))
			r := newReporter(t, c, dripcel.WithSpool(path), dripcel.WithMaxBatch(10), dripcel.WithFlushInterval(time.Hour))
			select {
			case <-sth.stored:
			case <-time.After(10 * time.Second):
				t.Fatal("the first batch was never sent")
			}
			dripcel.AbandonReporter(r) // crash with the answer in flight
			if n := len(srv.Sales()); n != 10 {
				t.Fatalf("server stored %d before the crash, want the batch of 10", n)
			}

			r2 := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(path), dripcel.WithMaxBatch(10))
			if err := r2.Close(within(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			st := r2.Stats()
			stored := storedCells(srv)
			for i := range 12 {
				if stored[testCell(i)] != 1 {
					t.Errorf("sale %d stored %d times", i, stored[testCell(i)])
				}
			}
			if st.Resumed != 12 || st.Duplicates != 10 || st.Sent != 2 {
				t.Errorf("resumed %d, duplicates %d, sent %d; want 12, 10, 2", st.Resumed, st.Duplicates, st.Sent)
			}
		})
	}
}

// gate holds every request until it is opened (or the request ends).
type gate struct {
	open     chan struct{}
	arrived  chan struct{}
	arriveMu sync.Once
}

func newGate() *gate { return &gate{open: make(chan struct{}), arrived: make(chan struct{})} }

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.arriveMu.Do(func() { close(g.arrived) })
	select {
	case <-g.open:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestReporterQueueFullReturnsAtOnce checks that Report never holds up a
// checkout: with the in-memory queue full it returns ErrQueueFull at once,
// even with a context that never ends.
func TestReporterQueueFullReturnsAtOnce(t *testing.T) {
	srv := reporterServer(t)
	g := newGate()
	c := reporterClient(t, srv, dripcel.WithHTTPClient(&http.Client{Transport: g}))
	r := newReporter(t, c, dripcel.WithQueueSize(2), dripcel.WithMaxBatch(1), dripcel.WithFlushInterval(time.Millisecond))
	report(t, r, testSale(1), testSale(2))
	<-g.arrived

	returned := make(chan error, 1)
	go func() { returned <- r.Report(context.Background(), testSale(3)) }()
	select {
	case err := <-returned:
		if !errors.Is(err, dripcel.ErrQueueFull) || errors.Is(err, dripcel.ErrReporterClosed) ||
			!strings.Contains(err.Error(), "not queued") {
			t.Fatalf("Report on a full queue = %v; want ErrQueueFull saying the sale was not queued", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Report on a full queue did not return: it held up its caller")
	}
	if st := r.Stats(); st.Queued != 2 || st.Reported != 2 {
		t.Errorf("queued %d, reported %d; want 2, 2", st.Queued, st.Reported)
	}
	close(g.open)
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := []string{testCell(1), testCell(2)}
	if got := storedOrder(srv); !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// TestReporterQueueFullWaitsWhenAsked checks WithWaitWhenFull: Report waits
// for room until its context ends.
func TestReporterQueueFullWaitsWhenAsked(t *testing.T) {
	srv := reporterServer(t)
	g := newGate()
	c := reporterClient(t, srv, dripcel.WithHTTPClient(&http.Client{Transport: g}))
	r := newReporter(t, c, dripcel.WithQueueSize(2), dripcel.WithMaxBatch(1),
		dripcel.WithFlushInterval(time.Millisecond), dripcel.WithWaitWhenFull())
	report(t, r, testSale(1), testSale(2))
	<-g.arrived

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.Report(cancelled, testSale(3))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, dripcel.ErrQueueFull) ||
		errors.Is(err, dripcel.ErrReporterClosed) || !strings.Contains(err.Error(), "not queued") {
		t.Fatalf("Report on a full queue = %v; want ErrQueueFull and context.Canceled, saying the sale was not queued", err)
	}
	err = r.Report(within(t, 20*time.Millisecond), testSale(3))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, dripcel.ErrQueueFull) {
		t.Fatalf("Report on a full queue = %v; want ErrQueueFull and DeadlineExceeded", err)
	}

	waited := make(chan error, 1)
	go func() { waited <- r.Report(context.Background(), testSale(4)) }()
	select {
	case err := <-waited:
		t.Fatalf("Report returned %v while the queue was full", err)
	default:
	}
	if st := r.Stats(); st.Queued != 2 {
		t.Errorf("queued %d, want 2", st.Queued)
	}
	close(g.open)
	if err := <-waited; err != nil {
		t.Fatalf("waiting Report: %v", err)
	}
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := []string{testCell(1), testCell(2), testCell(4)}
	if got := storedOrder(srv); !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

func TestReporterSpoolIsNotBoundByQueueSize(t *testing.T) {
	srv := reporterServer(t)
	g := newGate()
	c := reporterClient(t, srv, dripcel.WithHTTPClient(&http.Client{Transport: g}))
	r := newReporter(t, c, dripcel.WithSpool(filepath.Join(t.TempDir(), "s")),
		dripcel.WithQueueSize(3), dripcel.WithMaxBatch(2), dripcel.WithFlushInterval(time.Millisecond))
	var want []string
	for i := range 20 {
		if err := r.Report(context.Background(), testSale(i)); err != nil {
			t.Fatalf("Report %d: %v", i, err)
		}
		want = append(want, testCell(i))
	}
	if st := r.Stats(); st.Queued != 20 || st.Spooled != 20 {
		t.Errorf("queued %d, spooled %d; want 20, 20", st.Queued, st.Spooled)
	}
	close(g.open)
	if err := r.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := storedOrder(srv); !slices.Equal(got, want) {
		t.Errorf("stored %v\nwant %v", got, want)
	}
}

// TestReporterStalledSpoolBoundedByContext checks that a disk write that
// stalls holds Report up only until its context ends, and that the sale,
// once the disk comes back, is delivered (reporting it again is then
// answered as a duplicate: nothing is lost or counted twice).
func TestReporterStalledSpoolBoundedByContext(t *testing.T) {
	srv := reporterServer(t)
	r := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(filepath.Join(t.TempDir(), "s")),
		dripcel.WithFlushInterval(time.Millisecond))
	release := make(chan struct{})
	stalled := make(chan struct{}, 1)
	dripcel.StallSpool(r, func() {
		select {
		case stalled <- struct{}{}:
		default:
		}
		<-release
	})
	returned := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { returned <- r.Report(ctx, testSale(1)) }()
	<-stalled
	cancel()
	select {
	case err := <-returned:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "reporting it again is safe") {
			t.Fatalf("Report on a stalled disk = %v; want context.Canceled, saying a second report is safe", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Report on a stalled disk did not return when its context ended")
	}
	close(release)
	report(t, r, testSale(1)) // the caller reports it again
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if stored := storedCells(srv); stored[testCell(1)] != 1 || len(stored) != 1 {
		t.Errorf("stored %v, want sale 1 once", stored)
	}
}

func TestReporterCloseDeadline(t *testing.T) {
	t.Run("spool", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sales.spool")
		hung := reporterServer(t)
		hung.Delay(1000, time.Hour)
		r := newReporter(t, reporterClient(t, hung), dripcel.WithSpool(path), dripcel.WithFlushInterval(time.Millisecond))
		report(t, r, testSale(1), testSale(2), testSale(3), testSale(4), testSale(5))
		err := r.Close(within(t, 50*time.Millisecond))
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "5 sales remain queued") ||
			!strings.Contains(err.Error(), path) {
			t.Fatalf("Close = %v; want DeadlineExceeded naming 5 sales and the spool", err)
		}
		if err := r.Report(context.Background(), testSale(6)); !errors.Is(err, dripcel.ErrReporterClosed) {
			t.Fatalf("Report after Close = %v; want ErrReporterClosed", err)
		}
		if again := r.Close(context.Background()); again == nil || again.Error() != err.Error() {
			t.Errorf("second Close = %v, want the first result", again)
		}

		// The spool is free at once.
		srv := reporterServer(t)
		r2, err := dripcel.NewReporter(reporterClient(t, srv), dripcel.WithSpool(path))
		if err != nil {
			t.Fatalf("NewReporter right after Close: %v", err)
		}
		if st := r2.Stats(); st.Resumed != 5 {
			t.Errorf("resumed %d, want 5", st.Resumed)
		}
		if err := r2.Close(within(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Sales()); n != 5 {
			t.Errorf("stored %d, want 5", n)
		}
	})
	t.Run("memory", func(t *testing.T) {
		hung := reporterServer(t)
		hung.Delay(1000, time.Hour)
		r := newReporter(t, reporterClient(t, hung), dripcel.WithFlushInterval(time.Millisecond))
		report(t, r, testSale(1), testSale(2), testSale(3))
		err := r.Close(within(t, 50*time.Millisecond))
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 sales remain queued") ||
			!strings.Contains(err.Error(), "lost") {
			t.Fatalf("Close = %v; want DeadlineExceeded naming 3 lost sales", err)
		}
		err = r.Flush(context.Background())
		if !errors.Is(err, dripcel.ErrReporterClosed) || !strings.Contains(err.Error(), "3 sales remain queued") {
			t.Errorf("Flush after a Close that gave up = %v; want ErrReporterClosed naming 3 sales", err)
		}
	})
}

func TestReporterReportAfterClose(t *testing.T) {
	srv := reporterServer(t)
	r := newReporter(t, reporterClient(t, srv))
	report(t, r, testSale(1))
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Sales()); n != 1 {
		t.Errorf("Close delivered %d sales, want 1", n)
	}
	if err := r.Report(context.Background(), testSale(2)); !errors.Is(err, dripcel.ErrReporterClosed) ||
		errors.Is(err, dripcel.ErrQueueFull) || !strings.Contains(err.Error(), "not queued") {
		t.Errorf("Report after Close = %v; want ErrReporterClosed saying the sale was not queued", err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close with nothing queued = %v", err)
	}
}

func TestReporterValidatesLikeUploadSales(t *testing.T) {
	srv := reporterServer(t)
	c := reporterClient(t, srv, dripcel.WithCellRegion("ZA"))
	r := newReporter(t, c)
	for _, s := range []dripcel.Sale{
		{Cell: "0821234567"},
		{CampaignID: reporterCampaign},
		{CampaignID: reporterCampaign, Cell: "12345"},
	} {
		if err := r.Report(context.Background(), s); !errors.Is(err, dripcel.ErrInvalidSale) {
			t.Errorf("Report(%+v) = %v, want ErrInvalidSale", s, err)
		}
	}
	if st := r.Stats(); st.Reported != 0 || st.Queued != 0 {
		t.Errorf("invalid sales were queued: %+v", st)
	}
}

func TestReporterCopiesSaleValue(t *testing.T) {
	srv := reporterServer(t)
	r := newReporter(t, reporterClient(t, srv))
	v := 100.0
	s := testSale(1)
	s.SaleValue = &v
	report(t, r, s)
	v = 1
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := srv.Sales(); len(got) != 1 || got[0].SaleValue != 100 {
		t.Errorf("stored %+v, want value 100", got)
	}
}

func TestNewReporterRefusesForeignOrBusySpool(t *testing.T) {
	srv := reporterServer(t)
	c := reporterClient(t, srv)
	dir := t.TempDir()

	foreign := filepath.Join(dir, "orders.csv")
	content := bytes.Repeat([]byte("order,cell,value\n"), 500)
	if err := os.WriteFile(foreign, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := dripcel.NewReporter(c, dripcel.WithSpool(foreign)); err == nil {
		_ = r.Close(context.Background())
		t.Fatal("NewReporter accepted a CSV file as its spool")
	} else if !strings.Contains(err.Error(), "not a dripcel spool") {
		t.Errorf("error %q does not say the file is not a spool", err)
	}
	if after, _ := os.ReadFile(foreign); !bytes.Equal(after, content) {
		t.Fatal("the foreign file was changed")
	}

	path := filepath.Join(dir, "sales.spool")
	newReporter(t, c, dripcel.WithSpool(path))
	if r2, err := dripcel.NewReporter(c, dripcel.WithSpool(path)); err == nil {
		_ = r2.Close(context.Background())
		t.Fatal("two Reporters opened one spool")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q does not say the spool is in use", err)
	}
}

func TestReporterOptionsValidated(t *testing.T) {
	srv := reporterServer(t)
	c := reporterClient(t, srv)
	for name, opt := range map[string]dripcel.ReporterOption{
		"WithSpool":         dripcel.WithSpool(" "),
		"WithFlushInterval": dripcel.WithFlushInterval(0),
		"WithMaxBatch":      dripcel.WithMaxBatch(0),
		"WithQueueSize":     dripcel.WithQueueSize(-1),
	} {
		if r, err := dripcel.NewReporter(c, opt); err == nil || !strings.Contains(err.Error(), name) {
			if r != nil {
				_ = r.Close(context.Background())
			}
			t.Errorf("%s: NewReporter = %v, want an error naming the option", name, err)
		}
	}
	if _, err := dripcel.NewReporter(nil); err == nil {
		t.Error("NewReporter(nil) succeeded")
	}
}

func TestReporterNeverShowsKey(t *testing.T) {
	const canary = "canary-key-7f3a9c"
	srv := reporterServer(t, dripceltest.WithKey("other"))
	c, err := dripcel.NewClient(canary, dripcel.WithBaseURL(srv.URL), testBudget)
	if err != nil {
		t.Fatal(err)
	}
	r := newReporter(t, c, dripcel.WithSpool(filepath.Join(t.TempDir(), "s")), dripcel.WithFlushInterval(time.Millisecond))
	report(t, r, testSale(1))
	flushErr := r.Flush(within(t, 10*time.Second))
	closeErr := r.Close(within(t, 10*time.Second))
	for _, s := range []string{
		fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s %q", r, r, r, r, r),
		fmt.Sprintf("%+v", struct{ R *dripcel.Reporter }{r}),
		fmt.Sprintf("%+v", r.Stats()), fmt.Sprint(flushErr), fmt.Sprint(closeErr),
	} {
		if strings.Contains(s, canary) {
			t.Errorf("key shown in %q", s)
		}
	}
	if flushErr == nil || closeErr == nil {
		t.Errorf("Flush = %v, Close = %v; want 401 errors", flushErr, closeErr)
	}
}

// TestReporterFixesSoldAtAtReport checks that a sale without SoldAt is
// dated when it is reported, not when Dripcel receives it: a sale sent a
// day late, or sent again, must keep its date.
func TestReporterFixesSoldAtAtReport(t *testing.T) {
	later := time.Now().AddDate(0, 0, 3)
	srv := reporterServer(t, dripceltest.WithClock(func() time.Time { return later }))
	r := newReporter(t, reporterClient(t, srv))
	s := testSale(1)
	s.SoldAt = time.Time{}
	before := time.Now()
	report(t, r, s)
	after := time.Now()
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	got := srv.Sales()
	if len(got) != 1 {
		t.Fatalf("stored %d sales", len(got))
	}
	stored, err := time.ParseInLocation("2006-01-02 15:04:05", got[0].SoldAt, time.Local)
	if err != nil {
		t.Fatalf("stored soldAt %q: %v", got[0].SoldAt, err)
	}
	if stored.Before(before.Truncate(time.Second)) || stored.After(after) {
		t.Errorf("stored soldAt %s, want the time of Report (%s to %s)", stored, before, after)
	}
}

// TestReporterRefTravelsWithTheSale checks that the caller's reference
// stays with a sale in every queue, across a restart of the spool too,
// comes back with its refusal, and is never sent to Dripcel.
func TestReporterRefTravelsWithTheSale(t *testing.T) {
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprint("spool=", spooled), func(t *testing.T) {
			srv := reporterServer(t)
			path := filepath.Join(t.TempDir(), "s")
			var opts []dripcel.ReporterOption
			if spooled {
				// Reported through one Reporter, delivered by the next.
				hung := reporterServer(t)
				hung.Delay(1000, time.Hour)
				r := newReporter(t, reporterClient(t, hung), dripcel.WithSpool(path))
				bad := testSale(2)
				bad.CampaignID, bad.Ref = "unknown", "order-2"
				good := testSale(1)
				good.Ref = "order-1"
				report(t, r, good, bad)
				dripcel.AbandonReporter(r)
				opts = append(opts, dripcel.WithSpool(path))
			}
			var got []string
			var mu sync.Mutex
			opts = append(opts, dripcel.WithOnRejected(func(s dripcel.Sale, err error) {
				mu.Lock()
				got = append(got, s.Ref)
				mu.Unlock()
			}))
			r := newReporter(t, reporterClient(t, srv), opts...)
			if !spooled {
				bad := testSale(2)
				bad.CampaignID, bad.Ref = "unknown", "order-2"
				good := testSale(1)
				good.Ref = "order-1"
				report(t, r, good, bad)
			}
			if err := r.Close(within(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, []string{"order-2"}) {
				t.Errorf("OnRejected saw refs %q, want [order-2]", got)
			}
			if stored := storedCells(srv); stored[testCell(1)] != 1 {
				t.Errorf("stored %v", stored)
			}
		})
	}
}

// refRecorder keeps every request's body and query.
type refRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (b *refRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	b.mu.Lock()
	b.seen = append(b.seen, req.URL.RawQuery+" "+string(body))
	b.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// TestReporterNeverSendsRef checks that the caller's reference stays on
// this side: no request to Dripcel carries it.
func TestReporterNeverSendsRef(t *testing.T) {
	srv := reporterServer(t)
	rec := &refRecorder{}
	c := reporterClient(t, srv, dripcel.WithHTTPClient(&http.Client{Transport: rec}))
	r := newReporter(t, c, dripcel.WithSpool(filepath.Join(t.TempDir(), "s")))
	s := testSale(1)
	s.Ref = "order-ref-5f2c"
	report(t, r, s)
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.Postback(context.Background(), s); !errors.Is(err, dripcel.ErrDuplicateSale) {
		t.Fatalf("Postback = %v, want ErrDuplicateSale", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) != 2 {
		t.Fatalf("%d requests, want 2", len(rec.seen))
	}
	for _, seen := range rec.seen {
		if strings.Contains(seen, "order-ref") {
			t.Errorf("a request carried the Ref: %s", seen)
		}
	}
}

// TestReporterProxyPageKeepsSales checks issue 10's proxy case on the
// Reporter's own queues: a front answering with HTML pages (a 404, a 200)
// neither removes nor rejects a sale; the answers are counted in Stats,
// with the last one, and logged at Info; the sales go once Dripcel answers.
func TestReporterProxyPageKeepsSales(t *testing.T) {
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprint("spool=", spooled), func(t *testing.T) {
			srv := reporterServer(t)
			srv.FailWithBody(4, http.StatusNotFound, "<html><body><h1>404 Not Found</h1><hr>nginx</body></html>")
			srv.FailWithBody(2, http.StatusOK, "<html><body>Sign in</body></html>")
			var logs logBuffer
			c := reporterClient(t, srv, dripcel.WithMaxRetries(0), dripcel.WithLogger(logs.logger()))
			var rj rejections
			opts := []dripcel.ReporterOption{dripcel.WithMaxBatch(5), dripcel.WithFlushInterval(time.Millisecond),
				dripcel.WithOnRejected(rj.record)}
			if spooled {
				opts = append(opts, dripcel.WithSpool(filepath.Join(t.TempDir(), "s")))
			}
			r := newReporter(t, c, opts...)
			for i := range 20 {
				report(t, r, testSale(i))
			}
			if err := r.Flush(within(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := rj.snapshot(); len(got) != 0 {
				t.Errorf("OnRejected saw %v after proxy pages", got)
			}
			stored := storedCells(srv)
			for i := range 20 {
				if stored[testCell(i)] != 1 {
					t.Errorf("sale %d stored %d times", i, stored[testCell(i)])
				}
			}
			st := r.Stats()
			if st.NotFromDripcel == 0 || !errors.Is(st.LastNotFromDripcel, dripcel.ErrNotFromDripcel) || st.Rejected != 0 {
				t.Errorf("stats %+v: want the proxy's answers counted and nothing rejected", st)
			}
			if out := logs.String(); !strings.Contains(out, `"level":"INFO","msg":"dripcel: reporter: the answer was not from Dripcel`) {
				t.Errorf("no Info line about the answers not from Dripcel:\n%s", out)
			}
		})
	}
}

// The Reporter waits out a server's Retry-After before sending again, but
// no longer than a day: a long one (100000 s, reported as such in
// APIError.RetryAfter) does not hold its queue for longer.
func TestReporterCapsLongRetryAfter(t *testing.T) {
	srv := reporterServer(t)
	r := newReporter(t, reporterClient(t, srv, testBudget))
	if d := dripcel.ReporterBackoff(r, 1, 100000*time.Second); d != dripcel.MaxReporterRetryAfter {
		t.Errorf("wait after Retry-After 100000: %v, want %v", d, dripcel.MaxReporterRetryAfter)
	}
	if d := dripcel.ReporterBackoff(r, 1, math.MaxInt64); d != dripcel.MaxReporterRetryAfter {
		t.Errorf("wait after the longest Retry-After: %v, want %v", d, dripcel.MaxReporterRetryAfter)
	}
	if d := dripcel.ReporterBackoff(r, 1, 90*time.Minute); d != 90*time.Minute {
		t.Errorf("wait after Retry-After 90m: %v, want it honoured", d)
	}
}
