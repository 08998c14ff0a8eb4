package upload_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

const threeSales = "campaign_id,cell,soldAt\nc1,27631231234,2025-10-14\nc1,27821234567,2025-10-14\nc1,27725550101,2025-10-14\n"

func TestExitCodes(t *testing.T) {
	t.Run("0 all accepted", func(t *testing.T) {
		srv := newServer(t)
		runCLI(t, env(srv), "upload", writeFile(t, "sales.csv", threeSales)).WantCode(t, 0)
	})
	t.Run("0 every row in Dripcel already", func(t *testing.T) {
		srv := newServer(t)
		path := writeFile(t, "sales.csv", threeSales)
		runCLI(t, env(srv), "upload", path).WantCode(t, 0)
		r := runCLI(t, env(srv), "upload", path)
		r.WantCode(t, 0)
		if got := summaryLine(t, r.Stdout, "already in Dripcel"); got != "already in Dripcel 3 rows 2, 3, 4" {
			t.Errorf("summary %q", got)
		}
	})
	t.Run("1 some refused", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", writeFile(t, "sales.csv", threeSales+"nope,27845550199,2025-10-14\n"))
		r.WantCode(t, 1)
		if got := summaryLine(t, r.Stdout, "campaign not found"); got != "campaign not found 1 row 5" {
			t.Errorf("summary %q", got)
		}
	})
	t.Run("1 a row the server finds invalid", func(t *testing.T) {
		srv := newServer(t)
		// Without --region the cell goes as written, and the server cannot
		// read it: the batch is refused with 400, and row 3 alone is invalid.
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		path := writeFile(t, "sales.csv", "campaign_id,cell\nc1,27631231234\nc1,12345\nc1,27821234567\n")
		r := runCLI(t, env(srv), "upload", "--rejects", rejects, path)
		r.WantCode(t, 1)
		if got := summaryLine(t, r.Stdout, "refused"); got != "refused 1 row 3" {
			t.Errorf("summary %q", got)
		}
		if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded 2" {
			t.Errorf("summary %q", got)
		}
		want := "campaign_id,cell,row,reason\nc1,12345,3,refused by Dripcel: 400 Invalid cell\n"
		if got := readFile(t, rejects); got != want {
			t.Errorf("rejects %q, want %q", got, want)
		}
	})
	t.Run("2 usage", func(t *testing.T) {
		srv := newServer(t)
		path := writeFile(t, "sales.csv", threeSales)
		for _, tc := range []struct {
			args []string
			want string // on stderr, when the message is checked
		}{
			{args: []string{"upload"}},
			{args: []string{"upload", path, path}},
			{args: []string{"upload", "--no-such-flag", path}},
			{args: []string{"upload", "--batch-size", "-1", path}},
			{args: []string{"upload", "--from-row", "-1", path}, want: "--from-row -1 is below 0"},
			{args: []string{"upload", "--format", "xml", path}},
			{args: []string{"upload", "--base-url", "ftp://example.invalid", path}},
			{args: []string{"upload", "--rejects", path, path}},
			{args: []string{"upload", "--rejects", filepath.Join(t.TempDir(), "no", "such", "dir.csv"), path}},
			{args: []string{"no-such-command"}},
		} {
			r := runCLI(t, env(srv), tc.args...)
			if r.Code != 2 {
				t.Errorf("dripcel %v: exit code %d, want 2\n%s", tc.args, r.Code, r.Stderr)
			}
			if !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("dripcel %v: stderr does not say %q:\n%s", tc.args, tc.want, r.Stderr)
			}
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
		if got := readFile(t, path); got != threeSales {
			t.Errorf("the input was overwritten: %q", got)
		}
	})
	t.Run("3 wrong key", func(t *testing.T) {
		srv := newServer(t)
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		e := map[string]string{"DRIPCEL_API_KEY": "canary-not-the-key-7f3a", "DRIPCEL_BASE_URL": srv.URL}
		r := runCLI(t, e, "upload", "--batch-size", "2", "--rejects", rejects, writeFile(t, "sales.csv", threeSales))
		r.WantCode(t, 3)
		wantContains(t, "stderr", r.Stderr, "upload stopped", "401 Unauthorized")
		if got := summaryLine(t, r.Stdout, "not delivered"); got != "not delivered 2 rows 2, 3" {
			t.Errorf("summary %q", got)
		}
		// Rows 2 and 3 failed: going on starts from row 2.
		wantContains(t, "stdout", r.Stdout, "stopped after row 3: any rows after it were not read or sent; "+
			"to send the rest, run the same command again with --from-row 2")
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests after a 401, want 1", n)
		}
		wantContains(t, "rejects", readFile(t, rejects), "c1,27631231234,2025-10-14,2,not delivered: Dripcel refused the key (401 Unauthorized): check that DRIPCEL_API_KEY holds a current key with the sale.create permission")
	})
	t.Run("3 service failing", func(t *testing.T) {
		srv := newServer(t)
		srv.Fail(1, http.StatusServiceUnavailable)
		r := runCLI(t, env(srv), "upload", "--retries", "0", "--batch-size", "2", writeFile(t, "sales.csv", threeSales))
		r.WantCode(t, 3)
		wantContains(t, "stderr", r.Stderr, "503 Service Unavailable")
		if n := len(srv.Sales()); n != 0 {
			t.Errorf("%d sales stored after the upload stopped", n)
		}
	})
	t.Run("3 rate limited", func(t *testing.T) {
		srv := newServer(t)
		srv.RateLimit(1, "")
		r := runCLI(t, env(srv), "upload", "--retries", "0", "--rate-limit-wait", "0", writeFile(t, "sales.csv", threeSales))
		r.WantCode(t, 3)
		wantContains(t, "stderr", r.Stderr, "429")
	})
	t.Run("0 after waiting for the rate limit", func(t *testing.T) {
		srv := newServer(t)
		// Two requests of two rows. The first passes; the second is
		// answered 429 with Retry-After: 1, which the library waits out
		// without spending a retry.
		srv.Pass(1)
		srv.RateLimit(1, "1")
		path := writeFile(t, "sales.csv", threeSales+"c1,27845550199,2025-10-14\n")
		r := runCLI(t, env(srv), "upload", "--retries", "0", "--batch-size", "2", path)
		r.WantCode(t, 0)
		if n := len(srv.Sales()); n != 4 {
			t.Errorf("server holds %d sales, want 4", n)
		}
		var statuses []int
		for _, req := range srv.Requests() {
			statuses = append(statuses, req.Status)
		}
		if fmt.Sprint(statuses) != "[200 429 200]" {
			t.Errorf("statuses %v, want [200 429 200]: only the refused request is sent again", statuses)
		}
	})
	t.Run("3 no server", func(t *testing.T) {
		srv := newServer(t)
		url := srv.URL
		srv.Close()
		r := runCLI(t, map[string]string{"DRIPCEL_API_KEY": "canary-key-5b1e", "DRIPCEL_BASE_URL": url},
			"upload", "--retries", "0", writeFile(t, "sales.csv", threeSales))
		r.WantCode(t, 3)
		wantContains(t, "stderr", r.Stderr, "upload stopped")
	})
	t.Run("--base-url wins over DRIPCEL_BASE_URL", func(t *testing.T) {
		srv := newServer(t)
		e := map[string]string{"DRIPCEL_API_KEY": srv.Key, "DRIPCEL_BASE_URL": "http://127.0.0.1:1"}
		runCLI(t, e, "upload", "--base-url", srv.URL, writeFile(t, "sales.csv", threeSales)).WantCode(t, 0)
		if n := len(srv.Sales()); n != 3 {
			t.Errorf("%d sales stored, want 3", n)
		}
	})
}
