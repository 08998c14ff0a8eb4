package upload_test

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// crashAfter is a proxy in front of a fake Dripcel that passes the first n
// requests, passes request n+1 too but loses its answer (the server
// records the sales, the client hears nothing), and drops every later
// request: a server killed mid-upload. revive lets everything through.
type crashAfter struct {
	n     int
	seen  atomic.Int32
	alive atomic.Bool
	proxy *httputil.ReverseProxy
}

func newCrashAfter(t *testing.T, srv *dripceltest.Server, n int) (*crashAfter, string) {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	c := &crashAfter{n: n, proxy: httputil.NewSingleHostReverseProxy(target)}
	front := &http.Server{Handler: c}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = front.Serve(ln) }()
	t.Cleanup(func() { _ = front.Close() })
	return c, "http://" + ln.Addr().String()
}

func (c *crashAfter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := int(c.seen.Add(1))
	switch {
	case c.alive.Load() || k <= c.n:
		c.proxy.ServeHTTP(w, r)
	case k == c.n+1:
		c.proxy.ServeHTTP(&lostAnswer{header: http.Header{}}, r)
		fallthrough
	default:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
}

// lostAnswer swallows an answer.
type lostAnswer struct{ header http.Header }

func (l *lostAnswer) Header() http.Header         { return l.header }
func (l *lostAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (l *lostAnswer) WriteHeader(int)             {}

// TestUploadResumeAcrossDateChange stops an upload of rows with a blank
// soldAt by killing the server after it recorded a batch whose answer was
// lost, moves the server's clock to the next day, and resumes with the
// flags the first run printed. The rows in flight are found in Dripcel
// already rather than recorded again on the new date, and every sale holds
// the first run's time.
func TestUploadResumeAcrossDateChange(t *testing.T) {
	var now atomic.Value
	now.Store(time.Date(2026, 11, 30, 21, 59, 0, 0, time.UTC)) // 23:59 in South Africa
	srv := newServer(t, dripceltest.WithClock(func() time.Time { return now.Load().(time.Time) }))
	crash, base := newCrashAfter(t, srv, 2)
	var rows strings.Builder
	rows.WriteString("campaign_id,cell,soldAt\n")
	for _, cell := range []string{"27631230001", "27631230002", "27631230003", "27631230004", "27631230005",
		"27631230006", "27631230007", "27631230008", "27631230009", "27631230010"} {
		rows.WriteString("c1," + cell + ",\n")
	}
	path := writeFile(t, "sales.csv", rows.String())
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	e := map[string]string{"DRIPCEL_API_KEY": srv.Key, "DRIPCEL_BASE_URL": base}
	args := []string{"upload", "--quiet", "--retries", "0", "--batch-size", "2", "--rejects", rejects}

	r := runCLI(t, e, append(args, path)...)
	r.WantCode(t, 3)
	m := regexp.MustCompile(`blank soldAt in 10 rows read as (\S+ \S+) Africa/Johannesburg \(UTC\+02:00\)`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("the summary does not give the time blank soldAt stood for:\n%s", r.Stdout)
	}
	fill := m[1]
	resume := regexp.MustCompile(`run the same command again with --from-row (\d+) --sold-at "([^"]+)"`).FindStringSubmatch(r.Stdout)
	if resume == nil || resume[1] != "6" || resume[2] != fill {
		t.Fatalf("want a resume line with --from-row 6 --sold-at %q:\n%s", fill, r.Stdout)
	}
	if n := len(srv.Sales()); n != 6 {
		t.Fatalf("the server recorded %d sales before it died, want 6 (the last answer was lost)", n)
	}

	// After midnight, with the server back.
	now.Store(time.Date(2026, 11, 30, 22, 30, 0, 0, time.UTC))
	crash.alive.Store(true)
	r = runCLI(t, e, append(args, "--from-row", resume[1], "--sold-at", resume[2], path)...)
	r.WantCode(t, 0)
	for outcome, want := range map[string]string{"recorded": "recorded 4", "already in Dripcel": "already in Dripcel 2 rows 6, 7"} {
		if got := summaryLine(t, r.Stdout, outcome); got != want {
			t.Errorf("summary %q, want %q", got, want)
		}
	}
	cells := map[string]int{}
	for _, s := range srv.Sales() {
		cells[s.Cell]++
		if s.SoldAt != fill {
			t.Errorf("sale of %s stored at %q, want the first run's %q", s.Cell, s.SoldAt, fill)
		}
	}
	if len(srv.Sales()) != 10 || len(cells) != 10 {
		t.Errorf("server holds %d sales of %d cells, want 10 of 10: %v", len(srv.Sales()), len(cells), cells)
	}
	// The first run's rows 6 to 11 were not delivered; this run settled
	// them, so the rejects file no longer lists them.
	wantNoFile(t, rejects)
}

// TestUploadResumeAppendsRejects checks that a resumed run keeps the
// earlier run's rejected rows before --from-row, drops its stale rows from
// there on (this run judges them again) and adds its own; and that a
// --from-row past the end is a usage error that leaves the file alone.
func TestUploadResumeAppendsRejects(t *testing.T) {
	for _, tc := range []struct {
		name, file, content, header string
		from, last                  string // the row to go on from, the last row
	}{
		{"csv", "sales.csv", "campaign_id,cell,soldAt\nc1,27631231234,2025-10-14\nc1,oops,2025-10-14\nc1,27821234567,2025-10-14\nnope,27725550101,2025-10-14\nc1,27845550199,2025-10-14\n",
			"campaign_id,cell,soldAt,row,reason\n", "4", "6"},
		{"json lines", "sales.jsonl", `{"campaign_id":"c1","cell":"27631231234","soldAt":"2025-10-14"}
{"campaign_id":"c1","cell":"oops","soldAt":"2025-10-14"}
{"campaign_id":"c1","cell":"27821234567","soldAt":"2025-10-14"}
{"campaign_id":"nope","cell":"27725550101","soldAt":"2025-10-14"}
{"campaign_id":"c1","cell":"27845550199","soldAt":"2025-10-14"}
`, "", "3", "5"}, // JSON lines have no header: row numbers are one less
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Pass(1)
			srv.Fail(1, http.StatusServiceUnavailable)
			path := writeFile(t, tc.file, tc.content)
			rejects := filepath.Join(t.TempDir(), "rejects"+filepath.Ext(tc.file))
			args := []string{"upload", "--quiet", "--region", "ZA", "--retries", "0", "--batch-size", "1", "--skip-invalid", "--rejects", rejects}
			r := runCLI(t, env(srv), append(args, path)...)
			r.WantCode(t, 3)
			wantContains(t, "stdout", r.Stdout, "--from-row "+tc.from)
			first := readFile(t, rejects)
			wantContains(t, "first rejects", first, `has characters other than digits`, "not delivered")

			r = runCLI(t, env(srv), append(args, "--from-row", tc.from, path)...)
			r.WantCode(t, 1) // row 5's campaign is unknown
			wantContains(t, "stdout", r.Stdout, "1 row needing action written to "+rejects+" (after the 1 row kept from the earlier run)")
			got := readFile(t, rejects)
			lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(got, tc.header), "\n"), "\n")
			if !strings.HasPrefix(got, tc.header) || len(lines) != 2 ||
				!strings.Contains(lines[0], "oops") || !strings.Contains(lines[1], "campaign not found") {
				t.Errorf("rejects after the resume:\n%s\nwant the first run's invalid row and this run's unknown campaign", got)
			}
			if strings.Contains(got, "not delivered") {
				t.Errorf("a row the resume delivered is still listed as not delivered:\n%s", got)
			}

			r = runCLI(t, env(srv), append(args, "--from-row", "99999", path)...)
			r.WantCode(t, 2)
			wantContains(t, "stderr", r.Stderr, "--from-row 99999 is past the last row of "+path+" (row "+tc.last+")")
			if again := readFile(t, rejects); again != got {
				t.Errorf("a refused resume changed the rejects file:\n%s", again)
			}
		})
	}
}
