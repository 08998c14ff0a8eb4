// Package clitest runs the dripcel command as its users do, for the tests
// of every command: it builds the binary once per test package, runs it
// against a fake Dripcel (dripceltest) on loopback, and checks what it
// printed, exited with and sent.
package clitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/dripcel-go/dripcel/internal/testsvc"
)

// Binary is the dripcel command, built by Main.
var Binary string

// workDir holds the binary and the cache directories of runs given none.
var workDir string

// Main builds the command and runs the tests: a test package's TestMain.
func Main(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dripcel-cli-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	workDir = dir
	Binary = filepath.Join(dir, "dripcel")
	if runtime.GOOS == "windows" {
		Binary += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", Binary, "github.com/dripcel-go/dripcel/cmd/dripcel").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building dripcel: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	testsvc.Announce() // the tests of dripcel outbox skipped for want of PostgreSQL
	return code
}

// Result is what one run of the command did.
type Result struct {
	Code           int
	Stdout, Stderr string
	// MaxRSSKiB is the peak resident memory of the process.
	MaxRSSKiB int64
	State     *os.ProcessState
}

// Invocation is one run of the command.
type Invocation struct {
	Args []string
	// Env is added to the environment, which has no DRIPCEL_ variables,
	// nor DATABASE_URL and PG* (the test's own database settings are not
	// the command's).
	Env   map[string]string
	Stdin io.Reader
	Dir   string
	// Paced keeps upload's own pacing; otherwise upload gets a budget the
	// tests never reach, so they check what is sent, quickly.
	Paced bool
	// Cache is the user's cache directory the command sees, where upload
	// keeps its ledgers: give the same one to runs that are to share a
	// ledger. Empty: a new, empty one for each run, so that no test finds
	// another's ledger (the fake servers share one key and may reuse a
	// port) and none writes into the real user's.
	Cache string
}

// Cmd is the command, not started.
func (inv Invocation) Cmd() *exec.Cmd {
	args := inv.Args
	if !inv.Paced && len(args) > 0 && args[0] == "upload" && !slices.Contains(args, "--rate") {
		args = append([]string{"upload", "--rate", "600000"}, args[1:]...)
	}
	cmd := exec.Command(Binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRIPCEL_") && !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cache := inv.Cache
	if cache == "" {
		var err error
		if cache, err = os.MkdirTemp(workDir, "cache-*"); err != nil {
			panic(fmt.Sprintf("clitest: a cache directory for the command: %v", err))
		}
	}
	// os.UserCacheDir reads XDG_CACHE_HOME, else HOME, on Unix systems, HOME
	// on macOS and LocalAppData on Windows: all of them point at cache.
	cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+cache, "HOME="+cache, "LocalAppData="+cache)
	for k, v := range inv.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = inv.Stdin
	cmd.Dir = inv.Dir
	return cmd
}

// Run runs the command and checks that the key never shows in its output.
func (inv Invocation) Run(t *testing.T) Result {
	t.Helper()
	cmd := inv.Cmd()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running dripcel %v: %v", inv.Args, err)
	}
	r := Result{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String(), State: cmd.ProcessState}
	r.MaxRSSKiB = MaxRSSKiB(cmd.ProcessState)
	CheckNoKey(t, inv.Env, r.Stdout+r.Stderr)
	return r
}

// CheckNoKey fails the test if the key in env shows in out.
func CheckNoKey(t *testing.T, env map[string]string, out string) {
	t.Helper()
	if key := env["DRIPCEL_API_KEY"]; key != "" && strings.Contains(out, key) {
		t.Errorf("the API key was printed:\n%s", out)
	}
}

// Run runs the command with env and args.
func Run(t *testing.T, env map[string]string, args ...string) Result {
	t.Helper()
	return Invocation{Args: args, Env: env}.Run(t)
}

// WantCode fails the test unless r exited with code.
func (r Result) WantCode(t *testing.T, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, code, r.Stdout, r.Stderr)
	}
}

// The campaigns, send and clicks every test server knows.
const (
	Campaign  = "c1"
	Campaign2 = "c2"
	Send1     = "s-1" // a send of c1
	Click1    = "k-1" // a click of c1
	Click2    = "k-2" // a click of c2
)

// NewServer starts a fake Dripcel with campaigns c1 (default value 50) and
// c2 (default value 10), both in ZA, send s-1 of c1, and clicks k-1 of c1
// and k-2 of c2.
func NewServer(t *testing.T, opts ...dripceltest.Option) *dripceltest.Server {
	t.Helper()
	opts = append([]dripceltest.Option{
		dripceltest.WithCampaigns(
			dripceltest.Campaign{ID: Campaign, Country: "ZA", DefaultSaleValue: 50},
			dripceltest.Campaign{ID: Campaign2, Country: "ZA", DefaultSaleValue: 10}),
		dripceltest.WithSends(dripceltest.Send{ID: Send1, CampaignID: Campaign}),
		dripceltest.WithClicks(dripceltest.Click{ID: Click1, CampaignID: Campaign}, dripceltest.Click{ID: Click2, CampaignID: Campaign2}),
	}, opts...)
	return dripceltest.NewServer(t, opts...)
}

// Env is the environment that points the command at srv.
func Env(srv *dripceltest.Server) map[string]string {
	return map[string]string{"DRIPCEL_API_KEY": srv.Key, "DRIPCEL_BASE_URL": srv.URL}
}

// WriteFile writes content to name in a new temporary folder.
func WriteFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ReadFile reads path.
func ReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Stored renders the server's sales one a line, for exact comparison.
func Stored(srv *dripceltest.Server) string {
	var b strings.Builder
	for _, s := range srv.Sales() {
		value := fmt.Sprint(s.SaleValue)
		if s.DefaultValue {
			value = "default"
		}
		fmt.Fprintf(&b, "%s %s raw=%q soldAt=%q value=%s send=%q click=%q\n",
			s.CampaignID, s.Cell, s.RawCell, s.SoldAt, value, s.SendID, s.ClickID)
	}
	return b.String()
}

// WantStored fails the test unless the server holds want (see Stored).
func WantStored(t *testing.T, srv *dripceltest.Server, want string) {
	t.Helper()
	if got := Stored(srv); got != want {
		t.Errorf("server holds:\n%s\nwant:\n%s", got, want)
	}
}

// WantContains fails the test unless s holds each of subs.
func WantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// SummaryLine finds the summary's line for an outcome, with its spacing
// squeezed: "duplicates 2 rows 5, 7".
func SummaryLine(t *testing.T, stdout, outcome string) string {
	t.Helper()
	for line := range strings.SplitSeq(stdout, "\n") {
		f := strings.Fields(line)
		if strings.HasPrefix(strings.Join(f, " "), outcome+" ") {
			return strings.Join(f, " ")
		}
	}
	t.Fatalf("no %q line in the summary:\n%s", outcome, stdout)
	return ""
}
