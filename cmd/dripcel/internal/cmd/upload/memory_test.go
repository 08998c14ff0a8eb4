//go:build unix

package upload_test

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
	"os"
	"os/exec"
	"testing"
)

// peakRSS runs inv and returns its result and its peak resident memory in
// KiB: VmHWM polled while it runs on Linux, else the rusage of the child.
func peakRSS(t *testing.T, inv invocation) (result, int64) {
	t.Helper()
	cmd := inv.Cmd()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	hwm := clitest.WatchHWM(cmd.Process.Pid, done)
	err := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	r := result{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String(),
		State: cmd.ProcessState, MaxRSSKiB: clitest.MaxRSSKiB(cmd.ProcessState)}
	peak := r.MaxRSSKiB
	if hwm != nil {
		if v := <-hwm; v > 0 {
			peak = v
		}
	}
	return r, peak
}

// TestUploadLargeFileBoundedMemory uploads 100 000 rows and checks the
// command's peak memory: the file is streamed a batch at a time, so the
// peak is that of a small file and does not grow with the rows.
func TestUploadLargeFileBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 100 000 rows")
	}
	if raceEnabled {
		// The command under test is built without -race; only the fake
		// server in this process would be checked, at ten times the cost.
		t.Skip("the race detector makes the in-process fake server too slow for 100 000 rows")
	}
	const rows = 100_000
	small := writeSales(t, 1_000)
	large := writeSales(t, rows)

	srv := newServer(t)
	r, smallPeak := peakRSS(t, invocation{Args: []string{"upload", "--quiet", "--region", "ZA", small}, Env: env(srv)})
	r.WantCode(t, 0)

	srv = newServer(t)
	r, peak := peakRSS(t, invocation{Args: []string{"upload", "--quiet", "--region", "ZA", large}, Env: env(srv)})
	r.WantCode(t, 0)
	if n := len(srv.Sales()); n != rows {
		t.Fatalf("server holds %d sales, want %d", n, rows)
	}
	wantContains(t, "stdout", r.Stdout, fmt.Sprintf("%d rows read, %d sent", rows, rows))
	st, err := os.Stat(large)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak RSS of dripcel: %d KiB for 1 000 rows, %d KiB for %d rows (a %d KiB file); rusage ru_maxrss %d KiB",
		smallPeak, peak, rows, st.Size()>>10, r.MaxRSSKiB)
	if peak == 0 {
		t.Skip("peak RSS not measured on this system")
	}
	// The bound is generous so that garbage collector timing cannot fail
	// the test; holding the rows as sales would take several times the
	// file's size on top of the small file's peak.
	const bound = 64 << 10 // KiB
	if peak > bound {
		t.Errorf("peak RSS %d KiB for %d rows, want under %d KiB", peak, rows, bound)
	}
}
