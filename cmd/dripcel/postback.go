package main

import (
	"context"
	"errors"
	"strings"

	"github.com/dripcel-go/dripcel"
	"github.com/spf13/cobra"
)

// postbackFlags are postback's flags.
type postbackFlags struct {
	client                 clientFlags
	campaign, cell, region string
	soldAt, value, zone    string
	sendID, clickID        string
}

func newPostbackCmd(std streams) *cobra.Command {
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

` + postbackExitCodes,
		Example: `  export DRIPCEL_API_KEY=...
  dripcel postback --campaign 639978184d735c88ed8bbd68 --cell 0631231234 --region ZA
  dripcel postback --click-id 6f1c2a9e4b --cell 27631231234 \
      --sold-at "2025-10-14 09:02:51" --value 199.99`,
		Args: exactArgs(0, "postback takes flags only, e.g. --campaign ID --cell CELL"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPostback(cmd.Context(), std, &f)
		},
	}
	f.client.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.campaign, "campaign", "", "the campaign of the sale (or give --send-id or --click-id instead)")
	fl.StringVar(&f.cell, "cell", "", "the customer's cell number (required)")
	fl.StringVar(&f.region, "region", "", "convert a local cell to international digits for this region, e.g. ZA")
	fl.StringVar(&f.soldAt, "sold-at", "", "when the sale was made: YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\" (default: now)")
	fl.StringVar(&f.zone, "time-zone", defaultZone, "the zone a --sold-at with an offset is moved into, and one without is read in")
	fl.StringVar(&f.value, "value", "", "the sale's value (default: the campaign's default value)")
	fl.StringVar(&f.sendID, "send-id", "", "the send (one SMS of a campaign) the sale came from, instead of --campaign")
	fl.StringVar(&f.clickID, "click-id", "", "the click on Dripcel's tracked link the sale came from, instead of --campaign")
	return cmd
}

func runPostback(ctx context.Context, std streams, f *postbackFlags) error {
	client, err := f.client.newClient()
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
		return usageError("--cell is required")
	}
	if f.region != "" {
		region, err := checkRegion(f.region)
		if err != nil {
			return err
		}
		if s.Cell, err = dripcel.ToInternational(s.Cell, region); err != nil {
			return usageError("--cell %s is not a valid %s number", quote(f.cell), region)
		}
	}
	if v := strings.TrimSpace(f.soldAt); v != "" {
		d, err := newDates(f.zone, "")
		if err != nil {
			return err
		}
		if s.SoldAt, err = d.parse(v); err != nil {
			return usageError("--sold-at %s %v", quote(v), err)
		}
	}
	if v := strings.TrimSpace(f.value); v != "" {
		if s.SaleValue, err = (amounts{}).parse(v); err != nil {
			return usageError("--value %s %v", quote(v), err)
		}
	}
	err = client.Postback(ctx, s)
	if errors.Is(err, dripcel.ErrInvalidSale) {
		return &exitError{code: exitUsage, err: errors.New(plain(err))}
	}
	noun, id := idOf(&s)
	switch dripcel.FateOf(err) {
	case dripcel.Recorded:
		std.out.printf("recorded: %s %s, cell %s\n", noun, id, s.Cell)
		return nil
	case dripcel.AlreadyRecorded:
		std.out.printf("already in Dripcel: %s %s, cell %s (it has a sale with this cell, campaign and soldAt date)\n", noun, id, s.Cell)
		return nil
	case dripcel.Refused:
		if _, reason := classOf(dripcel.Outcome{Fate: dripcel.Refused, Err: err}, s); reason != "" {
			return &exitError{code: exitRejected, err: errors.New(reason)}
		}
	}
	return &exitError{code: exitTransport, err: errors.New(failure(err))}
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
		return usageError("one of --campaign, --send-id or --click-id is required: the identifier Dripcel matches the sale to its campaign by")
	case 1:
		return nil
	}
	return usageError("%s given, but Dripcel takes one identifier a sale and refuses more: give only one of --campaign, --send-id or --click-id",
		list(given, "and"))
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
