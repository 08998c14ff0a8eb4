package dripcel_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// hungReporter starts a Reporter whose server holds every request: Report
// must not notice.
func hungReporter(b *testing.B, opts ...dripcel.ReporterOption) (*dripcel.Reporter, func()) {
	b.Helper()
	srv := dripceltest.Start(dripceltest.WithCampaigns(dripceltest.Campaign{ID: reporterCampaign, Country: "ZA"}))
	srv.Delay(1<<30, time.Hour)
	c, err := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithoutPacing())
	if err != nil {
		b.Fatal(err)
	}
	r, err := dripcel.NewReporter(c, append([]dripcel.ReporterOption{dripcel.WithMaxBatch(100)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return r, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_ = r.Close(ctx) // the sales cannot be delivered: the server hangs
		srv.Close()
	}
}

// BenchmarkReportMemoryServerHung is the latency of Report without a spool
// while Dripcel hangs. The queue is replaced, off the clock, before it fills.
func BenchmarkReportMemoryServerHung(b *testing.B) {
	const queue = 1 << 16
	r, stop := hungReporter(b, dripcel.WithQueueSize(queue))
	ctx := context.Background()
	s := testSale(1)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if n == queue {
			b.StopTimer()
			stop()
			r, stop = hungReporter(b, dripcel.WithQueueSize(queue))
			n = 0
			b.StartTimer()
		}
		if err := r.Report(ctx, s); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	stop()
}

// BenchmarkReportSpoolServerHung is the latency of Report with a spool
// while Dripcel hangs: each sale is on disk (fsync'd) when Report returns.
func BenchmarkReportSpoolServerHung(b *testing.B) {
	r, stop := hungReporter(b, dripcel.WithSpool(filepath.Join(b.TempDir(), "sales.spool")))
	defer stop()
	ctx := context.Background()
	s := testSale(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Report(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReportSpoolServerHungParallel is the same with 16 goroutines per
// CPU reporting at once, as a busy checkout does: concurrent Reports share
// one fsync.
func BenchmarkReportSpoolServerHungParallel(b *testing.B) {
	r, stop := hungReporter(b, dripcel.WithSpool(filepath.Join(b.TempDir(), "sales.spool")))
	defer stop()
	s := testSale(1)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := r.Report(ctx, s); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
