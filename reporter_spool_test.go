package dripcel_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
