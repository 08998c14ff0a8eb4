package dripcel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// bodyRecorder records the sales of every upload body it is sent, as
// click IDs, and the body sizes.
type bodyRecorder struct {
	mu      sync.Mutex
	batches [][]string
	cells   []string
	sizes   []int
}

func (rs *bodyRecorder) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var batch []struct {
			ClickID string `json:"click_id"`
			Cell    string `json:"cell"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			http.Error(w, `{"ok":false,"error":"bad body"}`, http.StatusBadRequest)
			return
		}
		ids := make([]string, len(batch))
		rs.mu.Lock()
		for i, s := range batch {
			ids[i], _, _ = strings.Cut(s.ClickID, "-")
			rs.cells = append(rs.cells, s.Cell)
		}
		rs.batches = append(rs.batches, ids)
		rs.sizes = append(rs.sizes, len(body))
		rs.mu.Unlock()
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Sales of about 1 KiB each: a batch of 200 would be 200 KiB, so the loop
// must cut batches at DefaultMaxBatchBytes, keep every sale, in order, and never
// send a body over the limit, whether sales come from a slice or a stream.
func TestBatchesAreCutAtMaxBatchBytes(t *testing.T) {
	sales := make([]dripcel.Sale, 500)
	for i := range sales {
		sales[i] = dripcel.Sale{Cell: "2763" + fmt.Sprintf("%07d", i),
			ClickID: strconv.Itoa(i) + "-" + strings.Repeat("x", 1000)}
	}
	for _, stream := range []bool{false, true} {
		rs := &bodyRecorder{}
		srv := rs.start(t)
		c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		if stream {
			err = c.UploadSalesSeq(context.Background(), func(yield func(dripcel.Sale, error) bool) {
				for _, s := range sales {
					if !yield(s, nil) {
						return
					}
				}
			})
		} else {
			err = c.UploadSales(context.Background(), sales)
		}
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		next := 0
		for b, ids := range rs.batches {
			if rs.sizes[b] > dripcel.DefaultMaxBatchBytes {
				t.Errorf("stream=%v: body %d is %d bytes, over %d", stream, b, rs.sizes[b], dripcel.DefaultMaxBatchBytes)
			}
			if len(ids) < 2 {
				t.Errorf("stream=%v: body %d holds %d sales; batches are cut too early", stream, b, len(ids))
			}
			for _, id := range ids {
				if id != strconv.Itoa(next) {
					t.Fatalf("stream=%v: sale %s sent where %d was due", stream, id, next)
				}
				next++
			}
		}
		if next != len(sales) {
			t.Errorf("stream=%v: %d sales sent, want %d", stream, next, len(sales))
		}
	}
}

// A single sale larger than DefaultMaxBatchBytes still goes, alone.
func TestOversizedSaleIsSentAlone(t *testing.T) {
	rs := &bodyRecorder{}
	srv := rs.start(t)
	c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	sales := []dripcel.Sale{
		{Cell: "27631231230", ClickID: "0"},
		{Cell: "27631231231", ClickID: "1-" + strings.Repeat("x", dripcel.DefaultMaxBatchBytes)},
		{Cell: "27631231232", ClickID: "2"},
	}
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	if len(rs.batches) != 3 {
		t.Fatalf("%d bodies %v, want 3: before, the big sale alone, after", len(rs.batches), rs.batches)
	}
	if rs.batches[1][0] != "1" || len(rs.batches[1]) != 1 {
		t.Errorf("second body holds %v, want the big sale alone", rs.batches[1])
	}
}

// With WithCellRegion an upload converts each cell once, keeping the
// converted cells of the first sales from validation; past that cache the
// cells are converted again as they are sent. Both must send the same.
func TestCellRegionConvertsEveryCell(t *testing.T) {
	rs := &bodyRecorder{}
	srv := rs.start(t)
	c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithMaxRetries(0),
		dripcel.WithCellRegion("ZA"), dripcel.WithBatchSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	const n = 1<<14 + 50 // past the cache of converted cells
	sales := make([]dripcel.Sale, n)
	for i := range sales {
		sales[i] = dripcel.Sale{CampaignID: "c" + strconv.Itoa(i/9000), Cell: "063 123 " + strconv.Itoa(1000+i%9000)}
	}
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	if len(rs.cells) != n {
		t.Fatalf("%d cells sent, want %d", len(rs.cells), n)
	}
	for i, cell := range rs.cells {
		if want := "2763123" + strconv.Itoa(1000+i%9000); cell != want {
			t.Fatalf("sale %d: cell %q sent, want %q", i, cell, want)
		}
	}
}
