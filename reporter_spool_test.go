package dripcel_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/internal/spool"
)

// TestNewReporterRefusesUnreadableRecord checks that a spool holding a
// record the Reporter cannot read is refused whole and left as it was,
// rather than skipped (which would lose the sale in it) or rewritten.
func TestNewReporterRefusesUnreadableRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.spool")
	sp, err := spool.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Append([]byte("not a sale record")); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	srv := reporterServer(t)
	r, err := dripcel.NewReporter(reporterClient(t, srv), dripcel.WithSpool(path))
	if err == nil {
		_ = r.Close(context.Background())
		t.Fatal("NewReporter accepted a spool with an unreadable record")
	}
	if !strings.Contains(err.Error(), "record 1 cannot be read") || !strings.Contains(err.Error(), "left untouched") {
		t.Errorf("error %q does not name the record and say the file was kept", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the refused spool was changed")
	}
}

// TestReporterSpoolReportAfterClose checks that a Reporter with a spool
// refuses sales after Close with ErrReporterClosed and writes nothing more
// to the file, which the next Reporter opens empty.
func TestReporterSpoolReportAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.spool")
	srv := reporterServer(t)
	r := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(path))
	report(t, r, testSale(1))
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	err := r.Report(context.Background(), testSale(2))
	if !errors.Is(err, dripcel.ErrReporterClosed) || !strings.Contains(err.Error(), "not queued") {
		t.Fatalf("Report after Close = %v; want ErrReporterClosed saying the sale was not queued", err)
	}
	r2 := newReporter(t, reporterClient(t, srv), dripcel.WithSpool(path))
	if st := r2.Stats(); st.Resumed != 0 || st.Queued != 0 {
		t.Errorf("the spool kept sales after Close: %+v", st)
	}
	if n := len(srv.Sales()); n != 1 {
		t.Errorf("the server recorded %d sales, want 1", n)
	}
}
