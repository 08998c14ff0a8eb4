package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// A ledger remembers what Dripcel confirmed: uploading the same sales again
// costs no request, and each comes back AlreadyRecorded.
func ExampleWithLedger() {
	srv := fakeDripcel()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "ledger")
	defer func() { _ = os.RemoveAll(dir) }()

	ledger, err := dripcel.OpenFileLedger(filepath.Join(dir, "dripcel-ledger.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = ledger.Close() }()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithLedger(ledger))

	// The ledger keys a sale by its soldAt date: one without is never
	// remembered, as Dripcel would date it by its own clock.
	yesterday := time.Now().AddDate(0, 0, -1).Truncate(24 * time.Hour)
	sales := []dripcel.Sale{
		{CampaignID: "639978184d735c88ed8bbd68", Cell: "27821234567", SoldAt: yesterday},
		{CampaignID: "639978184d735c88ed8bbd68", Cell: "27831234567", SoldAt: yesterday},
	}
	ctx := context.Background()
	fmt.Println("first upload:", client.UploadSales(ctx, sales), len(srv.Requests()), "request")

	err = client.UploadSales(ctx, sales)
	var ue *dripcel.UploadError
	if errors.As(err, &ue) {
		fmt.Println("again:", ue.Count(dripcel.AlreadyRecorded), "already recorded,",
			errors.Is(err, dripcel.ErrKnownFromLedger), len(srv.Requests()), "request in all")
	}
	// Output:
	// first upload: <nil> 1 request
	// again: 2 already recorded, true 1 request in all
}

// A checkout that kept the click of Dripcel's tracked link from the
// landing page reports the sale by the click alone: Dripcel knows its
// campaign.
func ExampleClient_Postback_click() {
	srv := dripceltest.Start(
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "639978184d735c88ed8bbd68", Country: "ZA"}),
		dripceltest.WithClicks(dripceltest.Click{ID: "clk-8f2a91", CampaignID: "639978184d735c88ed8bbd68"}))
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL))

	err := client.Postback(context.Background(), dripcel.Sale{ClickID: "clk-8f2a91", Cell: "27821234567"})
	fmt.Println(err, srv.Sales()[0].CampaignID)

	// Naming the campaign as well is refused before anything is sent.
	err = client.Postback(context.Background(), dripcel.Sale{
		ClickID: "clk-8f2a91", CampaignID: "639978184d735c88ed8bbd68", Cell: "27821234567"})
	fmt.Println(errors.Is(err, dripcel.ErrInvalidSale))
	// Output:
	// <nil> 639978184d735c88ed8bbd68
	// true
}
