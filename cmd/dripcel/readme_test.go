package main_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// readmeBlocks returns the commands of each sh block under the README's
// "## Command-line tool" heading, as a shell would split them: lines joined
// at a trailing backslash, comments dropped.
func readmeBlocks(t *testing.T) [][][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Command-line tool\n")
	if !ok {
		t.Fatal("no ## Command-line tool in the README")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks [][][]string
	var block [][]string
	in := false
	for _, line := range strings.Split(strings.ReplaceAll(section, "\\\n", " "), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in, block = true, nil
		case in && strings.HasPrefix(line, "```"):
			in = false
			blocks = append(blocks, block)
		case in:
			if words := shellWords(t, line); len(words) > 0 {
				block = append(block, words)
			}
		}
	}
	return blocks
}

// shellWords splits a line as sh does for the README's commands: words
// apart at spaces, double quotes kept together, a # starting a comment.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case quoted:
			w.WriteRune(r)
		case r == '#' && !inWord:
			return words
		case r == ' ' || r == '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unclosed quote in the README: %s", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// inTestdata runs a README command in a folder holding testdata's files,
// as a reader runs it beside their own.
func inTestdata(t *testing.T, env map[string]string, args []string) (clitest.Result, string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"sales.csv", "export.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return clitest.Invocation{Args: args, Env: env, Dir: dir}.Run(t), dir
}

// TestReadmeCommands runs every dripcel command of the README's
// "Command-line tool" section as written (the binary for "dripcel"),
// against a fake Dripcel, with testdata's sales.csv and export.csv for
// the files they name.
func TestReadmeCommands(t *testing.T) {
	srv := dripceltest.NewServer(t, dripceltest.WithCampaigns(
		dripceltest.Campaign{ID: "639978184d735c88ed8bbd68", Country: "ZA", DefaultSaleValue: 150}))
	ran := 0
	for _, block := range readmeBlocks(t) {
		for i := 0; i < len(block); i++ {
			args := block[i]
			if args[0] != "dripcel" {
				continue // go install, git clone, export: the test sets the environment
			}
			ran++
			if len(args) > 1 && args[1] == "fake" {
				readmeFake(t, block[i+1:])
				i = len(block)
				continue
			}
			r, dir := inTestdata(t, clitest.Env(srv), args[1:])
			r.WantCode(t, 0)
			if args[1] == "upload" {
				if _, err := os.Stat(filepath.Join(dir, "rejects.csv")); err == nil {
					t.Errorf("%v wrote a rejects file with no row needing action", args)
				}
			}
			if args[1] == "normalize" && r.Stdout != "27631231234\n27821234567\n" {
				t.Errorf("%v printed %q", args, r.Stdout)
			}
		}
	}
	if ran < 5 {
		t.Errorf("ran %d commands of the README, want its 5 at least", ran)
	}
}

// readmeFake runs the README's "dripcel fake" walkthrough: the fake, then
// the rest of the block's commands in "another terminal", with the address
// and key it printed. The fake listens on a free port rather than 8787,
// which another program may hold.
func readmeFake(t *testing.T, rest [][]string) {
	t.Helper()
	fake := exec.Command(clitest.Binary, "fake", "--addr", "127.0.0.1:0")
	out, err := fake.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Process.Kill(); _ = fake.Wait() })
	env := map[string]string{}
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		re := regexp.MustCompile(`export (DRIPCEL_[A-Z_]+)=(\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				env[m[1]] = m[2]
				if len(env) == 2 {
					close(found)
					break
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("the fake printed no address and key")
	}
	if env["DRIPCEL_API_KEY"] != dripceltest.DefaultKey {
		t.Errorf("the fake's key is %q, the README's %q", env["DRIPCEL_API_KEY"], dripceltest.DefaultKey)
	}
	for _, args := range rest {
		if args[0] != "dripcel" {
			continue
		}
		r, dir := inTestdata(t, env, args[1:])
		// export.csv has a cell that is not a number: it goes to the
		// rejects file, and the others to the fake.
		r.WantCode(t, 1)
		clitest.WantContains(t, "stdout", r.Stdout, "export.csv: 6 rows read, 4 sent",
			"recorded            4", "repeated in file    1   row 5 (repeats 2)", "invalid             1   row 6",
			"1 row needing action written to rejects.csv")
		want := "Order,Customer,Phone,Date,Total,Status,row,reason\n" +
			"A-1005,Pieter V,12345,2025-10-15,R75.00,paid,6,\"cell (column \"\"Phone\"\") \"\"12345\"\" is not a valid ZA number: too short for a mobile number in ZA (at least 9 digits after the country code)\"\n"
		if got := clitest.ReadFile(t, filepath.Join(dir, "rejects.csv")); got != want {
			t.Errorf("rejects.csv\n%q\nwant\n%q", got, want)
		}
	}
}
