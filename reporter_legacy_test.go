package dripcel_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/internal/spool"
)

// TestReporterDrainsSpoolWrittenBeforeTheIdentifierRule writes a spool as
// a version that required campaign_id and let send_id and click_id come
// with it, then drains it: every such sale is sent by its campaign_id alone
// and stored, none is handed to OnRejected or deleted unsent, and the
// Reporter says once how many it sent that way.
func TestReporterDrainsSpoolWrittenBeforeTheIdentifierRule(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.spool")
	legacy := []dripcel.Sale{testSale(1), testSale(2), testSale(3), testSale(4)}
	legacy[0].ClickID = "click-1"
	legacy[1].SendID = "send-2"
	legacy[2].SendID, legacy[2].ClickID = "send-3", "click-3"
	// legacy[3] names its campaign alone, as most sales did.
	writeSpool(t, path, legacy...)

	srv := reporterServer(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var rejected atomic.Int64
	r := newReporter(t, reporterClient(t, srv, dripcel.WithLogger(logger)), dripcel.WithSpool(path),
		dripcel.WithOnRejected(func(dripcel.Sale, error) { rejected.Add(1) }))
	if err := r.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}

	stored := srv.Sales()
	if len(stored) != len(legacy) {
		t.Fatalf("Dripcel stored %d sales, want %d", len(stored), len(legacy))
	}
	for i, s := range stored {
		if s.CampaignID != reporterCampaign || s.SendID != "" || s.ClickID != "" {
			t.Errorf("stored sale %d = campaign %q send %q click %q; want the campaign alone", i, s.CampaignID, s.SendID, s.ClickID)
		}
	}
	if n := rejected.Load(); n != 0 {
		t.Errorf("%d sales handed to OnRejected", n)
	}
	if st.Legacy != 3 || st.Sent != 4 || st.Rejected != 0 {
		t.Errorf("Stats: Legacy %d, Sent %d, Rejected %d; want 3, 4, 0", st.Legacy, st.Sent, st.Rejected)
	}
	if n := strings.Count(logs.String(), "one-identifier rule"); n != 1 || !strings.Contains(logs.String(), "sales=3") {
		t.Errorf("want one log line counting 3 sales sent by campaign_id alone, got %d:\n%s", n, logs.String())
	}
	// Nothing is left for the next Reporter.
	r2 := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(path))
	if st := r2.Stats(); st.Resumed != 0 {
		t.Errorf("%d sales left in the spool", st.Resumed)
	}
}

// TestReportRefusesSeveralIdentifiers checks that new sales meet the rule
// at Report, before they are queued, while old queued ones are drained.
func TestReportRefusesSeveralIdentifiers(t *testing.T) {
	srv := reporterServer(t)
	r := newReporter(t, reporterClient(t, srv))
	s := testSale(1)
	s.ClickID = "click-1"
	err := r.Report(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "campaign_id, send_id or click_id must be exactly one") {
		t.Fatalf("Report of a sale with campaign and click = %v; want a validation error naming the rule", err)
	}
	s.CampaignID = ""
	if err := r.Report(context.Background(), s); err != nil {
		t.Fatalf("Report of a click-only sale = %v", err)
	}
}

// writeSpool writes sales to a spool file as a Reporter would, before any
// Reporter opens it.
func writeSpool(t *testing.T, path string, sales ...dripcel.Sale) {
	t.Helper()
	sp, err := spool.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sales {
		rec, err := dripcel.EncodeSpoolSale(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
}

// salesFromTo are test sales first to last-1.
func salesFromTo(first, last int) []dripcel.Sale {
	var sales []dripcel.Sale
	for i := first; i < last; i++ {
		sales = append(sales, testSale(i))
	}
	return sales
}
