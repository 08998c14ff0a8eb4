package upload_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// Short names for the helpers every test of the command uses.
type (
	invocation = clitest.Invocation
	result     = clitest.Result
)

var (
	runCLI       = clitest.Run
	newServer    = clitest.NewServer
	env          = clitest.Env
	writeFile    = clitest.WriteFile
	readFile     = clitest.ReadFile
	stored       = clitest.Stored
	wantStored   = clitest.WantStored
	wantContains = clitest.WantContains
	summaryLine  = clitest.SummaryLine
)

// The campaigns, send and clicks every test server knows.
const (
	campaign  = clitest.Campaign
	campaign2 = clitest.Campaign2
)

// wantNoFile fails the test if path exists: a rejects file is written only
// when some row needs action.
func wantNoFile(t *testing.T, path string) {
	t.Helper()
	if b, err := os.ReadFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (%v), holding %q; want no file", path, err, b)
	}
}

// writeSales writes a CSV of n distinct sales and returns its path.
func writeSales(t *testing.T, n int) string {
	t.Helper()
	return writeSalesOn(t, n, "2025-10-14")
}

// writeSalesOn is writeSales with the sales sold on date (YYYY-MM-DD).
func writeSalesOn(t *testing.T, n int, date string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("sales-%d.csv", n))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	// Write errors stick in w and come back from Flush.
	// Each sale names its campaign and no send or click: a sale names one
	// identifier, and the send and click IDs would have to be known to the
	// server besides.
	_, _ = fmt.Fprintln(w, "campaign_id,order,cell,soldAt,saleValue")
	for i := range n {
		// Distinct cells (all valid ZA mobile numbers), so none is a duplicate.
		_, _ = fmt.Fprintf(w, "c1,order-%07d,0%d%08d,%s 09:02:51,%d.%02d\n", i, 6+i/100000000%3, i%100000000, date, i%1000, i%100)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
