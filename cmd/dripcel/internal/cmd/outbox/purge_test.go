package outbox_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

// TestPurge deletes by age, with --yes, and refuses to run without a way
// to ask and without --yes.
func TestPurge(t *testing.T) {
	d := testDB(t)
	fourRefusals(t, d)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--yes"}, "--older-than is required"},
		{[]string{"--yes", "--campaign", "c-gone"}, "--older-than is required"},
		// Standard input is not a terminal here.
		{[]string{"--older-than", "5d"}, "purge asks before deleting, and standard input is not a terminal to ask on: give --yes"},
		{[]string{"--older-than", "5 days", "--yes"}, `--older-than "5 days" is not a duration`},
	} {
		r := d.run(t, append([]string{"purge"}, tt.args...)...)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, tt.want)
	}
	if got := d.refs(t, "_rejected"); len(got) != 4 {
		t.Fatalf("usage errors deleted sales: %v left", got)
	}

	r := d.run(t, "purge", "--older-than", "5d", "--campaign", "c-gone", "--yes")
	r.WantCode(t, 0)
	if r.Stdout != "deleted 1 rejected sale\n" {
		t.Errorf("purge printed %q", r.Stdout)
	}
	if got := d.refs(t, "_rejected"); !slices.Equal(got, []string{"A-1", "A-2", "A-3"}) {
		t.Errorf("left %v, want A-1, A-2, A-3", got)
	}
	r = d.run(t, "purge", "--older-than", "5d", "-y")
	r.WantCode(t, 0)
	if r.Stdout != "deleted 1 rejected sale\n" {
		t.Errorf("purge printed %q", r.Stdout)
	}
	if got := d.refs(t, "_rejected"); !slices.Equal(got, []string{"A-1", "A-2"}) {
		t.Errorf("left %v, want A-1, A-2", got)
	}
	// Nothing old enough is the state asked for: exit 0, for cron.
	r = d.run(t, "purge", "--older-than", "30d", "--yes")
	r.WantCode(t, 0)
	if r.Stdout != "no refused sale matches: nothing to delete\n" {
		t.Errorf("purge printed %q", r.Stdout)
	}

	t.Run("on a terminal", func(t *testing.T) {
		var names []string
		r := d.purgeOnTerminal(t, "n", func() {
			// The question waits, connected: the connection says who it is.
			rows, err := d.pool.Query(context.Background(),
				`SELECT application_name FROM pg_stat_activity WHERE application_name = 'dripcel outbox'`)
			if err == nil {
				for rows.Next() {
					var n string
					if rows.Scan(&n) == nil {
						names = append(names, n)
					}
				}
				err = rows.Err()
			}
			if err != nil {
				t.Error(err)
			}
		}, "--older-than", "1d")
		r.WantCode(t, 1)
		if len(names) == 0 {
			t.Error(`no connection named "dripcel outbox" in pg_stat_activity`)
		}
		wantContains(t, "stderr", r.Stderr, "1 rejected sale was refused more than 1d ago.\ndelete 1 rejected sale? [y/N] ",
			"nothing deleted")
		if got := d.refs(t, "_rejected"); !slices.Equal(got, []string{"A-1", "A-2"}) {
			t.Errorf("answered no, and left %v", got)
		}

		r = d.purgeOnTerminal(t, "yes", nil, "--older-than", "1d")
		r.WantCode(t, 0)
		if r.Stdout != "deleted 1 rejected sale\n" {
			t.Errorf("purge printed %q", r.Stdout)
		}
		if got := d.refs(t, "_rejected"); !slices.Equal(got, []string{"A-1"}) {
			t.Errorf("answered yes, and left %v", got)
		}

		// Nothing to delete: no question.
		_, tty := openPTY(t)
		r = d.runIn(t, tty, "purge", "--older-than", "1d")
		r.WantCode(t, 0)
		if r.Stdout != "no refused sale matches: nothing to delete\n" || r.Stderr != "" {
			t.Errorf("purge of nothing printed %q and %q", r.Stdout, r.Stderr)
		}
	})
}

// purgeOnTerminal runs purge with a terminal for standard input, waits
// for its question, calls meanwhile (if not nil), then answers.
func (d *db) purgeOnTerminal(t *testing.T, answer string, meanwhile func(), args ...string) clitest.Result {
	t.Helper()
	ptm, tty := openPTY(t)
	args = append(append([]string{"outbox", "purge"}, args...), "--schema", d.schema)
	cmd := clitest.Invocation{Args: args, Env: map[string]string{"DATABASE_URL": d.url}}.Cmd()
	cmd.Stdin = tty
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	chunks := make(chan string)
	go func() {
		defer close(chunks)
		buf := make([]byte, 4096)
		for {
			n, err := stderr.Read(buf)
			if n > 0 {
				chunks <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	var errOut strings.Builder
	// A guard against a command that never asks, not a measure of time.
	guard := time.After(30 * time.Second)
	for !strings.Contains(errOut.String(), "[y/N] ") {
		select {
		case c, ok := <-chunks:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("purge ended without asking:\n%s%s", stdout.String(), errOut.String())
			}
			errOut.WriteString(c)
		case <-guard:
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("purge did not ask within 30s:\n%s", errOut.String())
		}
	}
	if meanwhile != nil {
		meanwhile()
	}
	if _, err := ptm.WriteString(answer + "\n"); err != nil {
		t.Fatal(err)
	}
	for c := range chunks {
		errOut.WriteString(c)
	}
	_ = cmd.Wait()
	return clitest.Result{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: errOut.String(), State: cmd.ProcessState}
}
