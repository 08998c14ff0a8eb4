package upload_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// TestUploadFromRow checks that --from-row skips the rows before it, by the
// row numbers the summary uses: line numbers in CSV and JSON lines,
// positions in a JSON array. A malformed row before it is not checked. (A
// negative --from-row is among the usage errors of TestExitCodes.)
func TestUploadFromRow(t *testing.T) {
	lastTwo := strings.SplitAfterN(salesStored, "\n", 2)[1]
	lastOne := strings.SplitAfterN(salesStored, "\n", 3)[2]
	cases := []struct {
		name, file, content, from, stored string
		read                              int
	}{
		{"csv", "sales.csv", salesCSV, "3", lastTwo, 2},
		{"csv with a bad row skipped", "sales.csv",
			strings.Replace(salesCSV, "199.99", "abc", 1), "3", lastTwo, 2},
		{"json array", "sales.json", salesJSON, "3", lastOne, 1},
		{"json lines", "sales.jsonl", salesLines, "3", lastOne, 1},
		{"zero reads all", "sales.csv", salesCSV, "0", salesStored, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, dripceltest.WithClock(fixedNow))
			args := append([]string{"upload", "--quiet", "--from-row", tc.from}, fixedSoldAt...)
			r := runCLI(t, env(srv), append(args, writeFile(t, tc.file, tc.content))...)
			r.WantCode(t, 0)
			wantStored(t, srv, tc.stored)
			rows := strconv.Itoa(tc.read) + " rows"
			if tc.read == 1 {
				rows = "1 row"
			}
			wantContains(t, "stdout", r.Stdout, tc.file+": "+rows+" read")
		})
	}
}

// TestUploadGoesOnFromTheRowItNames checks that an upload stopped by a
// failure names the first row not delivered, and that running it again
// with --from-row at that row delivers the rest: every sale once, none sent
// twice.
func TestUploadGoesOnFromTheRowItNames(t *testing.T) {
	// Rows 2 to 6, two a request: requests hold rows 2-3, 4-5 and 6.
	cases := []struct {
		name       string
		failed     int // the request that fails
		stop, from string
		stored     int
	}{
		{"a middle request fails", 2, "stopped after row 5: ", "4", 2},
		{"the last request fails", 3, "row 6 and the rows after it were not all delivered; ", "6", 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Pass(tc.failed - 1)
			srv.Fail(1, 503)
			path := writeFile(t, "sales.csv", strings.Join(strings.SplitAfter(tenSales, "\n")[:6], ""))
			r := runCLI(t, env(srv), "upload", "--quiet", "--retries", "0", "--batch-size", "2", path)
			r.WantCode(t, 3)
			m := regexp.MustCompile(regexp.QuoteMeta(tc.stop) + `.*run the same command again with --from-row (\d+)`).FindStringSubmatch(r.Stdout)
			if m == nil || m[1] != tc.from {
				t.Fatalf("no %q naming --from-row %s in:\n%s", tc.stop, tc.from, r.Stdout)
			}
			if n := len(srv.Sales()); n != tc.stored {
				t.Fatalf("first run stored %d sales, want %d", n, tc.stored)
			}

			r = runCLI(t, env(srv), "upload", "--quiet", "--retries", "0", "--batch-size", "2", "--from-row", m[1], path)
			r.WantCode(t, 0)
			if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded "+strconv.Itoa(5-tc.stored) {
				t.Errorf("summary %q, want every row accepted, no duplicates", got)
			}
			cells := map[string]int{}
			for _, s := range srv.Sales() {
				cells[s.Cell]++
			}
			if len(cells) != 5 || len(srv.Sales()) != 5 {
				t.Errorf("server holds %d sales of %d cells, want 5 of 5: %v", len(srv.Sales()), len(cells), cells)
			}
		})
	}
}

// TestUploadFromRowSeesEarlierRepeats checks that a resumed upload reads
// the rows before --from-row for repeats: a later row repeating one of
// them is not sent, exactly as in the whole run, rather than sent and
// refused (and settled sale by sale) as a duplicate.
func TestUploadFromRowSeesEarlierRepeats(t *testing.T) {
	content := "campaign_id,cell,soldAt\n" +
		"c1,27631231234,2025-10-14\n" + // row 2
		"c1,27631231235,2025-10-14\n" + // row 3
		"c1,not-a-cell,2025-10-14\n" + // row 4: invalid, before the resume
		"c1,27631231236,2025-10-14\n" + // row 5
		"c1,27631231235,2025-10-14 18:00\n" + // row 6: repeats row 3
		"c1,27631231237,2025-10-14\n" // row 7
	path := writeFile(t, "sales.csv", content)

	whole := newServer(t)
	r := runCLI(t, env(whole), "upload", "--quiet", "--region", "ZA", "--skip-invalid", path)
	r.WantCode(t, 1)
	wantContains(t, "stdout", r.Stdout, "repeated in file    1   row 6 (repeats 3)")

	srv := newServer(t)
	r = runCLI(t, env(srv), "upload", "--quiet", "--region", "ZA", "--from-row", "5", path)
	r.WantCode(t, 0)
	if got := summaryLine(t, r.Stdout, "repeated in file"); got != "repeated in file 1 row 6 (repeats 3)" {
		t.Errorf("summary %q", got)
	}
	wantContains(t, "stdout", r.Stdout, "3 rows read, 2 sent")
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Sales != 2 {
		t.Errorf("requests %+v, want one of rows 5 and 7", reqs)
	}
	wantStored(t, srv, `c1 27631231236 raw="27631231236" soldAt="2025-10-14" value=default send="" click=""
c1 27631231237 raw="27631231237" soldAt="2025-10-14" value=default send="" click=""
`)
}
