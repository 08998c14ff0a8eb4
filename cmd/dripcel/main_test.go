package main_test

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
)

// binary is the dripcel command, built once for every test.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dripcel-cli-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	binary = filepath.Join(dir, "dripcel")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building dripcel: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
	// maxRSSKiB is the peak resident memory of the process.
	maxRSSKiB int64
	state     *os.ProcessState
}

// invocation is one run of the command.
type invocation struct {
	args  []string
	env   map[string]string // added to the environment, which has no DRIPCEL_ variables
	stdin io.Reader
	dir   string
}

func (inv invocation) cmd() *exec.Cmd {
	args := inv.args
	if len(args) > 0 && args[0] == "upload" && !slices.Contains(args, "--rate") {
		// These tests check what is sent, not the pacing: a budget they
		// never reach keeps them quick. TestUploadRate checks the pacing.
		args = append([]string{"upload", "--rate", "600000"}, args[1:]...)
	}
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRIPCEL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range inv.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = inv.stdin
	cmd.Dir = inv.dir
	return cmd
}

// start runs the command and checks that the key never shows in its output.
func (inv invocation) run(t *testing.T) result {
	t.Helper()
	cmd := inv.cmd()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running dripcel %v: %v", inv.args, err)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), state: cmd.ProcessState}
	r.maxRSSKiB = maxRSSKiB(cmd.ProcessState)
	if key := inv.env["DRIPCEL_API_KEY"]; key != "" && strings.Contains(r.stdout+r.stderr, key) {
		t.Errorf("the API key was printed:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	return r
}

// runCLI runs the command with env and args.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return invocation{args: args, env: env}.run(t)
}

// wantCode fails the test unless r exited with code.
func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// The campaigns, send and clicks every test server knows.
const (
	campaign  = "c1"
	campaign2 = "c2"
	send1     = "s-1" // a send of c1
	click1    = "k-1" // a click of c1
	click2    = "k-2" // a click of c2
)

// newServer starts a fake Dripcel with campaigns c1 (default value 50) and
// c2 (default value 10), both in ZA, send s-1 of c1, and clicks k-1 of c1
// and k-2 of c2.
func newServer(t *testing.T, opts ...dripceltest.Option) *dripceltest.Server {
	t.Helper()
	opts = append([]dripceltest.Option{
		dripceltest.WithCampaigns(
			dripceltest.Campaign{ID: campaign, Country: "ZA", DefaultSaleValue: 50},
			dripceltest.Campaign{ID: campaign2, Country: "ZA", DefaultSaleValue: 10}),
		dripceltest.WithSends(dripceltest.Send{ID: send1, CampaignID: campaign}),
		dripceltest.WithClicks(dripceltest.Click{ID: click1, CampaignID: campaign}, dripceltest.Click{ID: click2, CampaignID: campaign2}),
	}, opts...)
	return dripceltest.NewServer(t, opts...)
}

// env is the environment that points the command at srv.
func env(srv *dripceltest.Server) map[string]string {
	return map[string]string{"DRIPCEL_API_KEY": srv.Key, "DRIPCEL_BASE_URL": srv.URL}
}

// writeFile writes content to name in a new temporary folder.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stored renders the server's sales one a line, for exact comparison.
func stored(srv *dripceltest.Server) string {
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

func wantStored(t *testing.T, srv *dripceltest.Server, want string) {
	t.Helper()
	if got := stored(srv); got != want {
		t.Errorf("server holds:\n%s\nwant:\n%s", got, want)
	}
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// summaryLine finds the summary's line for an outcome, with its spacing
// squeezed: "duplicates 2 rows 5, 7".
func summaryLine(t *testing.T, stdout, outcome string) string {
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
