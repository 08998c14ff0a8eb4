// Command quickstart reports a few sales to a fake Dripcel running in this
// process, so it needs no key and no network:
//
//	go run ./examples/quickstart
//
// With -live it reports to the real API instead, with the key in
// DRIPCEL_API_KEY and the campaign given by -campaign. Its sample sales,
// with made-up cells, are then recorded in that campaign: use a campaign
// kept for tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

func main() {
	live := flag.Bool("live", false, "report to the real Dripcel API (needs DRIPCEL_API_KEY and -campaign; the sample sales are recorded there, so use a test campaign)")
	campaign := flag.String("campaign", "demo-campaign", "campaign ID to report sales for")
	flag.Parse()
	if err := run(os.Stdout, *live, *campaign); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, live bool, campaign string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	key, opts := os.Getenv("DRIPCEL_API_KEY"), []dripcel.Option{dripcel.WithCellRegion("ZA")}
	var srv *dripceltest.Server
	if live {
		if key == "" {
			return errors.New("-live needs DRIPCEL_API_KEY")
		}
		fmt.Fprintf(out, "Reporting to the real Dripcel API: sample sales with made-up cells go to campaign %s.\n", campaign)
	} else {
		srv = dripceltest.Start(dripceltest.WithCampaigns(
			dripceltest.Campaign{ID: campaign, Country: "ZA", DefaultSaleValue: 150}))
		defer srv.Close()
		key = srv.Key
		opts = append(opts, dripcel.WithBaseURL(srv.URL))
		fmt.Fprintf(out, "Reporting to a fake Dripcel at %s (run with -live for the real API).\n", srv.URL)
	}

	client, err := dripcel.NewClient(key, opts...)
	if err != nil {
		return err
	}

	day := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	sales := []dripcel.Sale{
		{CampaignID: campaign, Cell: "063 123 1234", SoldAt: day, SaleValue: dripcel.Value(199.99)},
		{CampaignID: campaign, Cell: "27821234567", SoldAt: day},
		{CampaignID: campaign, Cell: "(072) 555-0101", SoldAt: day.Add(9*time.Hour + 2*time.Minute + 51*time.Second), SaleValue: dripcel.Value(0)},
	}
	if err := client.UploadSales(ctx, sales); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Fprintf(out, "Uploaded %d sales.\n", len(sales))

	// The same cell, campaign and day again: Dripcel refuses it as a duplicate.
	err = client.UploadSales(ctx, sales[:1])
	switch {
	case errors.Is(err, dripcel.ErrDuplicateSale):
		fmt.Fprintln(out, "Uploading the first sale again: duplicate, already recorded (ErrDuplicateSale).")
	case err != nil:
		return fmt.Errorf("second upload: %w", err)
	default:
		fmt.Fprintln(out, "Uploading the first sale again was accepted (no duplicate check?).")
	}

	// One sale reported as it happens, with GET /sales/create. A sale names
	// exactly one of CampaignID, SendID or ClickID (Dripcel refuses more);
	// a checkout that kept the click of Dripcel's tracked link sets ClickID
	// alone instead, as examples/checkout does.
	postback := dripcel.Sale{CampaignID: campaign, Cell: "0845550199"}
	if err := client.Postback(ctx, postback); err != nil {
		return fmt.Errorf("postback: %w", err)
	}
	fmt.Fprintln(out, "Postback of one sale accepted.")

	if srv != nil {
		fmt.Fprintln(out, "The fake server recorded:")
		for _, s := range srv.Sales() {
			value := fmt.Sprintf("%.2f", s.SaleValue)
			if s.DefaultValue {
				value += " (campaign default)"
			}
			fmt.Fprintf(out, "  %-8s cell %s (sent %q)  soldAt %s  value %s\n", s.Via, s.Cell, s.RawCell, s.SoldAt, value)
		}
	}
	return nil
}
