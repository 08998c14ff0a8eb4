//go:build unix

package fake_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFake runs "dripcel fake" on a free port, uploads to it with the URL
// and key it prints, and stops it with Ctrl-C: it logs each request with
// the sales recorded, and ends with exit code 0 and a count.
func TestFake(t *testing.T) {
	f := startFake(t, "--addr", "127.0.0.1:0", "--campaign", "c1", "--verbose",
		"--batch-mode", "prefix", "--after", "1", "--fail", "1", "--fail-status", "502", "--proxy-page")

	// The first request passes, the second is answered 502 (and not
	// retried, to keep the test quick); the rerun it asks for delivers it.
	path := writeFile(t, "sales.csv", "campaign_id,cell,soldAt\nc1,0631231234,2025-10-14\nc1,0821234567,2025-10-14\nc1,0725550101,2025-10-14\n")
	args := []string{"upload", "--quiet", "--region", "ZA", "--batch-size", "2", "--retries", "0"}
	r := runCLI(t, f.env, append(args, path)...)
	r.WantCode(t, 3)
	wantContains(t, "stdout", r.Stdout, "--from-row 4")
	runCLI(t, f.env, append(args, "--from-row", "4", path)...).WantCode(t, 0)
	log := f.stop(t)
	wantContains(t, "fake log", log,
		"A fake Dripcel is listening at http://127.0.0.1:",
		"POST /sales: 200 OK, 2 sales recorded\n  c1 cell 27631231234 soldAt 2025-10-14 value 150\n  c1 cell 27821234567",
		"POST /sales: 502 Bad Gateway, 0 sales recorded",
		"POST /sales: 200 OK, 1 sale recorded",
		"stopped: 3 sales recorded in 3 requests")
	if strings.Contains(log, "Sends:") {
		t.Errorf("the banner lists sends when none were given:\n%s", log)
	}
}

// TestFakeSendsAndClicks: sends and clicks given with --send and --click
// match sales naming only them to their campaign (duplicates included); an
// unknown one is 404, and a sale naming two identifiers 400. The command's
// own upload still needs a campaign_id, so these go over plain HTTP.
func TestFakeSendsAndClicks(t *testing.T) {
	f := startFake(t, "--addr", "127.0.0.1:0", "--campaign", "c1,c2", "--default-value", "20", "--verbose",
		"--send", "snd-1=c1", "--click", " clk-1 = c2 ,clk-2=c1", "--click", "clk-3=c1")
	wantContains(t, "banner", f.banner(), "Sends: snd-1=c1; clicks: clk-1=c2, clk-2=c1, clk-3=c1 (ID=campaign).")

	postback := func(q url.Values) (int, string) {
		t.Helper()
		q.Set("key", f.env["DRIPCEL_API_KEY"])
		resp, err := http.Get(f.env["DRIPCEL_BASE_URL"] + "/sales/create?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		q    url.Values
		code int
		body string
	}{
		{url.Values{"send_id": {"snd-1"}, "cell": {"0631231234"}, "soldAt": {"2025-10-14"}}, 200, `{"ok":true}`},
		{url.Values{"click_id": {"clk-1"}, "cell": {"0631231234"}, "soldAt": {"2025-10-14"}, "saleValue": {"5"}}, 200, `{"ok":true}`},
		// The same cell and date for c1, through its click: a duplicate.
		{url.Values{"click_id": {"clk-2"}, "cell": {"27631231234"}, "soldAt": {"2025-10-14"}}, 409, `{"ok":false,"error":"Duplicate sale"}`},
		{url.Values{"click_id": {"clk-3"}, "cell": {"0821234567"}, "soldAt": {"2025-10-14"}}, 200, `{"ok":true}`},
		{url.Values{"send_id": {"snd-9"}, "cell": {"0821234567"}}, 404, `{"ok":false,"error":"Send not found"}`},
		{url.Values{"click_id": {"clk-9"}, "cell": {"0821234567"}}, 404, `{"ok":false,"error":"Click not found"}`},
		{url.Values{"campaign_id": {"c1"}, "click_id": {"clk-2"}, "cell": {"0821234567"}}, 400,
			`{"ok":false,"error":"exactly one of campaign_id, send_id or click_id is required"}`},
	} {
		if code, body := postback(tc.q); code != tc.code || body != tc.body {
			t.Errorf("GET /sales/create %v: %d %s, want %d %s", tc.q, code, body, tc.code, tc.body)
		}
	}
	log := f.stop(t)
	wantContains(t, "fake log", log,
		"GET /sales/create: 200 OK, 1 sale recorded\n  c1 cell 27631231234 soldAt 2025-10-14 value 20 send snd-1\n",
		"GET /sales/create: 200 OK, 1 sale recorded\n  c2 cell 27631231234 soldAt 2025-10-14 value 5 click clk-1\n",
		"GET /sales/create: 409 Conflict, 0 sales recorded",
		"GET /sales/create: 200 OK, 1 sale recorded\n  c1 cell 27821234567 soldAt 2025-10-14 value 20 click clk-3\n",
		"GET /sales/create: 404 Not Found, 0 sales recorded",
		"GET /sales/create: 400 Bad Request, 0 sales recorded",
		"stopped: 3 sales recorded in 7 requests")
}

// TestFakeSendAndClickFlags: a --send or --click that is not ID=CAMPAIGN,
// names a campaign the fake does not know, or repeats an ID is a usage
// error, found before the fake listens.
func TestFakeSendAndClickFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--send", "snd-1"}, `--send "snd-1": want ID=CAMPAIGN`},
		{[]string{"--click", "=c1"}, `--click "=c1": want ID=CAMPAIGN`},
		{[]string{"--click", "clk-1="}, `--click "clk-1=": want ID=CAMPAIGN`},
		{[]string{"--send", "snd-1=c9"}, `--send "snd-1=c9": campaign "c9" is not one the fake knows`},
		{[]string{"--click", "clk-1=c1,clk-1=c2"}, `--click: "clk-1" is given twice`},
	} {
		args := append([]string{"fake", "--addr", "127.0.0.1:0", "--campaign", "c1,c2"}, tc.args...)
		r := runCLI(t, nil, args...)
		r.WantCode(t, 2)
		wantContains(t, "stderr of "+strings.Join(tc.args, " "), r.Stderr, tc.want)
		if strings.Contains(r.Stdout, "listening") {
			t.Errorf("%v: the fake started:\n%s", tc.args, r.Stdout)
		}
	}
}

// fakeProcess is a "dripcel fake" running in the background.
type fakeProcess struct {
	cmd *exec.Cmd
	// env points the command, or a test's own requests, at the fake.
	env map[string]string
	// out is what the fake printed; read it only once done is closed, or
	// through banner.
	out    bytes.Buffer
	banner func() string
	done   chan struct{} // closed when its output ends
}

// startFake starts "dripcel fake" with args and waits for the URL and key
// it prints. It kills the fake when the test ends, unless stop did.
func startFake(t *testing.T, args ...string) *fakeProcess {
	t.Helper()
	f := &fakeProcess{cmd: invocation{Args: append([]string{"fake"}, args...)}.Cmd(), done: make(chan struct{})}
	pipe, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			_ = f.cmd.Process.Kill()
			<-f.done
			_ = f.cmd.Wait()
		}
	})
	// The banner, up to the key, is copied for the test as it is read; the
	// rest only once the output ends, so the test never reads out while
	// it is written.
	var banner string
	f.banner = func() string { return banner }
	found := make(chan [2]string, 1)
	go func() {
		defer close(f.done)
		urlLine := regexp.MustCompile(`export DRIPCEL_BASE_URL=(\S+)`)
		keyLine := regexp.MustCompile(`export DRIPCEL_API_KEY=(\S+)`)
		var url string
		tee := io.TeeReader(pipe, &f.out)
		sc := bufio.NewScanner(tee)
		for sc.Scan() {
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				url = m[1]
			}
			if m := keyLine.FindStringSubmatch(sc.Text()); m != nil {
				banner = f.out.String()
				found <- [2]string{url, m[1]}
			}
		}
		// Past a line too long for the scanner, keep the rest and keep the
		// fake from blocking on a full pipe.
		_, _ = io.Copy(io.Discard, tee)
	}()
	select {
	case u := <-found:
		f.env = map[string]string{"DRIPCEL_BASE_URL": u[0], "DRIPCEL_API_KEY": u[1]}
	case <-f.done:
		_ = f.cmd.Wait()
		t.Fatalf("fake printed no URL and key:\n%s", f.out.String())
	case <-time.After(30 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.done
		t.Fatalf("fake printed no URL and key:\n%s", f.out.String())
	}
	return f
}

// stop sends the fake Ctrl-C, checks that it exits with code 0, and
// returns all it printed.
func (f *fakeProcess) stop(t *testing.T) string {
	t.Helper()
	if err := f.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// Read the output to its end before Wait, which closes the pipe.
	select {
	case <-f.done:
	case <-time.After(30 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.done
		t.Errorf("fake still running 30s after Ctrl-C")
	}
	_ = f.cmd.Wait()
	if code := f.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("fake exit code %d after Ctrl-C, want 0", code)
	}
	return f.out.String()
}
