package dripcel_test

// Benchmarks of the SDK, each paired with the hand-written baseline of
// baseline_test.go in the same run: compare them with
//
//	go test -run='^$' -bench=. -benchmem -count=10 | benchstat -col /impl -
//
// scripts/bench does this and writes BENCHMARKS.md.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

const benchKey = "bench-key"

// discardServer is a loopback server that reads and discards every request
// body and answers {"ok":true}. It runs in a child process (this test binary
// started again, see benchserver_test.go) so that the allocations and the
// heap a benchmark reports are the client's alone, not the server's too.
func discardServer(b *testing.B) *benchServer {
	b.Helper()
	return startBenchServer(b)
}

// newTransport is a transport of its own for each client, so the SDK and the
// baseline never share connections.
func newTransport(b *testing.B) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	return tr
}

func benchClient(b *testing.B, srv *benchServer, opts ...dripcel.Option) *dripcel.Client {
	b.Helper()
	// The default per-attempt timeout, which WithHTTPClient would replace
	// with hc's (none): the SDK is measured as it is configured by default.
	opts = append([]dripcel.Option{
		dripcel.WithBaseURL(srv.URL),
		dripcel.WithHTTPClient(&http.Client{Transport: newTransport(b)}),
		dripcel.WithTimeout(dripcel.DefaultTimeout),
		testBudget, // the pacing's cost is measured, not its waits
	}, opts...)
	c, err := dripcel.NewClient(benchKey, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchBaseline(b *testing.B, srv *benchServer) *baseClient {
	// A careful client bounds its requests too.
	return newBaseClient(&http.Client{Transport: newTransport(b), Timeout: dripcel.DefaultTimeout}, srv.URL, benchKey)
}

// benchSale is a realistic sale with every field set; i varies the cell.
func benchSale(i int) dripcel.Sale {
	return dripcel.Sale{
		CampaignID: "639978184d735c88ed8bbd68",
		Cell:       "2763" + strconv.Itoa(1000000+i%9000000),
		SoldAt:     time.Date(2025, 10, 14, 9, 2, 51, 0, time.UTC).Add(time.Duration(i) * time.Second),
		SaleValue:  dripcel.Value(99.95),
	}
}

func benchSales(n int) []dripcel.Sale {
	sales := make([]dripcel.Sale, n)
	for i := range sales {
		sales[i] = benchSale(i)
	}
	return sales
}

func benchSizeName(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// baselineFirstEnv makes benchPair run the baseline first. scripts/bench
// sets it in every other round, so that neither side of a pair always
// runs first: on a shared machine, running first or second is not always
// the same.
const baselineFirstEnv = "DRIPCEL_BENCH_BASELINE_FIRST"

// benchPair runs the two sides of a pair as prefix+"impl=sdk" and
// prefix+"impl=baseline", the SDK first unless baselineFirstEnv is set.
func benchPair(b *testing.B, prefix string, sdk, baseline func(*testing.B)) {
	if os.Getenv(baselineFirstEnv) != "" {
		b.Run(prefix+"impl=baseline", baseline)
		b.Run(prefix+"impl=sdk", sdk)
		return
	}
	b.Run(prefix+"impl=sdk", sdk)
	b.Run(prefix+"impl=baseline", baseline)
}

// BenchmarkUpload is UploadSales against the baseline's batch loop.
func BenchmarkUpload(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		sales := benchSales(n)
		sdk := func(b *testing.B) {
			c := benchClient(b, discardServer(b))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.UploadSales(ctx, sales); err != nil {
					b.Fatal(err)
				}
			}
		}
		baseline := func(b *testing.B) {
			c := benchBaseline(b, discardServer(b))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.upload(ctx, sales); err != nil {
					b.Fatal(err)
				}
			}
		}
		benchPair(b, "n="+benchSizeName(n)+"/", sdk, baseline)
	}
}

// BenchmarkUploadFloor is the least any client built on net/http can
// allocate for the 10-sale upload of BenchmarkUpload: one http.Client.Do of
// a body encoded before the loop, headers set directly, the answer read and
// closed. Nothing is encoded, validated or retried. Without a timeout; with
// a 30 s per-request context deadline, the way the SDK bounds an attempt;
// and with a 30 s http.Client.Timeout, the way the baseline does.
// BENCHMARKS.md sets it beside the small-upload target it makes
// unreachable.
func BenchmarkUploadFloor(b *testing.B) {
	srv := discardServer(b)
	base := benchBaseline(b, srv)
	body, err := base.encode(benchSales(10))
	if err != nil {
		b.Fatal(err)
	}
	auth, contentType := []string{base.auth}, []string{"application/json"}
	post := func(ctx context.Context, b *testing.B, hc *http.Client) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.uploadURL, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header["Authorization"] = auth
		req.Header["Content-Type"] = contentType
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("timeout=none", func(b *testing.B) {
		hc := &http.Client{Transport: newTransport(b)}
		b.ReportAllocs()
		for b.Loop() {
			post(context.Background(), b, hc)
		}
	})
	b.Run("timeout=context", func(b *testing.B) {
		hc := &http.Client{Transport: newTransport(b)}
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), dripcel.DefaultTimeout)
			post(ctx, b, hc)
			cancel()
		}
	})
	b.Run("timeout=client", func(b *testing.B) {
		hc := &http.Client{Transport: newTransport(b), Timeout: dripcel.DefaultTimeout}
		b.ReportAllocs()
		for b.Loop() {
			post(context.Background(), b, hc)
		}
	})
}

// BenchmarkPostback is Postback against a url.Values GET.
func BenchmarkPostback(b *testing.B) {
	sale := benchSale(1)
	sdk := func(b *testing.B) {
		c := benchClient(b, discardServer(b))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Postback(ctx, sale); err != nil {
				b.Fatal(err)
			}
		}
	}
	baseline := func(b *testing.B) {
		c := benchBaseline(b, discardServer(b))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := c.postback(ctx, &sale); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchPair(b, "", sdk, baseline)
}

// BenchmarkToInternational is ToInternational against raw phonenumbers
// Parse, IsValidNumber and Format, for a local and an international cell.
func BenchmarkToInternational(b *testing.B) {
	for _, in := range []struct{ name, cell string }{
		{"local", "0631231234"},
		{"international", "27631231234"},
	} {
		sdk := func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := dripcel.ToInternational(in.cell, "ZA"); err != nil || out != "27631231234" {
					b.Fatal(out, err)
				}
			}
		}
		baseline := func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := baseToInternational(in.cell, "ZA"); err != nil || out != "27631231234" {
					b.Fatal(out, err)
				}
			}
		}
		benchPair(b, "input="+in.name+"/", sdk, baseline)
	}
}

// BenchmarkEncodeBatch encodes one batch of 500 sales: the SDK's appender
// into a reused buffer against a fresh wire slice and json.Marshal.
func BenchmarkEncodeBatch(b *testing.B) {
	sales := benchSales(500)
	sdk := func(b *testing.B) {
		c, err := dripcel.NewClient(benchKey, dripcel.WithoutPacing())
		if err != nil {
			b.Fatal(err)
		}
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = dripcel.AppendBatch(c, buf[:0], sales)
		}
		b.SetBytes(int64(len(buf)))
	}
	baseline := func(b *testing.B) {
		c := newBaseClient(nil, "", benchKey)
		var body []byte
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if body, err = c.encode(sales); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(body)))
	}
	benchPair(b, "", sdk, baseline)
}

// heapProbe is a RoundTripper that, every few requests, collects garbage and
// records the live heap (runtime/metrics "/gc/heap/live:bytes"): the peak
// over an upload, less the live heap before it, is the extra memory the
// upload needed at its most, the current batch included.
type heapProbe struct {
	base   http.RoundTripper
	every  int
	n      int
	peak   uint64
	sample []metrics.Sample
}

func newHeapProbe(base http.RoundTripper, every int) *heapProbe {
	return &heapProbe{base: base, every: every, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
}

func (p *heapProbe) live() uint64 {
	runtime.GC()
	metrics.Read(p.sample)
	return p.sample[0].Value.Uint64()
}

func (p *heapProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	if p.n%p.every == 0 {
		p.peak = max(p.peak, p.live())
	}
	p.n++
	return p.base.RoundTrip(req)
}

// measurePeak runs upload once through a probed client and returns the
// peak extra live heap in bytes.
func measurePeak(b *testing.B, srv *benchServer, upload func(*dripcel.Client) error) float64 {
	b.Helper()
	probe := newHeapProbe(newTransport(b), 100)
	c := benchClient(b, srv, dripcel.WithHTTPClient(&http.Client{Transport: probe}))
	// Two collections, so that pooled buffers from earlier runs (kept one
	// cycle in sync.Pool's victim cache) are freed before the baseline.
	probe.live()
	before := probe.live()
	if err := upload(c); err != nil {
		b.Fatal(err)
	}
	probe.peak = max(probe.peak, probe.live())
	return float64(probe.peak) - float64(before)
}

// BenchmarkGrowth is UploadSales from 10 to 1,000,000 sales, and
// UploadSalesSeq of 1,000,000 sales made as they are read: time and bytes
// from the timed loop, and "peak-heap-B", the most extra live heap one
// upload needed (the input slice not counted), from a probed run after it.
func BenchmarkGrowth(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 1000, 100000, 1000000} {
		b.Run("n="+benchSizeName(n)+"/impl=slice", func(b *testing.B) {
			sales := benchSales(n)
			benchGrowth(b, func(c *dripcel.Client) error { return c.UploadSales(ctx, sales) })
		})
	}
	b.Run("n=1M/impl=seq", func(b *testing.B) {
		seq := func(yield func(dripcel.Sale, error) bool) {
			for i := range 1000000 {
				if !yield(benchSale(i), nil) {
					return
				}
			}
		}
		benchGrowth(b, func(c *dripcel.Client) error { return c.UploadSalesSeq(ctx, seq) })
	})
}

func benchGrowth(b *testing.B, upload func(*dripcel.Client) error) {
	srv := discardServer(b)
	c := benchClient(b, srv)
	b.ReportAllocs()
	for b.Loop() {
		if err := upload(c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(measurePeak(b, srv, upload), "peak-heap-B")
}

// BenchmarkPacedUpload uploads 20 batches through WithRateLimit against a
// fake Dripcel that enforces the same limit, scaled from 50 a minute to 50
// a second so that it runs in well under a second, and reports the 429
// answers it provoked: 0 is the point.
func BenchmarkPacedUpload(b *testing.B) {
	srv := dripceltest.NewServer(b,
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "c1", Country: "ZA"}),
		dripceltest.WithRateLimit(50*60, 4))
	c, err := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithMaxRetries(0),
		dripcel.WithBatchSize(10), dripcel.WithRateLimit(50, time.Second))
	if err != nil {
		b.Fatal(err)
	}
	sales := make([]dripcel.Sale, 200)
	ctx := context.Background()
	round := 0
	for b.Loop() {
		for i := range sales {
			// New dates each round, so no sale is a duplicate.
			sales[i] = dripcel.Sale{CampaignID: "c1", Cell: "2763" + strconv.Itoa(1000000+i),
				SoldAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, round)}
		}
		round++
		if err := c.UploadSales(ctx, sales); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.RateLimited())/float64(b.N), "429s/op")
	b.ReportMetric(float64(len(srv.Requests()))/b.Elapsed().Seconds(), "req/s")
}
