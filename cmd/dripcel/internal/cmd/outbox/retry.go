package outbox

import (
	"errors"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/spf13/cobra"
)

func newRetryCmd(std cli.Streams, c *connFlags) *cobra.Command {
	var f filterFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "retry (filters | --all)",
		Short: "Move refused sales back to the queue, to be sent again",
		Long: `Move the refused sales the filters choose back to the outbox's queue, for
when what Dripcel refused them for is put right (their campaign exists now,
say). They go to the back of the queue, in one transaction (all of them or
none), and the instance holding the outbox's lease sends them at Dripcel's
pace. Sending one Dripcel has already is safe: it answers "duplicate", and
the sale is settled as already recorded.

The filters are those of "dripcel outbox rejected": list first, then retry
with the same flags. Without a filter retry refuses to run; --all moves
every refused sale.

Exit codes:
  0    the chosen sales were moved back to the queue
  1    no refused sale matches the filters: nothing was moved
  2    usage error (no filter and no --all, a bad flag, no outbox at
       --schema/--table); nothing was moved
  3    the database could not be reached, refused the login, or the query
       failed; nothing was moved`,
		Example: `  dripcel outbox rejected --campaign 639978184d735c88ed8bbd68
  dripcel outbox retry --campaign 639978184d735c88ed8bbd68
  # moved 3 rejected sales back to the queue

  dripcel outbox retry --ref A-1042 --ref A-1043
  dripcel outbox retry --id 41,42
  dripcel outbox retry --message "campaign not found" --newer-than 1d`,
		Args: cli.ExactArgs(0, "retry takes flags only, e.g. --ref ORDER or --campaign ID"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, given, err := f.filter(cmd)
			if err != nil {
				return err
			}
			switch {
			case all && len(given) > 0:
				return cli.Usage("--all and %s given: --all moves every refused sale, the filters some of them; give one or the other",
					cli.List(given, "and"))
			case all:
				// dripcelpg refuses a filter choosing every sale, by
				// design; this one chooses every sale refused before
				// the statement began.
				filter.OlderThan = time.Nanosecond
			case len(given) == 0:
				return cli.Usage("retry needs a filter saying which refused sales to send again (--campaign, --message, " +
					"--ref, --id…; see dripcel outbox rejected), or --all for every one")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			n, err := s.outbox.RetryRejected(cmd.Context(), filter)
			if err != nil {
				return s.fail(err)
			}
			if n == 0 {
				return cli.Exit(cli.ExitRejected, errors.New("no refused sale matches: nothing moved"))
			}
			std.Out.Printf("moved %s back to the queue\n", cli.Plural(n, "rejected sale"))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "move every refused sale back to the queue")
	return cmd
}
