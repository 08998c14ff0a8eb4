package upload_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// recently is a soldAt date a few days ago: a ledger forgets a sale
// dripcel.DefaultRetention after its date, so the tests' sales must be
// recent whatever day they run.
func recently() string { return time.Now().AddDate(0, 0, -3).Format("2006-01-02") }

// knownLine is the summary's line for rows known from the ledger, with its
// spacing squeezed (see summaryLine), for n rows.
func knownLine(n string) string {
	return "already in Dripcel " + n + " known from earlier uploads, not sent (--resend sends them again)"
}

// ledgerFiles lists the ledger files under the cache directory dir, where
// the command keeps one per key and address by default.
func ledgerFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "ledger-") && strings.HasSuffix(d.Name(), ".db") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestUploadTwiceSendsNothing uploads a file of a few thousand rows twice
// with the default ledger: the second run finds every row in the ledger,
// sends no request, counts the rows as already in Dripcel (known from
// earlier uploads), says how to send them again, and exits 0. Without the
// ledger the same file would be refused as duplicates and settled at
// about a request a row.
func TestUploadTwiceSendsNothing(t *testing.T) {
	const rows = 3000
	srv := newServer(t)
	path := writeSalesOn(t, rows, recently())
	inv := invocation{Args: []string{"upload", "--quiet", "--region", "ZA", path}, Env: env(srv), Cache: t.TempDir()}

	r := inv.Run(t)
	r.WantCode(t, 0)
	if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded 3000" {
		t.Fatalf("first run: %q", got)
	}
	first := len(srv.Requests())

	r = inv.Run(t)
	r.WantCode(t, 0)
	if sent := len(srv.Requests()) - first; sent != 0 {
		t.Errorf("the second run sent %d requests, want 0", sent)
	}
	t.Logf("requests: %d for the first run, %d for the second", first, len(srv.Requests())-first)
	wantContains(t, "stdout", r.Stdout, "3000 rows read, 0 sent\n")
	if got := summaryLine(t, r.Stdout, "already in Dripcel"); got != knownLine("3000") {
		t.Errorf("summary line %q, want %q", got, knownLine("3000"))
	}
	files := ledgerFiles(t, inv.Cache)
	if len(files) != 1 {
		t.Fatalf("ledger files in the cache directory: %v, want one", files)
	}
	wantContains(t, "stdout", r.Stdout, "as the ledger "+files[0]+" remembers, so they were not sent: --resend sends them again")
	if strings.Contains(files[0], srv.Key) {
		t.Errorf("the ledger's name %s holds the key", files[0])
	}
	if n := len(srv.Sales()); n != rows {
		t.Errorf("server holds %d sales, want %d", n, rows)
	}
}

// TestUploadOlderThanTheLedger uploads a file with rows dated before the
// ledger's retention twice: the summary says how many went as if new, and
// the second run sends those again (Dripcel's 409s settle them) while the
// recent rows cost nothing.
func TestUploadOlderThanTheLedger(t *testing.T) {
	srv := newServer(t)
	old := time.Now().AddDate(0, 0, -500).Format("2006-01-02")
	var b strings.Builder
	b.WriteString("campaign_id,cell,soldAt\n")
	for i := range 10 {
		date := recently()
		if i < 4 {
			date = old
		}
		fmt.Fprintf(&b, "c1,2763123%02d00,%s\n", i, date)
	}
	path := writeFile(t, "sales.csv", b.String())
	inv := invocation{Args: []string{"upload", "--quiet", path}, Env: env(srv), Cache: t.TempDir()}
	const note = "4 rows dated more than 400 days ago went to Dripcel as if new: the ledger keeps sales for 400 days"
	r := inv.Run(t)
	r.WantCode(t, 0)
	wantContains(t, "stdout", r.Stdout, note)

	r = inv.Run(t)
	r.WantCode(t, 0)
	wantContains(t, "stdout", r.Stdout, "10 rows read, 4 sent\n")
	wantContains(t, "stdout", r.Stdout, note)
	// Two lines count rows already in Dripcel: by its answers, and known
	// from the ledger.
	squeezed := strings.Join(strings.Fields(r.Stdout), " ")
	for _, want := range []string{"already in Dripcel 4 rows 2, 3, 4, 5", knownLine("6")} {
		if !strings.Contains(squeezed, want) {
			t.Errorf("no summary line %q in:\n%s", want, r.Stdout)
		}
	}
}

// twentySales is a file of 20 distinct sales of campaign c1.
func twentySales(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("campaign_id,cell,soldAt\n")
	for i := range 20 {
		fmt.Fprintf(&b, "c1,2763123%02d00,%s\n", i, recently())
	}
	return writeFile(t, "sales.csv", b.String())
}

// TestUploadNoLedgerSendsAgain checks that --no-ledger neither reads nor
// writes a ledger: the file uploaded again is sent again, and Dripcel's
// own answers (409) count the rows as already in Dripcel.
func TestUploadNoLedgerSendsAgain(t *testing.T) {
	srv := newServer(t)
	path := twentySales(t)
	cache := t.TempDir()
	run := func(args ...string) result {
		return invocation{Args: append(append([]string{"upload", "--quiet"}, args...), path), Env: env(srv), Cache: cache}.Run(t)
	}
	run().WantCode(t, 0)
	before := len(srv.Requests())

	r := run("--no-ledger")
	r.WantCode(t, 0)
	if len(srv.Requests()) == before {
		t.Fatal("--no-ledger sent nothing")
	}
	wantContains(t, "stdout", r.Stdout, "20 rows read, 20 sent\n")
	if got := summaryLine(t, r.Stdout, "already in Dripcel"); !strings.HasPrefix(got, "already in Dripcel 20 rows 2, 3,") {
		t.Errorf("summary line %q, want the 20 rows answered as duplicates", got)
	}
	if strings.Contains(r.Stdout, "known from earlier uploads") {
		t.Errorf("--no-ledger counted rows known from a ledger:\n%s", r.Stdout)
	}

	// Nothing written with --no-ledger: a fresh cache stays empty.
	empty := t.TempDir()
	invocation{Args: []string{"upload", "--quiet", "--no-ledger", path}, Env: env(srv), Cache: empty}.Run(t).WantCode(t, 0)
	if files := ledgerFiles(t, empty); len(files) != 0 {
		t.Errorf("--no-ledger wrote %v", files)
	}
}

// TestUploadResend checks that --resend sends the rows the ledger holds
// and still records Dripcel's answers: a first upload with --resend fills
// the ledger, so the next plain one sends nothing, and a later --resend
// sends every row again, which Dripcel answers as duplicates.
func TestUploadResend(t *testing.T) {
	srv := newServer(t)
	path := twentySales(t)
	inv := invocation{Env: env(srv), Cache: t.TempDir()}
	run := func(args ...string) result {
		inv.Args = append(append([]string{"upload", "--quiet"}, args...), path)
		return inv.Run(t)
	}

	r := run("--resend")
	r.WantCode(t, 0)
	if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded 20" {
		t.Fatalf("first run: %q", got)
	}

	before := len(srv.Requests())
	r = run()
	r.WantCode(t, 0)
	if sent := len(srv.Requests()) - before; sent != 0 {
		t.Errorf("after a --resend run, a plain one sent %d requests, want 0: the answers were not recorded", sent)
	}
	if got := summaryLine(t, r.Stdout, "already in Dripcel"); got != knownLine("20") {
		t.Errorf("summary line %q", got)
	}

	before = len(srv.Requests())
	r = run("--resend")
	r.WantCode(t, 0)
	if len(srv.Requests()) == before {
		t.Fatal("--resend sent nothing")
	}
	wantContains(t, "stdout", r.Stdout, "20 rows read, 20 sent\n")
	if got := summaryLine(t, r.Stdout, "already in Dripcel"); !strings.HasPrefix(got, "already in Dripcel 20 rows 2, 3,") {
		t.Errorf("summary line %q, want the 20 rows answered as duplicates", got)
	}
	if n := len(srv.Sales()); n != 20 {
		t.Errorf("server holds %d sales, want 20", n)
	}
}

// TestUploadLedgerPath checks that --ledger PATH is the file used: the
// cache directory gets none, and a run with another cache directory but
// the same --ledger finds what the first recorded.
func TestUploadLedgerPath(t *testing.T) {
	srv := newServer(t)
	path := twentySales(t)
	ledger := filepath.Join(t.TempDir(), "a", "new", "folder", "sales.ledger")
	args := []string{"upload", "--quiet", "--ledger", ledger, path}

	cache := t.TempDir()
	invocation{Args: args, Env: env(srv), Cache: cache}.Run(t).WantCode(t, 0)
	if files := ledgerFiles(t, cache); len(files) != 0 {
		t.Errorf("the cache directory has a ledger with --ledger: %v", files)
	}
	before := len(srv.Requests())
	r := invocation{Args: args, Env: env(srv), Cache: t.TempDir()}.Run(t)
	r.WantCode(t, 0)
	if sent := len(srv.Requests()) - before; sent != 0 {
		t.Errorf("the second run with --ledger sent %d requests, want 0", sent)
	}
	wantContains(t, "stdout", r.Stdout, "as the ledger "+ledger+" remembers")
}

// TestUploadLedgerPerKey uploads one file for two organisations (two keys)
// with one cache directory: each has a ledger file of its own, and the
// second organisation's upload sends every row, since what the first
// recorded says nothing of it.
func TestUploadLedgerPerKey(t *testing.T) {
	a := newServer(t)
	b := newServer(t, dripceltest.WithKey("another-organisations-key"))
	path := twentySales(t)
	cache := t.TempDir()
	for _, srv := range []*dripceltest.Server{a, b} {
		r := invocation{Args: []string{"upload", "--quiet", path}, Env: env(srv), Cache: cache}.Run(t)
		r.WantCode(t, 0)
		if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded 20" {
			t.Errorf("key %s: %q", srv.Key, got)
		}
	}
	if files := ledgerFiles(t, cache); len(files) != 2 {
		t.Errorf("ledger files %v, want one for each key", files)
	}
}

// TestUploadLedgerInUse checks that a ledger held by another run (another
// upload with the same key, most likely) stops the upload before anything
// is sent, naming --no-ledger; and that --no-ledger then goes ahead.
func TestUploadLedgerInUse(t *testing.T) {
	srv := newServer(t)
	path := twentySales(t)
	cache := t.TempDir()
	inv := invocation{Args: []string{"upload", "--quiet", path}, Env: env(srv), Cache: cache}
	inv.Run(t).WantCode(t, 0) // creates the ledger
	files := ledgerFiles(t, cache)
	if len(files) != 1 {
		t.Fatalf("ledger files %v", files)
	}
	held, err := dripcel.OpenFileLedger(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()

	before := len(srv.Requests())
	r := inv.Run(t)
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, "the ledger "+files[0]+" is in use by another run", "--no-ledger", "nothing was sent")
	if sent := len(srv.Requests()) - before; sent != 0 {
		t.Errorf("%d requests sent with the ledger in use", sent)
	}

	r = invocation{Args: []string{"upload", "--quiet", "--ledger", files[0], path}, Env: env(srv)}.Run(t)
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, "--ledger "+files[0]+" is in use by another run")

	inv.Args = []string{"upload", "--quiet", "--no-ledger", path}
	inv.Run(t).WantCode(t, 0)
}

// TestUploadNoCacheDirectory checks that an upload with no cache directory
// to keep its ledger in warns and goes on without one: a ledger saves
// requests, and Dripcel's own 409 still keeps a row from being recorded
// twice, so a job that ran before is not stopped for it.
func TestUploadNoCacheDirectory(t *testing.T) {
	srv := newServer(t)
	e := env(srv)
	for _, k := range []string{"XDG_CACHE_HOME", "HOME", "LocalAppData"} {
		e[k] = ""
	}
	r := invocation{Args: []string{"upload", "--quiet", twentySales(t)}, Env: e}.Run(t)
	r.WantCode(t, 0)
	wantContains(t, "stderr", r.Stderr, "dripcel: warning: no ledger, so rows Dripcel confirmed earlier are sent again", "--ledger PATH", "--no-ledger")
	if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded 20" {
		t.Errorf("summary %q", got)
	}
}

// TestUploadDryRunLeavesLedgerAlone checks that --dry-run, which needs no
// key, opens no ledger.
func TestUploadDryRunLeavesLedgerAlone(t *testing.T) {
	srv := newServer(t)
	cache := t.TempDir()
	r := invocation{Args: []string{"upload", "--dry-run", twentySales(t)}, Env: env(srv), Cache: cache}.Run(t)
	r.WantCode(t, 0)
	if files := ledgerFiles(t, cache); len(files) != 0 {
		t.Errorf("--dry-run wrote %v", files)
	}
}

// TestUploadFullRequests uploads a file of more rows than the command once
// handed the library at a time (10,000), with no --batch-size: every
// request but the last is full, carrying sales up to the body limit
// (another would not fit), however the file is read.
func TestUploadFullRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 12 000 rows")
	}
	const rows = 12_000
	srv := newServer(t)
	r := runCLI(t, env(srv), "upload", "--quiet", "--region", "ZA", "--no-ledger", writeSales(t, rows))
	r.WantCode(t, 0)
	reqs := srv.Requests()
	total := 0
	// A sale of writeSales is under 110 bytes of JSON: a request is full
	// when one more (and its comma) would pass the limit.
	const most = 110
	for i, req := range reqs {
		total += req.Sales
		if i < len(reqs)-1 && req.Bytes+most+1 <= dripcel.DefaultMaxBatchBytes {
			t.Errorf("request %d of %d: %d sales, %d bytes: part full (limit %d)", i+1, len(reqs), req.Sales, req.Bytes, dripcel.DefaultMaxBatchBytes)
		}
		if req.Bytes > dripcel.DefaultMaxBatchBytes {
			t.Errorf("request %d: %d bytes, past the limit", i+1, req.Bytes)
		}
	}
	if total != rows {
		t.Errorf("requests carried %d sales, want %d", total, rows)
	}
	t.Logf("%d requests for %d rows; the last carried %d", len(reqs), rows, reqs[len(reqs)-1].Sales)
}

// TestUploadHelpNamesLedgerFlags checks that the help lists the three
// ledger flags and says where the ledger lives.
func TestUploadHelpNamesLedgerFlags(t *testing.T) {
	r := runCLI(t, nil, "upload", "--help")
	r.WantCode(t, 0)
	wantContains(t, "help", r.Stdout, "--ledger string", "--no-ledger", "--resend", "dripcel/ledger-<digest>.db")
}

// --no-ledger with --resend or --ledger is a usage error, before anything
// is sent: one of the two is not what the user meant.
func TestUploadNoLedgerConflicts(t *testing.T) {
	srv := newServer(t)
	path := twentySales(t)
	for _, args := range [][]string{
		{"--no-ledger", "--resend"},
		{"--no-ledger", "--ledger", filepath.Join(t.TempDir(), "l.db")},
	} {
		inv := invocation{Args: append(append([]string{"upload"}, args...), path), Env: env(srv), Cache: t.TempDir()}
		r := inv.Run(t)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, "choose one; nothing was sent")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}
