//go:build unix

package main_test

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestFake runs "dripcel fake" on a free port, uploads to it with the URL
// and key it prints, and stops it with Ctrl-C: it logs each request with
// the sales recorded, and ends with exit code 0 and a count.
func TestFake(t *testing.T) {
	cmd := invocation{args: []string{"fake", "--addr", "127.0.0.1:0", "--campaign", "c1", "--verbose",
		"--batch-mode", "prefix", "--after", "1", "--fail", "1", "--fail-status", "502", "--proxy-page"}}.cmd()
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var out bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(pipe, &out))
	found := make(chan [2]string, 1)
	go func() {
		var url, key string
		for sc.Scan() {
			if m := regexp.MustCompile(`export DRIPCEL_BASE_URL=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				url = m[1]
			}
			if m := regexp.MustCompile(`export DRIPCEL_API_KEY=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				key = m[1]
				found <- [2]string{url, key}
			}
		}
		close(found)
	}()
	var env map[string]string
	select {
	case f, ok := <-found:
		if !ok {
			t.Fatalf("fake printed no URL and key:\n%s", out.String())
		}
		env = map[string]string{"DRIPCEL_BASE_URL": f[0], "DRIPCEL_API_KEY": f[1]}
	case <-time.After(30 * time.Second):
		t.Fatal("fake printed no URL and key")
	}

	// The first request passes, the second is answered 502 (and not
	// retried, to keep the test quick); the rerun it asks for delivers it.
	path := writeFile(t, "sales.csv", "campaign_id,cell,soldAt\nc1,0631231234,2025-10-14\nc1,0821234567,2025-10-14\nc1,0725550101,2025-10-14\n")
	args := []string{"upload", "--quiet", "--region", "ZA", "--batch-size", "2", "--retries", "0"}
	r := runCLI(t, env, append(args, path)...)
	r.wantCode(t, 3)
	wantContains(t, "stdout", r.stdout, "--from-row 4")
	runCLI(t, env, append(args, "--from-row", "4", path)...).wantCode(t, 0)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("fake exit code %d after Ctrl-C, want 0", code)
	}
	log := out.String()
	wantContains(t, "fake log", log,
		"A fake Dripcel is listening at http://127.0.0.1:",
		"POST /sales: 200 OK, 2 sales recorded\n  c1 cell 27631231234 soldAt 2025-10-14 value 150\n  c1 cell 27821234567",
		"POST /sales: 502 Bad Gateway, 0 sales recorded",
		"POST /sales: 200 OK, 1 sale recorded",
		"stopped: 3 sales recorded in 3 requests")
}
