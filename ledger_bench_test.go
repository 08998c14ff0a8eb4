package dripcel_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// recentSales are n realistic sales dated today, within any retention.
func recentSales(n int) []dripcel.Sale {
	sales := benchSales(n)
	for i := range sales {
		sales[i].SoldAt = today().Add(time.Duration(i%3600) * time.Second)
	}
	return sales
}

// BenchmarkLedgerUploadAgain measures a file of 60,000 realistic sales
// uploaded a second time, against dripceltest: with a FileLedger it costs
// no request, and the time per op is what reading the ledger (and
// validating the sales) costs. Without a ledger (6,000 sales, to keep the
// run short) every request is answered 409 and its sales asked about one
// by one. The figures are requests/sale for the first upload and the
// second.
//
//	go test -run='^$' -bench=LedgerUploadAgain -benchmem
func BenchmarkLedgerUploadAgain(b *testing.B) {
	b.Run("ledger=file/sales=60k", func(b *testing.B) {
		srv := capServer(b)
		l, err := dripcel.OpenFileLedger(filepath.Join(b.TempDir(), "ledger.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Close() })
		c := capClient(b, srv.URL, dripcel.WithLedger(l))
		sales := recentSales(60_000)
		first := requestsFor(b, srv, c, sales)
		var again int
		for b.Loop() {
			before := len(srv.Requests())
			err := c.UploadSales(context.Background(), sales)
			if !errors.Is(err, dripcel.ErrKnownFromLedger) {
				b.Fatalf("second upload: %v, want every sale known from the ledger", err)
			}
			again = len(srv.Requests()) - before
		}
		b.ReportMetric(float64(first)/float64(len(sales)), "requests/sale-first")
		b.ReportMetric(float64(again)/float64(len(sales)), "requests/sale-again")
	})
	b.Run("ledger=none/sales=6k", func(b *testing.B) {
		var first, again, n int
		for b.Loop() {
			srv := capServer(b)
			c := capClient(b, srv.URL)
			sales := recentSales(6000)
			n = len(sales)
			first = requestsFor(b, srv, c, sales)
			before := len(srv.Requests())
			_ = c.UploadSales(context.Background(), sales)
			again = len(srv.Requests()) - before
		}
		b.ReportMetric(float64(first)/float64(n), "requests/sale-first")
		b.ReportMetric(float64(again)/float64(n), "requests/sale-again")
	})
}

// BenchmarkBodyCapRecovery measures, in requests of Dripcel's budget, what
// 20,000 realistic sales cost a fresh client and a client whose upload of
// 2 sales was answered 413 by mistake (the goal: at most 1.1 times), and
// what 60,000 small sales cost against a limit really below the cap
// (30,000 bytes), as a ratio to the fewest requests that could carry them.
//
//	go test -run='^$' -bench=BodyCapRecovery -benchmem
func BenchmarkBodyCapRecovery(b *testing.B) {
	b.Run("after a 413 on 2 sales", func(b *testing.B) {
		var fresh, after int
		for b.Loop() {
			fresh, after = afterSmall413(b, benchSales(20_000))
		}
		b.ReportMetric(float64(fresh), "requests-fresh")
		b.ReportMetric(float64(after), "requests-after-413")
		b.ReportMetric(float64(after)/float64(fresh), "ratio")
	})
	b.Run("limit 30000 bytes", func(b *testing.B) {
		var total, refused, fewest int
		for b.Loop() {
			total, refused, fewest = againstLimit(b, 30_000, 60_000)
		}
		b.ReportMetric(float64(total), "requests")
		b.ReportMetric(float64(refused), "refused")
		b.ReportMetric(float64(total)/float64(fewest), "requests/fewest")
	})
}
