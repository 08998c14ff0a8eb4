package upload_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// TestUploadHonestOutcome uploads rows of each fate under each batch
// behaviour: the summary separates them, and the rejects file holds only
// the rows that need action, each with its reason.
func TestUploadHonestOutcome(t *testing.T) {
	// Row 2 is in Dripcel already (withEarlierSale), row 4's campaign is
	// unknown, row 5's cell Dripcel cannot read (no --region: sent as
	// written), rows 3 and 6 are new.
	content := "campaign_id,cell,soldAt\n" +
		"c1,27725550101,2025-10-13\n" +
		"c1,27631231234,2025-10-14\n" +
		"nope,27821234567,2025-10-14\n" +
		"c1,12345,2025-10-14\n" +
		"c2,27845550199,2025-10-14\n"
	for _, mode := range []dripceltest.BatchMode{dripceltest.BatchAtomic, dripceltest.BatchPartial, dripceltest.BatchPrefix} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := newServer(t, dripceltest.WithBatchMode(mode))
			withEarlierSale(t, srv)
			rejects := filepath.Join(t.TempDir(), "rejects.csv")
			r := runCLI(t, env(srv), "upload", "--quiet", "--rejects", rejects, writeFile(t, "sales.csv", content))
			r.WantCode(t, 1)
			if n := len(srv.Sales()); n != 3 {
				t.Errorf("server holds %d sales, want 3 (the earlier one and rows 3 and 6)", n)
			}
			want := map[string]string{
				"campaign not found": "campaign not found 1 row 4",
				"refused":            "refused 1 row 5",
				"invalid":            "invalid 0",
			}
			if mode == dripceltest.BatchAtomic {
				// Nothing of a refused request is stored: every answer is
				// the row's own.
				want["recorded"] = "recorded 2"
				want["already in Dripcel"] = "already in Dripcel 1 row 2"
			}
			for outcome, w := range want {
				if got := summaryLine(t, r.Stdout, outcome); got != w {
					t.Errorf("summary %q, want %q", got, w)
				}
			}
			// The summary says why, under the count.
			wantContains(t, "stdout", r.Stdout, "  refused             1   row 5\n      1 row: refused by Dripcel: 400 Invalid cell\n")
			if strings.Contains(r.Stdout, "not delivered") {
				t.Errorf("rows not delivered:\n%s", r.Stdout)
			}
			wantRejects := "campaign_id,cell,soldAt,row,reason\n" +
				"nope,27821234567,2025-10-14,4,\"campaign not found: \"\"nope\"\"\"\n" +
				"c1,12345,2025-10-14,5,refused by Dripcel: 400 Invalid cell\n"
			if got := readFile(t, rejects); got != wantRejects {
				t.Errorf("rejects\n%s\nwant\n%s", got, wantRejects)
			}
		})
	}
	t.Run("an answer not from Dripcel", func(t *testing.T) {
		srv := newServer(t)
		srv.Respond(1, 404, "text/html", dripceltest.ProxyPage(404))
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		r := runCLI(t, env(srv), "upload", "--quiet", "--retries", "0", "--rejects", rejects, writeFile(t, "sales.csv", threeSales))
		r.WantCode(t, 3)
		if got := summaryLine(t, r.Stdout, "not delivered"); got != "not delivered 3 rows 2, 3, 4" {
			t.Errorf("summary %q", got)
		}
		wantContains(t, "stdout", r.Stdout, "run the same command again with --from-row 2",
			"      3 rows: not delivered: POST ", "404 Not Found (not an answer from Dripcel")
		wantContains(t, "rejects", readFile(t, rejects), `c1,27631231234,2025-10-14,2,"not delivered: POST `,
			"not an answer from Dripcel", "check DRIPCEL_BASE_URL or --base-url")
		if n := len(srv.Sales()); n != 0 {
			t.Errorf("server holds %d sales", n)
		}
	})
}
