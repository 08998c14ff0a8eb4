package outbox

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newPurgeCmd(std cli.Streams, c *connFlags) *cobra.Command {
	var f filterFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "purge --older-than AGE [filters] [--yes]",
		Short: "Delete refused sales older than an age, for good",
		Long: `Delete, for good, the refused sales Dripcel refused longer ago than
--older-than (required; 90m, 36h, 7d), and of those only the ones the other
filters of "dripcel outbox rejected" choose, if any are given.

It says how many it would delete and asks "delete N rejected sales? [y/N]"
on the terminal; only y or yes deletes them, and exactly those counted.
--yes deletes without asking, for scripts and cron. Without a terminal to
ask on and without --yes it refuses to run, deleting nothing.

Exit codes:
  0    the sales were deleted, or none is old enough (nothing to delete)
  1    the question was answered no: nothing was deleted
  2    usage error (no --older-than; no terminal and no --yes; a bad flag;
       no outbox at --schema/--table); nothing was deleted
  3    the database could not be reached, refused the login, or the query
       failed; nothing was deleted`,
		Example: `  dripcel outbox purge --older-than 90d
  # 120 rejected sales were refused more than 90d ago.
  # delete 120 rejected sales? [y/N] y
  # deleted 120 rejected sales

  # nightly, from cron:
  dripcel outbox purge --older-than 90d --yes`,
		Args: cli.ExactArgs(0, "purge takes flags only, e.g. --older-than 90d"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, _, err := f.filter(cmd)
			if err != nil {
				return err
			}
			if filter.OlderThan == 0 {
				return cli.Usage("--older-than is required: purge deletes refused sales older than an age, such as 90d")
			}
			if !yes && !isTerminal(std.In) {
				return cli.Usage("purge asks before deleting, and standard input is not a terminal to ask on: " +
					"give --yes to delete without asking (dripcel outbox rejected, with the same flags, lists them)")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			if !yes {
				n, err := s.outbox.CountRejected(ctx, filter)
				if err != nil {
					return s.fail(err)
				}
				counted := time.Now()
				if n == 0 {
					std.Out.Printf("no refused sale matches: nothing to delete\n")
					return nil
				}
				std.Err.Printf("%s %s refused more than %s ago.\ndelete %s? [y/N] ", cli.Plural(n, "rejected sale"),
					were(n), strings.TrimSpace(f.olderThan), cli.Plural(n, "rejected sale"))
				if !confirmed(std.In) {
					return cli.Exit(cli.ExitRejected, errors.New("nothing deleted"))
				}
				// The ages are counted back from the database's now(),
				// which moved on while the question waited: widen them
				// by as much, so that the cut-offs, and so the sales
				// deleted, are those counted. Sales refused since are
				// newer than the cut-off and stay.
				waited := time.Since(counted)
				filter.OlderThan += waited
				if filter.NewerThan > 0 {
					filter.NewerThan += waited
				}
			}
			n, err := s.outbox.PurgeRejected(ctx, filter)
			if err != nil {
				return s.fail(err)
			}
			if n == 0 {
				std.Out.Printf("no refused sale matches: nothing to delete\n")
				return nil
			}
			std.Out.Printf("deleted %s\n", cli.Plural(n, "rejected sale"))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	return cmd
}

func were(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// isTerminal reports whether r is a terminal a person can answer on.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirmed reads one answer from in: y or yes, in any case, is yes;
// anything else, an empty line and the end of input are no.
func confirmed(in io.Reader) bool {
	line, _ := bufio.NewReader(in).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}
