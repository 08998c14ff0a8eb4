//go:build unix

package upload_test

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/dripcel-go/dripcel/dripceltest"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
		select {
		case g.arrived <- struct{}{}:
		default: // nobody counts them any more
		}
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
	run.waitFor(t, "interrupted: sending no more requests")
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
	wantNoFile(t, rejects)
}

func TestUploadSecondInterruptAbandonsBatch(t *testing.T) {
	run, _, stored, rejects := startHeld(t)
	run.interrupt(t)
	run.waitFor(t, "interrupted: sending no more requests")
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

// TestUploadInterruptEndsRateLimitWait checks that while the library
// waits out a 429 (a whole budget window, as no Retry-After came), the
// first Ctrl-C ends the wait at once: no request is in flight, so nothing
// is lost by stopping. The upload ends as interrupted (130), its rows not
// delivered, with the line to go on from.
func TestUploadInterruptEndsRateLimitWait(t *testing.T) {
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
	began := time.Now()
	run.interrupt(t)
	r := run.wait()
	r.WantCode(t, 130)
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("the first Ctrl-C took %v to end a wait for the rate limit", took)
	}
	if got := summaryLine(t, r.Stdout, "not delivered"); got != "not delivered 10 rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11" {
		t.Errorf("summary %q", got)
	}
	wantContains(t, "stdout", r.Stdout, "run the same command again with --from-row 2")
	wantContains(t, "rejects", readFile(t, rejects), "c1,27631231234,2025-10-14,2,not delivered: not sent after Ctrl-C (sending it again is safe)")
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

// waitForMatch reads stderr until a line matches re, and returns it.
func (r *running) waitForMatch(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				t.Fatalf("stderr ended before a line matching %s", re)
			}
			if re.MatchString(line) {
				return line
			}
		case <-timeout:
			t.Fatalf("no line matching %s on stderr", re)
		}
	}
}

// fortySales is a file of 40 distinct sales of campaign c1.
func fortySales() string {
	var b strings.Builder
	b.WriteString("campaign_id,cell,soldAt\n")
	for i := range 40 {
		fmt.Fprintf(&b, "c1,276312300%02d,2025-10-14\n", i)
	}
	return b.String()
}

// TestUploadInterruptDuringSettle uploads again a file Dripcel has, to a
// Dripcel that refuses a whole batch holding a duplicate (atomic): the
// library settles the refused batch by sending its sales again in smaller
// requests, each held a while. The progress counts the rows settled as it
// goes; Ctrl-C in the middle stops the sending within one request; the
// rows left are reported not delivered with the exact row to go on from;
// and going on from there settles the rest.
func TestUploadInterruptDuringSettle(t *testing.T) {
	srv := newServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic))
	path := writeFile(t, "sales.csv", fortySales())
	runCLI(t, env(srv), "upload", "--quiet", path).WantCode(t, 0)

	srv.Delay(dripceltest.UntilCleared, 100*time.Millisecond)
	before := len(srv.Requests())
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	args := []string{"upload", "--retries", "0", "--progress-every", "50ms", "--rejects", rejects}
	run := start(t, invocation{Args: append(args, path), Env: env(srv)})
	line := run.waitForMatch(t, regexp.MustCompile(`^uploading: ([1-9]|[1-3][0-9]) of 40 rows`))
	t.Logf("progress while settling: %s", line)
	sent := len(srv.Requests()) - before
	if sent < 2 {
		t.Fatalf("rows settled after %d requests: the refused batch was not being split", sent)
	}
	asked := len(srv.Requests())
	run.interrupt(t)
	r := run.wait()
	r.WantCode(t, 130)
	if after := len(srv.Requests()); after > asked+1 {
		t.Errorf("%d requests answered after Ctrl-C, want at most the one in flight", after-asked)
	}
	m := regexp.MustCompile(`run the same command again with --from-row (\d+)\n`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("no line to go on from:\n%s", r.Stdout)
	}
	// The row to go on from is the first not delivered.
	var first int
	for _, l := range strings.Split(readFile(t, rejects), "\n") {
		if f := strings.Split(l, ","); len(f) > 4 && strings.HasPrefix(f[4], "not delivered") && first == 0 {
			first, _ = strconv.Atoi(f[3])
		}
	}
	if strconv.Itoa(first) != m[1] {
		t.Errorf("go on from row %s, but the first row not delivered is %d:\n%s", m[1], first, r.Stdout)
	}
	wantContains(t, "rejects", readFile(t, rejects), "not delivered: not sent after Ctrl-C (sending it again is safe)")
	already := summaryLine(t, r.Stdout, "already in Dripcel")
	notDelivered := summaryLine(t, r.Stdout, "not delivered")
	t.Logf("%s; %s", already, notDelivered)

	srv.ClearFaults()
	r = runCLI(t, env(srv), append(args, "--quiet", "--from-row", m[1], path)...)
	r.WantCode(t, 0)
	first, _ = strconv.Atoi(m[1])
	if got, want := summaryLine(t, r.Stdout, "already in Dripcel"), fmt.Sprintf("already in Dripcel %d", 42-first); !strings.HasPrefix(got, want+" ") {
		t.Errorf("after going on: %q, want %q", got, want)
	}
	if n := len(srv.Sales()); n != 40 {
		t.Errorf("server holds %d sales, want 40", n)
	}
}
