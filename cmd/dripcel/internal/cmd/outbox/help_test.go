package outbox_test

import (
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

// TestHelp: each command's help has its own exit codes and its examples;
// an unknown command is a usage error, not help.
func TestHelp(t *testing.T) {
	for cmd, want := range map[string][]string{
		"":         {"DATABASE_URL", "PGPASSWORD", `"dripcel outbox" in pg_stat_activity`, "No password is ever printed"},
		"status":   {"0    the figures were read", "--json", "oldest_seconds"},
		"rejected": {"1    no refused sale matches the filters", "--format", "--limit", "--older-than AGE", "--id ID"},
		"retry":    {"1    no refused sale matches the filters: nothing was moved", "--all", "one transaction"},
		"purge":    {"1    the question was answered no", "delete N rejected sales? [y/N]", "--yes"},
	} {
		args := []string{"outbox", "--help"}
		if cmd != "" {
			args = []string{"outbox", cmd, "--help"}
		}
		r := clitest.Run(t, nil, args...)
		r.WantCode(t, 0)
		wantContains(t, "help for "+strings.Join(args, " "), r.Stdout,
			append(want, "Exit codes:", "Examples:", "dripcel outbox ", "2    usage error", "3    the database could not be reached")...)
	}
	r := clitest.Run(t, nil, "outbox", "bogus")
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, `unknown command "bogus" for dripcel outbox`)
	r = clitest.Run(t, nil, "outbox")
	r.WantCode(t, 0)
	wantContains(t, "stdout", r.Stdout, "Available Commands:", "purge", "rejected", "retry", "status")
}
