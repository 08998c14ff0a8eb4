// Package postback is the postback command: one sale, reported with GET
// /sales/create.
package postback

import (
	"context"
	"errors"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/apiclient"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/fate"
	"strings"

	"github.com/dripcel-go/dripcel"
	"github.com/spf13/cobra"
)

// postbackFlags are postback's flags.
type postbackFlags struct {
	client                 apiclient.Flags
	campaign, cell, region string
	soldAt, value, zone    string
	sendID, clickID        string
}

// NewCmd is the postback command.
func NewCmd(std cli.Streams) *cobra.Command {
	var f postbackFlags
	cmd := &cobra.Command{
		Use:   "postback (--campaign ID | --send-id ID | --click-id ID) --cell CELL [flags]",
		Short: "Report one sale (GET /sales/create)",
		Long: `Report one sale with GET /sales/create, the postback form of Dripcel's API.

A sale names exactly one of --campaign, --send-id or --click-id, the
identifier Dripcel matches it to its campaign by: Dripcel refuses a sale
naming more than one. A checkout that kept the click of Dripcel's tracked
link reports by --click-id alone.

It prints "recorded" when Dripcel takes the sale, and "already in Dripcel"
when Dripcel has a sale with the same cell, campaign and soldAt date (a
blank soldAt is Dripcel's "now", so the date is today's).

postback uses no ledger (upload's memory of the sales Dripcel confirmed):
it sends one sale, which Dripcel's own answer settles, and waiting for a
ledger held by a long upload would only hold it up.

` + postbackExitCodes,
		Example: `  export DRIPCEL_API_KEY=...
  dripcel postback --campaign 639978184d735c88ed8bbd68 --cell 0631231234 --region ZA
  dripcel postback --click-id 6f1c2a9e4b --cell 27631231234 \
      --sold-at "2025-10-14 09:02:51" --value 199.99`,
		Args: cli.ExactArgs(0, "postback takes flags only, e.g. --campaign ID --cell CELL"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPostback(cmd.Context(), std, &f)
		},
	}
	f.client.Register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.campaign, "campaign", "", "the campaign of the sale (or give --send-id or --click-id instead)")
	fl.StringVar(&f.cell, "cell", "", "the customer's cell number (required)")
	fl.StringVar(&f.region, "region", "", "convert a local cell to international digits for this region, e.g. ZA")
	fl.StringVar(&f.soldAt, "sold-at", "", "when the sale was made: YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\" (default: now)")
	fl.StringVar(&f.zone, "time-zone", export.DefaultZone, "the zone a --sold-at with an offset is moved into, and one without is read in")
	fl.StringVar(&f.value, "value", "", "the sale's value (default: the campaign's default value)")
	fl.StringVar(&f.sendID, "send-id", "", "the send (one SMS of a campaign) the sale came from, instead of --campaign")
	fl.StringVar(&f.clickID, "click-id", "", "the click on Dripcel's tracked link the sale came from, instead of --campaign")
	return cmd
}

func runPostback(ctx context.Context, std cli.Streams, f *postbackFlags) error {
	client, err := f.client.NewClient()
	if err != nil {
		return err
	}
	s := dripcel.Sale{
		CampaignID: strings.TrimSpace(f.campaign),
		Cell:       strings.TrimSpace(f.cell),
		SendID:     strings.TrimSpace(f.sendID),
		ClickID:    strings.TrimSpace(f.clickID),
	}
	if err := oneIdentifierFlag(&s); err != nil {
		return err
	}
	if s.Cell == "" {
		return cli.Usage("--cell is required")
	}
	if f.region != "" {
		region, err := export.CheckRegion(f.region)
		if err != nil {
			return err
		}
		cell := s.Cell
		if s.Cell, err = dripcel.ToInternational(cell, region); err != nil {
			return cli.Usage("--cell %s %s", cli.Quote(f.cell), export.CellProblem(err, region))
		}
	}
	if v := strings.TrimSpace(f.soldAt); v != "" {
		d, err := export.NewDates(f.zone, "")
		if err != nil {
			return err
		}
		if s.SoldAt, err = d.Parse(v); err != nil {
			return cli.Usage("--sold-at %s %v", cli.Quote(v), err)
		}
	}
	if v := strings.TrimSpace(f.value); v != "" {
		if s.SaleValue, err = (export.Amounts{}).Parse(v); err != nil {
			return cli.Usage("--value %s %v", cli.Quote(v), err)
		}
	}
	err = client.Postback(ctx, s)
	if errors.Is(err, dripcel.ErrInvalidSale) {
		return cli.Exit(cli.ExitUsage, errors.New(cli.Plain(err)))
	}
	noun, id := fate.ID(&s)
	switch dripcel.FateOf(err) {
	case dripcel.Recorded:
		std.Out.Printf("recorded: %s %s, cell %s\n", noun, id, s.Cell)
		return nil
	case dripcel.AlreadyRecorded:
		std.Out.Printf("already in Dripcel: %s %s, cell %s (it has a sale with this cell, campaign and soldAt date)\n", noun, id, s.Cell)
		return nil
	case dripcel.Refused:
		_, reason := fate.Refusal(err, &s)
		return cli.Exit(cli.ExitRejected, errors.New(reason))
	}
	return cli.Exit(cli.ExitTransport, errors.New(fate.Failure(err)))
}

// oneIdentifierFlag checks that exactly one of --campaign, --send-id and
// --click-id is given, as Dripcel refuses a sale naming more than one; the
// message names the flags, which the library's error cannot.
func oneIdentifierFlag(s *dripcel.Sale) error {
	var given []string
	for _, id := range [...]struct{ flag, v string }{
		{"--campaign", s.CampaignID}, {"--send-id", s.SendID}, {"--click-id", s.ClickID},
	} {
		if id.v != "" {
			given = append(given, id.flag)
		}
	}
	switch len(given) {
	case 0:
		return cli.Usage("one of --campaign, --send-id or --click-id is required: the identifier Dripcel matches the sale to its campaign by")
	case 1:
		return nil
	}
	return cli.Usage("%s given, but Dripcel takes one identifier a sale and refuses more: give only one of --campaign, --send-id or --click-id",
		cli.List(given, "and"))
}

// postbackExitCodes is postback's own exit-code table.
const postbackExitCodes = `Exit codes:
  0    Dripcel has the sale: recorded now, or it had it already
  1    Dripcel refused the sale (an unknown campaign, send or click, an
       unreadable cell)
  2    usage error (a missing or malformed flag, DRIPCEL_API_KEY not set);
       nothing was sent
  3    not delivered: the key was refused (401/403), or the network or
       Dripcel failed after retries; sending it again is safe`
