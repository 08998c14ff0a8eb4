//go:build unix

package upload_test

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gate is a proxy in front of a fake server that holds each request until
// released, and says when one arrives.
type gate struct {
	URL     string
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.arrived <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open)
	g.URL = srv.URL
	return g
}

// open lets every request through from now on.
func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

const tenSales = `campaign_id,cell,soldAt
c1,27631231234,2025-10-14
c1,27631231235,2025-10-14
c1,27631231236,2025-10-14
c1,27631231237,2025-10-14
c1,27631231238,2025-10-14
c1,27631231239,2025-10-14
c1,27631231240,2025-10-14
c1,27631231241,2025-10-14
c1,27631231242,2025-10-14
c1,27631231243,2025-10-14
`

// running is a command started in the background, its stderr read line
// by line.
type running struct {
	cmd            *exec.Cmd
	lines          chan string
	Stdout, Stderr bytes.Buffer
}

func start(t *testing.T, inv invocation) *running {
	t.Helper()
	r := &running{cmd: inv.Cmd(), lines: make(chan string, 100)}
	r.cmd.Stdout = &r.Stdout
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(io.TeeReader(pipe, &r.Stderr))
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	}()
	return r
}

// interrupt sends Ctrl-C.
func (r *running) interrupt(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// waitFor reads stderr until a line contains want.
func (r *running) waitFor(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				t.Fatalf("stderr ended before %q", want)
			}
			if strings.Contains(line, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q on stderr", want)
		}
	}
}

// wait waits for the command to end.
func (r *running) wait() result {
	for range r.lines { // drain stderr so the command can exit
	}
	_ = r.cmd.Wait()
	return result{Code: r.cmd.ProcessState.ExitCode(), Stdout: r.Stdout.String(), Stderr: r.Stderr.String()}
}

// startHeld starts an upload of tenSales, two rows a request, through a
// gate, and returns once its first request is held there.
func startHeld(t *testing.T) (r *running, g *gate, srvSales func() int, rejects string) {
	t.Helper()
	srv := newServer(t)
	g = newGate(t, srv.URL)
	rejects = filepath.Join(t.TempDir(), "rejects.csv")
	r = start(t, invocation{
		Args: []string{"upload", "--quiet", "--batch-size", "2", "--rejects", rejects, writeFile(t, "sales.csv", tenSales)},
		Env:  map[string]string{"DRIPCEL_API_KEY": srv.Key, "DRIPCEL_BASE_URL": g.URL},
	})
	select {
	case <-g.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("no request arrived")
	}
	return r, g, func() int { return len(srv.Sales()) }, rejects
}

func TestUploadInterruptFinishesBatchInFlight(t *testing.T) {
	run, g, stored, rejects := startHeld(t)
	run.interrupt(t)
	run.waitFor(t, "interrupted: finishing the batch in flight")
	g.open()
	r := run.wait()
	r.WantCode(t, 130)
	if n := stored(); n != 2 {
		t.Errorf("server holds %d sales, want the 2 of the batch in flight", n)
	}
	wantContains(t, "stdout", r.Stdout, "sales.csv: 2 rows read, 2 sent",
		"stopped after row 3: any rows after it were not read or sent; to send the rest, run the same command again with --from-row 4")
	if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded 2" {
		t.Errorf("summary %q", got)
	}
	if got := readFile(t, rejects); got != "campaign_id,cell,soldAt,row,reason\n" {
		t.Errorf("rejects %q, want the header only", got)
	}
}

func TestUploadSecondInterruptAbandonsBatch(t *testing.T) {
	run, _, stored, rejects := startHeld(t)
	run.interrupt(t)
	run.waitFor(t, "interrupted: finishing the batch in flight")
	run.interrupt(t)
	r := run.wait()
	r.WantCode(t, 130)
	if n := stored(); n != 0 {
		t.Errorf("server holds %d sales, want none", n)
	}
	if got := summaryLine(t, r.Stdout, "not delivered"); got != "not delivered 2 rows 2, 3" {
		t.Errorf("summary %q", got)
	}
	wantContains(t, "rejects", readFile(t, rejects),
		"c1,27631231234,2025-10-14,2,not delivered: abandoned by a second Ctrl-C; Dripcel may or may not have it (sending it again is safe)\n")
}

// TestUploadSecondInterruptEndsRateLimitWait checks that while the library
// waits out a 429 (a whole budget window, as no Retry-After came), a first
// Ctrl-C lets the batch finish and a second ends the wait at once: the
// upload ends as interrupted (130) and its rows are not delivered.
func TestUploadSecondInterruptEndsRateLimitWait(t *testing.T) {
	srv := newServer(t)
	srv.RateLimit(1, "")
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	run := start(t, invocation{
		Args: []string{"upload", "--rejects", rejects, writeFile(t, "sales.csv", tenSales)},
		Env:  env(srv),
	})
	run.waitFor(t, "uploading: 0 of 10 rows")
	for deadline := time.Now().Add(30 * time.Second); srv.RateLimited() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no 429 answered")
		}
	}
	run.interrupt(t)
	run.waitFor(t, "interrupted: finishing the batch in flight")
	run.interrupt(t)
	r := run.wait()
	r.WantCode(t, 130)
	if got := summaryLine(t, r.Stdout, "not delivered"); got != "not delivered 10 rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11" {
		t.Errorf("summary %q", got)
	}
	wantContains(t, "rejects", readFile(t, rejects), "c1,27631231234,2025-10-14,2,not delivered: abandoned by a second Ctrl-C")
	if n := len(srv.Sales()); n != 0 {
		t.Errorf("server holds %d sales", n)
	}
}

// TestUploadInterruptWhileReadingStdin checks that Ctrl-C ends an upload
// still waiting for standard input (typed at a terminal, or an idle pipe):
// the read cannot be cancelled, so it must not hold the command.
func TestUploadInterruptWhileReadingStdin(t *testing.T) {
	srv := newServer(t)
	tmp := t.TempDir()
	stdin, writer, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = writer.Close() }() // never written: the pipe stays idle
	run := start(t, invocation{
		Args:  []string{"upload", "--quiet", "-"},
		Env:   map[string]string{"DRIPCEL_API_KEY": srv.Key, "DRIPCEL_BASE_URL": srv.URL, "TMPDIR": tmp},
		Stdin: stdin,
	})
	_ = stdin.Close() // the command has its own copy
	defer func() {
		if run.cmd.ProcessState == nil {
			_ = run.cmd.Process.Kill()
		}
	}()
	// The copy of stdin is created once Ctrl-C is handled: wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if names, _ := filepath.Glob(filepath.Join(tmp, "dripcel-stdin-*")); len(names) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not start copying standard input")
		}
		time.Sleep(10 * time.Millisecond)
	}
	run.interrupt(t)
	exited := make(chan result, 1)
	go func() { exited <- run.wait() }()
	var r result
	select {
	case r = <-exited:
	case <-time.After(30 * time.Second):
		_ = run.cmd.Process.Kill()
		<-exited
		t.Fatal("Ctrl-C did not end an upload waiting for standard input")
	}
	r.WantCode(t, 130)
	wantContains(t, "stderr", r.Stderr, "interrupted while reading standard input; nothing was sent")
	if names, _ := filepath.Glob(filepath.Join(tmp, "dripcel-stdin-*")); len(names) > 0 {
		t.Errorf("the copy of stdin was left behind: %v", names)
	}
	if n := len(srv.Sales()); n != 0 {
		t.Errorf("server holds %d sales", n)
	}
}
