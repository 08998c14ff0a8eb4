package outbox

import (
	"encoding/json"
	"fmt"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/internal/human"
	"github.com/spf13/cobra"
)

// statusJSON is status --json: one object, its keys always present.
type statusJSON struct {
	Outbox        string  `json:"outbox"`
	Queued        int     `json:"queued"`
	OldestSeconds float64 `json:"oldest_seconds"`
	Holder        string  `json:"holder"`
	Term          int64   `json:"term"`
	Rejected      int     `json:"rejected"`
	LastError     string  `json:"last_error"`
}

func newStatusCmd(std cli.Streams, c *connFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show the outbox's figures: queued, oldest, who delivers, refused",
		Long: `Show what the outbox holds, read in one snapshot: how many sales wait for
Dripcel's verdict and how long the oldest has waited, which instance holds
the lease and delivers (and its term; "none" when no instance does, so
nothing is being sent), how many sales Dripcel refused, and why the oldest
waiting sale was last put back unsent ("none" when it has not been).

--json prints the same as one JSON object, for monitoring: queued,
oldest_seconds, holder ("" for none), term (0 for none), rejected,
last_error ("" for none).

Exit codes:
  0    the figures were read
  2    usage error (a bad flag, no outbox at --schema/--table)
  3    the database could not be reached, refused the login, or the query
       failed`,
		Example: `  dripcel outbox status
  # outbox      dripcel_outbox
  # queued      37
  # oldest      4m 12s
  # holder      checkout-7f9c:4312, term 12
  # rejected    3
  # last error  none

  dripcel outbox status --schema shop --json | jq .oldest_seconds`,
		Args: cli.ExactArgs(0, "status takes flags only"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.outbox.Stats(cmd.Context())
			if err != nil {
				return s.fail(err)
			}
			if asJSON {
				b, err := json.MarshalIndent(statusJSON{
					Outbox: s.name, Queued: st.Queued, OldestSeconds: st.Oldest.Seconds(), Holder: st.Holder,
					Term: st.Term, Rejected: st.Rejected, LastError: st.LastError,
				}, "", "  ")
				if err != nil {
					return err
				}
				std.Out.Printf("%s\n", b)
				return nil
			}
			holder := "none"
			if st.Holder != "" {
				holder = fmt.Sprintf("%s, term %d", printable(st.Holder, 0), st.Term)
			}
			lastErr := "none"
			if st.LastError != "" {
				lastErr = printable(st.LastError, 0)
			}
			std.Out.Printf("outbox      %s\nqueued      %d\noldest      %s\nholder      %s\nrejected    %d\nlast error  %s\n",
				s.name, st.Queued, human.Age(st.Oldest), holder, st.Rejected, lastErr)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the figures as one JSON object")
	return cmd
}
