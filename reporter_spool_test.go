package dripcel_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
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

// TestReporterSpoolRecordDamagedAfterOpen checks that a spooled sale whose
// record the disk damaged after NewReporter checked the file is not lost
// without a word: the other sales are sent, Stats counts it, Close says
// where it is, and the file keeps it for someone to recover.
func TestReporterSpoolRecordDamagedAfterOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.spool")
	srv := reporterServer(t)
	g := newGate()
	c := reporterClient(t, srv, dripcel.WithHTTPClient(&http.Client{Transport: g}))
	r := newReporter(t, c, dripcel.WithSpool(path), dripcel.WithQueueSize(1), dripcel.WithMaxBatch(1),
		dripcel.WithFlushInterval(time.Millisecond))
	report(t, r, testSale(1))
	<-g.arrived // sale 1 is held in flight, so the others wait in the spool alone
	report(t, r, testSale(2), testSale(3), testSale(4), testSale(5))
	if n := damageRecords(t, path, testCell(3)); n == 0 {
		t.Fatal("sale 3's record was not found in the spool file")
	}
	close(g.open)

	err := r.Close(within(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), "1 spooled sale could not be read back") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Close = %v; want an error counting 1 damaged sale and naming the spool", err)
	}
	if st := r.Stats(); st.Damaged != 1 || st.Sent != 4 || st.Queued != 0 {
		t.Errorf("damaged %d, sent %d, queued %d; want 1, 4, 0", st.Damaged, st.Sent, st.Queued)
	}
	stored := storedCells(srv)
	for _, i := range []int{1, 2, 4, 5} {
		if stored[testCell(i)] != 1 {
			t.Errorf("sale %d stored %d times, want once", i, stored[testCell(i)])
		}
	}
	if stored[testCell(3)] != 0 {
		t.Error("the damaged sale was sent")
	}
	if r2, err := dripcel.NewReporter(reporterClient(t, srv), dripcel.WithSpool(path)); err == nil {
		_ = r2.Close(context.Background())
		t.Error("NewReporter accepted the spool holding the damaged record")
	}
}

// damageRecords changes the format byte of every copy of the spool record
// holding cell, as a failing disk might, while the spool is open: bbolt
// reads through a shared mapping, so the Reporter sees the change. It
// returns how many copies it changed (pages bbolt has freed may hold old
// copies).
func damageRecords(t *testing.T, path, cell string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	n := 0
	for from := 0; ; {
		i := bytes.Index(data[from:], []byte(cell))
		if i < 0 {
			return n
		}
		at := from + i
		from = at + len(cell)
		start := bytes.LastIndex(data[max(0, at-200):at], []byte(`{"c":`))
		if start < 0 {
			continue
		}
		version := max(0, at-200) + start - 1
		if version < 0 || data[version] != 1 {
			continue
		}
		if _, err := f.WriteAt([]byte{0x7f}, int64(version)); err != nil {
			t.Fatal(err)
		}
		n++
	}
}
