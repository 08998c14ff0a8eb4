package dripcel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// collected is what a manual reader gathered, by instrument name.
type collected map[string]metricdata.Aggregation

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := collected{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/dripcel-go/dripcel" {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// sum adds up the data points of an integer counter whose attributes
// include every one of want.
func (c collected) sum(name string, want ...attribute.KeyValue) int64 {
	s, _ := c[name].(metricdata.Sum[int64])
	var n int64
	for _, dp := range s.DataPoints {
		if hasAll(dp.Attributes, want) {
			n += dp.Value
		}
	}
	return n
}

func (c collected) sumFloat(name string) float64 {
	s, _ := c[name].(metricdata.Sum[float64])
	var n float64
	for _, dp := range s.DataPoints {
		n += dp.Value
	}
	return n
}

func (c collected) histogramCount(name string) uint64 {
	h, _ := c[name].(metricdata.Histogram[float64])
	var n uint64
	for _, dp := range h.DataPoints {
		n += dp.Count
	}
	return n
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// TestTelemetryOfAnUpload: an upload of 1,000 sales, 10 of them already in
// Dripcel, against a Dripcel that answers the first request 429, with an
// OpenTelemetry SDK installed: the request, fate and wait metrics and the
// spans say exactly what the server saw.
func TestTelemetryOfAnUpload(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	srv := dripceltest.NewServer(t, dripceltest.WithKey(canaryKey), dripceltest.WithBatchMode(dripceltest.BatchAtomic),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
	// A limiter that makes every request wait exactly this long: the
	// budget wait recorded is then at least this per request.
	const interval = 2 * time.Millisecond
	c, err := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), dripcel.WithMeterProvider(mp),
		dripcel.WithTracerProvider(tp), dripcel.WithRateLimiter(fixedWait(interval)), dripcel.WithMaxBatchBytes(20_000),
		dripcel.WithRetryWait(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sales := salesN(1000)
	for i := 0; i < 1000; i += 100 {
		if err := c.Postback(ctx, sales[i]); err != nil {
			t.Fatal(err)
		}
	}
	srv.RateLimit(1, "0")
	err = c.UploadSales(ctx, sales)
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || ue.Count(dripcel.AlreadyRecorded) != 10 || ue.Count(dripcel.Recorded) != 990 {
		t.Fatalf("upload: %v", err)
	}

	var uploads, ok, refused, limited int
	for _, r := range srv.Requests() {
		if r.Path != "/sales" {
			continue
		}
		uploads++
		switch r.Status {
		case 200:
			ok++
		case 429:
			limited++
		default:
			refused++
		}
	}
	m := collect(t, reader)
	upload, postback := attribute.String("dripcel.call", "upload"), attribute.String("dripcel.call", "postback")
	class := func(c string) attribute.KeyValue { return attribute.String("dripcel.status_class", c) }
	fate := func(f string) attribute.KeyValue { return attribute.String("dripcel.fate", f) }
	for _, tt := range []struct {
		what      string
		got, want int64
	}{
		{"upload requests", m.sum("dripcel.client.requests", upload), int64(uploads)},
		{"upload 2xx", m.sum("dripcel.client.requests", upload, class("2xx")), int64(ok)},
		{"upload 4xx", m.sum("dripcel.client.requests", upload, class("4xx")), int64(refused + limited)},
		{"postback 2xx", m.sum("dripcel.client.requests", postback, class("2xx")), 10},
		{"429s", m.sum("dripcel.client.rate_limited", upload), 1},
		{"recorded by the upload", m.sum("dripcel.client.sales", upload, fate("recorded")), 990},
		{"already recorded", m.sum("dripcel.client.sales", upload, fate("already_recorded")), 10},
		{"recorded by postback", m.sum("dripcel.client.sales", postback, fate("recorded")), 10},
		{"refused", m.sum("dripcel.client.sales", fate("refused")), 0},
		{"request durations", int64(m.histogramCount("dripcel.client.request.duration")), int64(uploads + 10)},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.what, tt.got, tt.want)
		}
	}
	if limited != 1 || refused == 0 {
		t.Fatalf("the server saw %d 429s and %d refusals; the test expects 1 and some", limited, refused)
	}
	// Every request, retries included, waited its turn.
	if w, least := m.sumFloat("dripcel.client.budget.wait"), (time.Duration(uploads+10) * interval).Seconds(); w < least {
		t.Errorf("budget wait %.3fs, want at least %.3fs", w, least)
	}

	var top trace.SpanContext
	var clientSpans int
	for _, s := range spans.Ended() {
		for _, kv := range s.Attributes() {
			if v := kv.Value.String(); strings.Contains(v, canaryKey) || strings.Contains(v, "2763") || strings.Contains(v, "?") {
				t.Errorf("span %s attribute %s = %q holds the key, a cell or a query", s.Name(), kv.Key, v)
			}
		}
		switch s.Name() {
		case "dripcel.UploadSales":
			top = s.SpanContext()
			want := map[string]int64{"dripcel.sales": 1000, "dripcel.sales.recorded": 990, "dripcel.sales.already_recorded": 10,
				"dripcel.sales.refused": 0, "dripcel.sales.not_delivered": 0}
			for _, kv := range s.Attributes() {
				if w, ok := want[string(kv.Key)]; ok && kv.Value.AsInt64() != w {
					t.Errorf("upload span %s = %d, want %d", kv.Key, kv.Value.AsInt64(), w)
				}
			}
		case "POST":
			clientSpans++
			if s.SpanKind() != trace.SpanKindClient {
				t.Errorf("POST span kind %v", s.SpanKind())
			}
			if url := attr(s, "url.full"); url != srv.URL+"/sales" {
				t.Errorf("POST span url.full %q", url)
			}
		}
	}
	if !top.IsValid() || clientSpans != uploads {
		t.Fatalf("spans: upload span %v, %d POST spans; want one and %d", top.IsValid(), clientSpans, uploads)
	}
	for _, s := range spans.Ended() {
		if s.Name() == "POST" && s.Parent().SpanID() != top.SpanID() {
			t.Errorf("a POST span's parent is %v, not the upload's span", s.Parent().SpanID())
		}
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// fixedWait is a Limiter whose every turn comes after the same wait.
type fixedWait time.Duration

func (d fixedWait) Wait(ctx context.Context) error {
	select {
	case <-time.After(time.Duration(d)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gauge reads the single data point of a gauge whose attributes include
// want.
func (c collected) gauge(name string, want ...attribute.KeyValue) (float64, bool) {
	switch g := c[name].(type) {
	case metricdata.Gauge[int64]:
		for _, dp := range g.DataPoints {
			if hasAll(dp.Attributes, want) {
				return float64(dp.Value), true
			}
		}
	case metricdata.Gauge[float64]:
		for _, dp := range g.DataPoints {
			if hasAll(dp.Attributes, want) {
				return dp.Value, true
			}
		}
	}
	return 0, false
}

// TestReporterTelemetry: while Dripcel is down the queue gauges show the
// sales waiting and the age of the oldest, in memory and in a spool; a
// sale Dripcel refuses is counted as handed to OnRejected.
func TestReporterTelemetry(t *testing.T) {
	for _, kind := range []string{"memory", "spool"} {
		t.Run(kind, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			srv := reporterServer(t)
			c := reporterClient(t, srv, dripcel.WithMeterProvider(mp))
			var opts []dripcel.ReporterOption
			if kind == "spool" {
				opts = append(opts, dripcel.WithSpool(t.TempDir()+"/sales.spool"))
			}
			srv.Fail(dripceltest.UntilCleared, 503)
			r := newReporter(t, c, append(opts, dripcel.WithFlushInterval(time.Hour))...)
			report(t, r, testSale(1), testSale(2), testSale(3))
			before := time.Now()
			m := collect(t, reader)
			queue := attribute.String("dripcel.queue", kind)
			if n, ok := m.gauge("dripcel.reporter.queue.length", queue); !ok || n != 3 {
				t.Errorf("queue length %v (%v), want 3", n, ok)
			}
			age, ok := m.gauge("dripcel.reporter.queue.oldest_age", queue)
			if !ok || age <= 0 || age > time.Since(before.Add(-time.Minute)).Seconds() {
				t.Errorf("oldest age %v (%v), want a few milliseconds", age, ok)
			}
			if st := r.Stats(); st.Oldest <= 0 {
				t.Errorf("Stats().Oldest = %v", st.Oldest)
			}

			srv.ClearFaults()
			bad := testSale(4)
			bad.CampaignID = "deleted-campaign"
			report(t, r, bad)
			if err := r.Flush(within(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			m = collect(t, reader)
			if n := m.sum("dripcel.reporter.rejected", queue); n != 1 {
				t.Errorf("rejected %d, want 1", n)
			}
			if n, _ := m.gauge("dripcel.reporter.queue.length", queue); n != 0 {
				t.Errorf("queue length after the flush %v, want 0", n)
			}
			if age, _ := m.gauge("dripcel.reporter.queue.oldest_age", queue); age != 0 {
				t.Errorf("oldest age after the flush %v, want 0", age)
			}
		})
	}
}

// A span's status never quotes an error's text: a validation error names
// the cell it could not convert, and that cell must not reach a trace.
func TestUploadSpanStatusHoldsNoCell(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	srv := dripceltest.NewServer(t, dripceltest.WithKey(canaryKey),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
	c, err := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), dripcel.WithTracerProvider(tp),
		dripcel.WithCellRegion("ZA"), testBudget)
	if err != nil {
		t.Fatal(err)
	}
	const cell = "0639871"
	bad := []dripcel.Sale{{CampaignID: "camp-1", Cell: "0631231234"}, {CampaignID: "camp-1", Cell: cell}}
	if err := c.UploadSales(context.Background(), bad); !errors.Is(err, dripcel.ErrInvalidCell) {
		t.Fatalf("err = %v, want ErrInvalidCell", err)
	}
	// And a refused sale: the upload's error then quotes Dripcel's words.
	if err := c.UploadSales(context.Background(), []dripcel.Sale{{CampaignID: "nope", Cell: "0631231234"}}); err == nil {
		t.Fatal("an unknown campaign was recorded")
	}
	n := 0
	for _, s := range spans.Ended() {
		if s.Name() != "dripcel.UploadSales" {
			continue
		}
		n++
		if st := s.Status(); st.Code != codes.Error || strings.Contains(st.Description, cell) || strings.Contains(st.Description, "0631231234") {
			t.Errorf("span status %v %q: want an error without a cell", st.Code, st.Description)
		}
	}
	if n != 2 {
		t.Errorf("%d upload spans, want 2", n)
	}
}
