package dripcel_test

// Benchmarks of the SDK, each paired with the hand-written baseline of
// baseline_test.go in the same run: compare them with
//
//	go test -run='^$' -bench=. -benchmem -count=10 | benchstat -col /impl -
//
// scripts/bench does this and writes BENCHMARKS.md.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

const benchKey = "bench-key"

// discardServer is a loopback server that reads and discards every request
// body and answers {"ok":true}, so that a benchmark measures the client.
func discardServer(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// newTransport is a transport of its own for each client, so the SDK and the
// baseline never share connections.
func newTransport(b *testing.B) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	return tr
}

func benchClient(b *testing.B, srv *httptest.Server, opts ...dripcel.Option) *dripcel.Client {
	b.Helper()
	opts = append([]dripcel.Option{
		dripcel.WithBaseURL(srv.URL),
		dripcel.WithHTTPClient(&http.Client{Transport: newTransport(b)}),
	}, opts...)
	c, err := dripcel.NewClient(benchKey, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchBaseline(b *testing.B, srv *httptest.Server) *baseClient {
	return newBaseClient(&http.Client{Transport: newTransport(b)}, srv.URL, benchKey)
}

// benchSale is a realistic sale with every field set; i varies the cell.
func benchSale(i int) dripcel.Sale {
	return dripcel.Sale{
		CampaignID: "639978184d735c88ed8bbd68",
		SendID:     "66f0a1b2c3d4e5f60718293a",
		ClickID:    "clk-" + strconv.Itoa(i),
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

// BenchmarkUpload is UploadSales against the baseline's batch loop.
func BenchmarkUpload(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		sales := benchSales(n)
		b.Run("n="+benchSizeName(n)+"/impl=sdk", func(b *testing.B) {
			c := benchClient(b, discardServer(b))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.UploadSales(ctx, sales); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("n="+benchSizeName(n)+"/impl=baseline", func(b *testing.B) {
			c := benchBaseline(b, discardServer(b))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.upload(ctx, sales); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPostback is Postback against a url.Values GET.
func BenchmarkPostback(b *testing.B) {
	sale := benchSale(1)
	b.Run("impl=sdk", func(b *testing.B) {
		c := benchClient(b, discardServer(b))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Postback(ctx, sale); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=baseline", func(b *testing.B) {
		c := benchBaseline(b, discardServer(b))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := c.postback(ctx, &sale); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkToInternational is ToInternational against raw phonenumbers
// Parse, IsValidNumber and Format, for a local and an international cell.
func BenchmarkToInternational(b *testing.B) {
	for _, in := range []struct{ name, cell string }{
		{"local", "0631231234"},
		{"international", "27631231234"},
	} {
		b.Run("input="+in.name+"/impl=sdk", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := dripcel.ToInternational(in.cell, "ZA"); err != nil || out != "27631231234" {
					b.Fatal(out, err)
				}
			}
		})
		b.Run("input="+in.name+"/impl=baseline", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := baseToInternational(in.cell, "ZA"); err != nil || out != "27631231234" {
					b.Fatal(out, err)
				}
			}
		})
	}
}

// BenchmarkEncodeBatch encodes one batch of 500 sales: the SDK's appender
// into a reused buffer against a fresh wire slice and json.Marshal.
func BenchmarkEncodeBatch(b *testing.B) {
	sales := benchSales(500)
	b.Run("impl=sdk", func(b *testing.B) {
		c, err := dripcel.NewClient(benchKey)
		if err != nil {
			b.Fatal(err)
		}
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = dripcel.AppendBatch(c, buf[:0], sales)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("impl=baseline", func(b *testing.B) {
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
	})
}

var _ = fmt.Sprint
