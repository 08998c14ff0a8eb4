package dripcel_test

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"slices"
	"testing"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// streamServer is a fake Dripcel that knows campaign "c1".
func streamServer(t *testing.T, opts ...dripceltest.Option) *dripceltest.Server {
	t.Helper()
	opts = append([]dripceltest.Option{
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "c1", Country: "ZA", DefaultSaleValue: 10}),
	}, opts...)
	return dripceltest.NewServer(t, opts...)
}

func streamClient(t *testing.T, srv *dripceltest.Server, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	opts = append([]dripcel.Option{
		dripcel.WithBaseURL(srv.URL),
		dripcel.WithMaxRetries(0),
		testBudget,
	}, opts...)
	c, err := dripcel.NewClient(srv.Key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// streamSale is a valid sale for campaign c1 with a distinct cell.
func streamSale(i int) dripcel.Sale {
	return dripcel.Sale{CampaignID: "c1", Cell: "2763123" + string(rune('0'+i/1000%10)) +
		string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))}
}

// countingSeq yields sales from sale(i) for i < n, calls before(i) before
// each, and records how many were asked for.
type countingSeq struct {
	n      int
	sale   func(i int) (dripcel.Sale, error)
	before func(i int)
	asked  int
}

func (s *countingSeq) seq() iter.Seq2[dripcel.Sale, error] {
	return func(yield func(dripcel.Sale, error) bool) {
		for i := 0; i < s.n; i++ {
			if s.before != nil {
				s.before(i)
			}
			s.asked++
			sale, err := s.sale(i)
			if !yield(sale, err) {
				return
			}
		}
	}
}

func okSale(i int) (dripcel.Sale, error) { return streamSale(i), nil }

func TestUploadSalesSeqSendsEachBatchBeforeReadingTheNext(t *testing.T) {
	srv := streamServer(t)
	c := streamClient(t, srv, dripcel.WithBatchSize(3))
	src := &countingSeq{n: 7, sale: okSale}
	src.before = func(i int) {
		// Batches of 3: when sale i is asked for, i/3 batches are sent.
		if got, want := len(srv.Requests()), i/3; got != want {
			t.Errorf("before reading sale %d: %d requests, want %d", i, got, want)
		}
	}
	if err := c.UploadSalesSeq(context.Background(), src.seq()); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range srv.Requests() {
		sizes = append(sizes, r.Sales)
	}
	if len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 1 {
		t.Errorf("batch sizes %v, want [3 3 1]", sizes)
	}
	if got := len(srv.Sales()); got != 7 {
		t.Errorf("server stored %d sales, want 7", got)
	}
}

func TestUploadSalesSeqEmpty(t *testing.T) {
	srv := streamServer(t)
	c := streamClient(t, srv)
	src := &countingSeq{n: 0, sale: okSale}
	if err := c.UploadSalesSeq(context.Background(), src.seq()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests for an empty stream", n)
	}
}

func TestUploadSalesSeqStopsAtInvalidSale(t *testing.T) {
	srv := streamServer(t)
	c := streamClient(t, srv, dripcel.WithBatchSize(2))
	src := &countingSeq{n: 6, sale: func(i int) (dripcel.Sale, error) {
		s := streamSale(i)
		if i == 3 {
			s.Cell = " "
		}
		return s, nil
	}}
	err := c.UploadSalesSeq(context.Background(), src.seq())

	if !errors.Is(err, dripcel.ErrInvalidSale) {
		t.Fatalf("err = %v, want ErrInvalidSale", err)
	}
	var verr *dripcel.ValidationError
	if !errors.As(err, &verr) || verr.Index != 3 || verr.Field != "cell" {
		t.Fatalf("ValidationError = %+v, want index 3, field cell", verr)
	}
	checkStoppedAtSale3(t, err, src, srv)
}

// checkStoppedAtSale3 checks an upload in batches of 2 that stopped when it
// read sale 3: sales 0-1 went out as a batch, 2 was read and held, and
// nothing after 3 was read.
func checkStoppedAtSale3(t *testing.T, err error, src *countingSeq, srv *dripceltest.Server) {
	t.Helper()
	var upErr *dripcel.UploadError
	if !errors.As(err, &upErr) {
		t.Fatalf("err = %T, want *UploadError", err)
	}
	if upErr.Total != 4 || len(upErr.Batches) != 1 {
		t.Fatalf("UploadError = %+v, want Total 4 and one batch", upErr)
	}
	if b := upErr.Batches[0]; b.First != 2 || b.Last != 3 || b.Sent {
		t.Errorf("batch = %+v, want sales 2-3 not sent", b)
	}
	if src.asked != 4 {
		t.Errorf("the stream was read to sale %d; nothing after sale 3 should be", src.asked-1)
	}
	if got := len(srv.Sales()); got != 2 {
		t.Errorf("server stored %d sales, want the 2 sent before sale 3", got)
	}
}

func TestUploadSalesSeqReadError(t *testing.T) {
	srv := streamServer(t)
	c := streamClient(t, srv, dripcel.WithBatchSize(2))
	errDisk := errors.New("disk on fire")
	src := &countingSeq{n: 5, sale: func(i int) (dripcel.Sale, error) {
		if i == 2 {
			return dripcel.Sale{}, errDisk
		}
		return streamSale(i), nil
	}}
	err := c.UploadSalesSeq(context.Background(), src.seq())
	if !errors.Is(err, errDisk) {
		t.Fatalf("err = %v, want the read error", err)
	}
	var upErr *dripcel.UploadError
	if !errors.As(err, &upErr) {
		t.Fatalf("err = %T, want *UploadError", err)
	}
	if failed := upErr.Failed(); len(failed) != 1 || failed[0] != 2 {
		t.Errorf("Failed() = %v, want [2]", failed)
	}
	if got := len(srv.Sales()); got != 2 {
		t.Errorf("server stored %d sales, want 2", got)
	}
}

func TestUploadSalesSeqCancelledMidStream(t *testing.T) {
	srv := streamServer(t)
	c := streamClient(t, srv, dripcel.WithBatchSize(2))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &countingSeq{n: 100, sale: okSale}
	src.before = func(i int) {
		if i == 3 {
			cancel()
		}
	}
	err := c.UploadSalesSeq(ctx, src.seq())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	checkStoppedAtSale3(t, err, src, srv)
}

func TestUploadSalesSeqAggregatesBatchErrors(t *testing.T) {
	// A server that refuses the whole batch holding an unknown campaign,
	// the one behaviour this test's per-batch expectations hold for.
	srv := streamServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic))
	c := streamClient(t, srv, dripcel.WithBatchSize(2))
	src := &countingSeq{n: 7, sale: func(i int) (dripcel.Sale, error) {
		s := streamSale(i)
		if i == 2 || i == 6 {
			s.CampaignID = "unknown"
		}
		return s, nil
	}}
	err := c.UploadSalesSeq(context.Background(), src.seq())
	var upErr *dripcel.UploadError
	if !errors.As(err, &upErr) {
		t.Fatalf("err = %v, want *UploadError", err)
	}
	if !errors.Is(err, dripcel.ErrCampaignNotFound) {
		t.Errorf("err = %v, want ErrCampaignNotFound", err)
	}
	// A 404 does not stop the upload, and the refused batch is sent again
	// in parts: sale 3 is recorded alone, and only the unknown campaigns
	// are refused.
	want := []int{2, 6}
	if got := upErr.Failed(); !slices.Equal(got, want) {
		t.Errorf("Failed() = %v, want %v", got, want)
	}
	for _, b := range upErr.Batches {
		if !b.Sent {
			t.Errorf("batch %d-%d not sent; a 404 must not stop the upload", b.First, b.Last)
		}
	}
	if upErr.Total != 7 {
		t.Errorf("Total = %d, want 7", upErr.Total)
	}
	if got := len(srv.Sales()); got != 5 {
		t.Errorf("server stored %d sales, want 5", got)
	}
}

func TestUploadSalesSeqStopsOnUnauthorized(t *testing.T) {
	srv := streamServer(t)
	c := streamClient(t, srv, dripcel.WithBatchSize(2))
	srv.Fail(1, http.StatusUnauthorized)
	src := &countingSeq{n: 6, sale: okSale}
	err := c.UploadSalesSeq(context.Background(), src.seq())
	if !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	var upErr *dripcel.UploadError
	if !errors.As(err, &upErr) || len(upErr.Batches) != 2 {
		t.Fatalf("err = %+v, want two batches", err)
	}
	if b := upErr.Batches[1]; b.First != 2 || b.Sent {
		t.Errorf("second batch = %+v, want the rest, from 2, not sent", b)
	}
	if len(srv.Requests()) != 1 {
		t.Errorf("%d requests; the upload should stop after the 401", len(srv.Requests()))
	}
}
