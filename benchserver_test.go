package dripcel_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// benchServerEnv makes the test binary serve as the benchmarks' discard
// server instead of running tests.
const benchServerEnv = "DRIPCEL_BENCH_DISCARD_SERVER"

// benchServer is a discard server in a child process.
type benchServer struct {
	URL string
}

// startBenchServer starts the test binary again as a discard server and
// stops it when the benchmark ends.
func startBenchServer(b *testing.B) *benchServer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close() // the child exits when its standard input closes
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("discard server did not start: %v", err)
	}
	return &benchServer{URL: "http://" + strings.TrimSpace(addr)}
}

// serveBenchIfAsked runs the discard server, and exits, when this process
// was started as one; otherwise it returns at once.
func serveBenchIfAsked() {
	if os.Getenv(benchServerEnv) != "1" {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(2)
	}
	_, _ = os.Stdout.WriteString(ln.Addr().String() + "\n")
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	os.Exit(0)
}
