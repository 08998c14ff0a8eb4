package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// gateServer holds the first n requests until n are in flight together, so
// a test can see that a client sends n at once. A request whose body names
// campaign "bad" is answered 404, the others 200.
func gateServer(t *testing.T, n int) *httptest.Server {
	t.Helper()
	var (
		mu      sync.Mutex
		arrived int
		open    = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		arrived++
		if arrived == n {
			close(open)
		}
		mu.Unlock()
		select {
		case <-open:
		case <-time.After(10 * time.Second):
			http.Error(w, `{"ok":false,"error":"requests did not overlap"}`, http.StatusInternalServerError)
			return
		}
		if strings.Contains(string(body), `"campaign_id":"bad"`) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"ok":false,"error":"Campaign not found"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestConcurrentUploadKeepsErrorOrder(t *testing.T) {
	srv := gateServer(t, 4)
	c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithMaxRetries(0),
		dripcel.WithBatchSize(1), dripcel.WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	sales := make([]dripcel.Sale, 12)
	for i := range sales {
		sales[i] = dripcel.Sale{CampaignID: "good", Cell: fmt.Sprintf("2763%07d", i)}
	}
	bad := []int{1, 4, 6, 11}
	for _, i := range bad {
		sales[i].CampaignID = "bad"
	}

	err = c.UploadSales(context.Background(), sales)
	var upErr *dripcel.UploadError
	if !errors.As(err, &upErr) {
		t.Fatalf("err = %v, want *UploadError", err)
	}
	if !errors.Is(err, dripcel.ErrCampaignNotFound) || errors.Is(err, dripcel.ErrRateLimited) {
		t.Errorf("err = %v, want only ErrCampaignNotFound", err)
	}
	if got := upErr.Failed(); !slices.Equal(got, bad) {
		t.Errorf("Failed() = %v, want %v in order", got, bad)
	}
	for i, b := range upErr.Batches {
		if b.First != bad[i] || b.Last != bad[i] || !b.Sent {
			t.Errorf("batch %d = %+v, want sale %d sent and refused", i, b, bad[i])
		}
	}
}

func TestConcurrentStreamKeepsErrorOrder(t *testing.T) {
	srv := gateServer(t, 3)
	c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithMaxRetries(0),
		dripcel.WithBatchSize(2), dripcel.WithConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	seq := func(yield func(dripcel.Sale, error) bool) {
		for i := range 10 {
			s := dripcel.Sale{CampaignID: "good", Cell: fmt.Sprintf("2763%07d", i)}
			if i == 0 || i == 5 || i == 9 {
				s.CampaignID = "bad"
			}
			if !yield(s, nil) {
				return
			}
		}
	}
	err = c.UploadSalesSeq(context.Background(), seq)
	var upErr *dripcel.UploadError
	if !errors.As(err, &upErr) {
		t.Fatalf("err = %v, want *UploadError", err)
	}
	// Each refused batch of two is sent again sale by sale: only the bad
	// sales are refused, and their partners are recorded.
	if want := []int{0, 5, 9}; !slices.Equal(upErr.Failed(), want) {
		t.Errorf("Failed() = %v, want %v", upErr.Failed(), want)
	}
	for i, o := range upErr.Outcomes() {
		want := dripcel.Recorded
		if i == 0 || i == 5 || i == 9 {
			want = dripcel.Refused
		}
		if o.Fate != want {
			t.Errorf("sale %d: %v, want %v", i, o.Fate, want)
		}
	}
	if upErr.Total != 10 {
		t.Errorf("Total = %d, want 10", upErr.Total)
	}
}

func TestWithConcurrencyRejectsZero(t *testing.T) {
	if _, err := dripcel.NewClient("key", dripcel.WithConcurrency(0)); err == nil {
		t.Fatal("WithConcurrency(0) accepted")
	}
}
