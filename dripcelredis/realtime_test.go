package dripcelredis_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/internal/fixedwindow"
)

// The budget of the real-time figures: Dripcel's 50 requests a minute per
// organisation, and the 100 KB an Express service accepts in a JSON body.
const (
	realtimeN       = 50
	realtimeMaxBody = 100_000
)

// TestRealtimeSalesPerMinute measures, in real time, how many sales a
// minute reach a fake Dripcel that keeps the budget as express-rate-limit
// does (fixed windows, 429 without Retry-After) and refuses bodies over
// 100,000 bytes with 413: with the client's defaults in one process, with
// the Reporter fed by 8 goroutines, and with four processes sharing a
// dripcelredis limiter. It takes minutes, so it runs only when
// DRIPCEL_REALTIME=1 (scripts/bench --realtime). DRIPCEL_REALTIME_WINDOW
// shortens the window (and so the run); DRIPCEL_REALTIME_SALES sets the
// sales per scenario; DRIPCEL_REALTIME_OUT names the file the figures are
// appended to, one tab-separated line per scenario.
func TestRealtimeSalesPerMinute(t *testing.T) {
	if os.Getenv("DRIPCEL_REALTIME") != "1" {
		t.Skip("real time, minutes: run by scripts/bench --realtime")
	}
	window := time.Minute
	if v := os.Getenv("DRIPCEL_REALTIME_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		window = d
	}
	total := 60_000
	if v := os.Getenv("DRIPCEL_REALTIME_SALES"); v != "" {
		total, _ = strconv.Atoi(v)
	}
	// The defaults, unless the window is shortened: then only the budget's
	// window changes, and every wait the client derives from it.
	var budget []dripcel.Option
	if window != dripcel.DefaultRateWindow {
		budget = append(budget, dripcel.WithRateLimit(realtimeN, window))
	}
	run := func(name string, body func(t *testing.T, url string)) {
		t.Run(name, func(t *testing.T) {
			fw := fixedwindow.New(realtimeN, window, realtimeMaxBody)
			srv := httptest.NewServer(fw)
			defer srv.Close()
			start := time.Now()
			body(t, srv.URL)
			elapsed := time.Since(start)
			report(t, name, fw.Stats(), total, elapsed, window)
		})
	}

	run("defaults, one process, one upload", func(t *testing.T, url string) {
		c, err := dripcel.NewClient("key", append([]dripcel.Option{dripcel.WithBaseURL(url)}, budget...)...)
		if err != nil {
			t.Fatal(err)
		}
		sales := make([]dripcel.Sale, total)
		for i := range sales {
			sales[i] = realisticSale(i)
		}
		if err := c.UploadSales(context.Background(), sales); err != nil {
			t.Errorf("upload: %v", err)
		}
	})

	run("Reporter, 8 goroutines reporting", func(t *testing.T, url string) {
		c, err := dripcel.NewClient("key", append([]dripcel.Option{dripcel.WithBaseURL(url)}, budget...)...)
		if err != nil {
			t.Fatal(err)
		}
		r, err := dripcel.NewReporter(c)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		const goroutines = 8
		for g := range goroutines {
			wg.Go(func() {
				for i := g; i < total; i += goroutines {
					if err := r.Report(context.Background(), realisticSale(i)); err != nil {
						t.Errorf("report: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})

	run("4 processes sharing dripcelredis", func(t *testing.T, url string) {
		rdb := redisClient(t)
		startFleet(t, fleet{url: url, key: testKey(t, rdb), n: realtimeN, window: window, shared: true,
			sales: total / fleetProcesses, realistic: true})
	})
}

// report logs a scenario's figures and appends them to DRIPCEL_REALTIME_OUT:
// name, sales accepted, requests, the fewest requests that could carry the
// sales, 429s, 413s, seconds, sales per window, the ceiling per window.
func report(t *testing.T, name string, st fixedwindow.Stats, want int, elapsed, window time.Duration) {
	t.Helper()
	if st.Sales != want {
		t.Errorf("%d sales accepted, want %d", st.Sales, want)
	}
	if st.Sales == 0 {
		return
	}
	perBody := realtimeMaxBody * st.Sales / max(st.Bytes, 1) // sales that fit in one accepted body
	fewest := (st.Sales + perBody - 1) / perBody
	ceiling := realtimeN * perBody
	perWindow := float64(st.Sales) * float64(window) / float64(elapsed)
	t.Logf("%s: %d sales in %d requests (fewest %d), %d answered 429, %d answered 413, %s: %.0f sales a window of %s, ceiling %d (%.0f%%)",
		name, st.Sales, st.Requests, fewest, st.Limited, st.TooLarge, elapsed.Round(time.Second), perWindow, window, ceiling,
		100*perWindow/float64(ceiling))
	out := os.Getenv("DRIPCEL_REALTIME_OUT")
	if out == "" {
		return
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	_, err = fmt.Fprintf(f, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.0f\t%d\n", name, st.Sales, st.Requests, fewest,
		st.Limited, st.TooLarge, elapsed.Seconds(), perWindow, ceiling)
	if err != nil {
		t.Fatal(err)
	}
}
