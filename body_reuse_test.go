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
	"sync/atomic"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// Upload bodies are recycled. net/http may still be writing a body when the
// response has arrived (the server answered before reading it), so a body
// must not be reused until the transport has closed it. This server answers
// every other request at once, unread, and checks that every body it does
// read is one intact batch: a recycled buffer overwritten while still being
// sent would show up here as a malformed or mixed batch, and under -race as
// a data race.
func TestRecycledBodiesAreNeverSentTorn(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			_, _ = io.WriteString(w, `{"ok":true}`) // early, body unread
			return
		}
		var batch []struct {
			ClickID string `json:"click_id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			http.Error(w, `{"ok":false,"error":"torn body: `+err.Error()+`"}`, http.StatusBadRequest)
			return
		}
		for i := 1; i < len(batch); i++ {
			prev, _ := strconv.Atoi(strings.TrimPrefix(batch[i-1].ClickID, "k"))
			cur, _ := strconv.Atoi(strings.TrimPrefix(batch[i].ClickID, "k"))
			if cur != prev+1 {
				http.Error(w, fmt.Sprintf(`{"ok":false,"error":"mixed batch: %s after %s"}`,
					batch[i].ClickID, batch[i-1].ClickID), http.StatusBadRequest)
				return
			}
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	c, err := dripcel.NewClient("key", dripcel.WithBaseURL(srv.URL), testBudget, dripcel.WithMaxRetries(0),
		dripcel.WithBatchSize(60), dripcel.WithConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	sales := make([]dripcel.Sale, 3000)
	for i := range sales {
		// About 130 bytes a sale, so a batch is well over the size below
		// which bodies are sent as plain copies.
		sales[i] = dripcel.Sale{ClickID: "k" + strconv.Itoa(i), Cell: fmt.Sprintf("2763%07d", i), SaleValue: dripcel.Value(float64(i))}
	}
	for round := range 3 {
		if err := c.UploadSales(context.Background(), sales); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
