//go:build unix

package upload_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// uploadChangedMidway uploads a file of 3,000 rows and, while its first
// request is held, replaces the line of row 2902 (cell 27630002900) with
// changed. The file is larger than the reader's buffer, so the send pass
// reads that row only after the first request.
func uploadChangedMidway(t *testing.T, changed string) (*dripceltest.Server, result) {
	t.Helper()
	srv := newServer(t)
	g := newGate(t, srv.URL)
	var b strings.Builder
	b.WriteString("campaign_id,cell,soldAt\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "c1,2763%07d,2025-10-14\n", i)
	}
	path := writeFile(t, "sales.csv", b.String())
	run := start(t, invocation{
		Args: []string{"upload", "--quiet", "--batch-size", "50", path},
		Env:  map[string]string{"DRIPCEL_API_KEY": srv.Key, "DRIPCEL_BASE_URL": g.URL},
	})
	select {
	case <-g.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("no request arrived")
	}
	content := strings.Replace(b.String(), "c1,27630002900,2025-10-14\n", changed, 1)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	g.open()
	return srv, run.wait()
}

// TestUploadFileChangedAfterSending changes the file while its first
// request is held, so that the send pass cannot read it past a later row:
// requests were sent, so the exit code is 4, not 2 (which says nothing
// was sent), and the summary says where to go on from.
func TestUploadFileChangedAfterSending(t *testing.T) {
	srv, r := uploadChangedMidway(t, "c1,2763\"0002900,2025-10-14\n")
	r.WantCode(t, 4)
	wantContains(t, "stderr", r.Stderr, "(the file changed since it was checked?)")
	wantContains(t, "stdout", r.Stdout, "run the same command again with --from-row")
	if len(srv.Sales()) == 0 {
		t.Error("nothing was sent: the test proves nothing")
	}
}

// TestUploadRowInvalidAfterCheck makes a row that was valid when checked
// invalid while the first request is held (its cell left out): the send
// pass stops at it instead of skipping it uncounted, exits 4 and says
// where to go on from, and every sale it handed over was sent once.
func TestUploadRowInvalidAfterCheck(t *testing.T) {
	srv, r := uploadChangedMidway(t, "c1,,2025-10-14\n")
	r.WantCode(t, 4)
	wantContains(t, "stderr", r.Stderr, "row 2902 was valid when checked and is not now")
	wantContains(t, "stdout", r.Stdout, "run the same command again with --from-row")
	sales := srv.Sales()
	if len(sales) == 0 || len(sales) > 2900 {
		t.Errorf("%d sales sent, want some, and none from row 2902 on", len(sales))
	}
	for _, s := range sales {
		if s.Cell >= "27630002900" {
			t.Errorf("sale %s sent: it is at or after the changed row", s.Cell)
		}
	}
}
