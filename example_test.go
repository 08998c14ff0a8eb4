package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// fakeDripcel starts a fake server so the examples run without a key. It
// refuses a whole batch holding an unknown campaign (BatchAtomic), the case
// the examples' printed output was written for.
func fakeDripcel() *dripceltest.Server {
	return dripceltest.Start(dripceltest.WithBatchMode(dripceltest.BatchAtomic), dripceltest.WithCampaigns(
		dripceltest.Campaign{ID: "639978184d735c88ed8bbd68", Country: "ZA", DefaultSaleValue: 100}))
}

func ExampleNewClient() {
	srv := fakeDripcel()
	defer srv.Close()

	// In production: dripcel.NewClient(os.Getenv("DRIPCEL_API_KEY"), ...).
	client, err := dripcel.NewClient(srv.Key,
		dripcel.WithBaseURL(srv.URL),
		dripcel.WithCellRegion("ZA"),
		dripcel.WithTimeout(10*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client != nil)
	// Output: true
}

func ExampleClient_UploadSales() {
	srv := fakeDripcel()
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithCellRegion("ZA"))

	err := client.UploadSales(context.Background(), []dripcel.Sale{
		{CampaignID: "639978184d735c88ed8bbd68", Cell: "0111111111"},
		{CampaignID: "639978184d735c88ed8bbd68", Cell: "0111111112",
			SoldAt: time.Date(2023, 2, 14, 0, 0, 0, 0, time.UTC), SaleValue: dripcel.Value(100)},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range srv.Sales() {
		fmt.Println(s.Cell, s.SaleValue)
	}
	// Output:
	// 27111111111 100
	// 27111111112 100
}

func ExampleClient_Postback() {
	srv := fakeDripcel()
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := client.Postback(ctx, dripcel.Sale{
		CampaignID: "639978184d735c88ed8bbd68",
		Cell:       "27112223333",
		SoldAt:     time.Date(2025, 10, 14, 9, 2, 51, 0, time.UTC),
	})
	fmt.Println(err, srv.Sales()[0].SoldAt)
	// Output: <nil> 2025-10-14 09:02:51
}

func ExampleToInternational() {
	for _, cell := range []string{"063 123 1234", "(063) 123-1234", "0027631231234", "27631231234"} {
		intl, err := dripcel.ToInternational(cell, "ZA")
		fmt.Println(intl, err)
	}
	_, err := dripcel.ToInternational("12345", "ZA")
	fmt.Println(errors.Is(err, dripcel.ErrInvalidCell))
	// Output:
	// 27631231234 <nil>
	// 27631231234 <nil>
	// 27631231234 <nil>
	// 27631231234 <nil>
	// true
}

// Check errors with errors.Is for the kind and errors.As for the detail.
func Example_errors() {
	srv := fakeDripcel()
	defer srv.Close()
	// The fake server keeps no budget, so the client need not pace itself
	// to Dripcel's 50 requests a minute.
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithBatchSize(1),
		dripcel.WithoutPacing())
	ctx := context.Background()

	sale := dripcel.Sale{CampaignID: "639978184d735c88ed8bbd68", Cell: "27631231234",
		SoldAt: time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)}
	_ = client.Postback(ctx, sale)

	err := client.Postback(ctx, sale)
	fmt.Println("duplicate:", errors.Is(err, dripcel.ErrDuplicateSale))

	err = client.UploadSales(ctx, []dripcel.Sale{
		{CampaignID: "639978184d735c88ed8bbd68", Cell: "27821234567"},
		{CampaignID: "unknown", Cell: "27821234568"},
	})
	var upErr *dripcel.UploadError
	if errors.As(err, &upErr) {
		fmt.Println("not accepted:", upErr.Failed(), errors.Is(err, dripcel.ErrCampaignNotFound))
	}

	err = client.Postback(ctx, dripcel.Sale{CampaignID: "639978184d735c88ed8bbd68"})
	var ve *dripcel.ValidationError
	if errors.As(err, &ve) {
		fmt.Println("invalid:", ve.Field, ve.Reason)
	}
	// Output:
	// duplicate: true
	// not accepted: [1] true
	// invalid: cell is required
}

// Each sale of an upload has its own outcome, whichever way Dripcel treats a
// batch holding a bad sale: here one sale Dripcel already has, one for an
// unknown campaign and one repeated inside the upload.
func ExampleUploadError_Outcomes() {
	srv := fakeDripcel()
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithCellRegion("ZA"))
	day := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	campaign := "639978184d735c88ed8bbd68"
	_ = client.Postback(context.Background(), dripcel.Sale{CampaignID: campaign, Cell: "0631231234", SoldAt: day})

	sales := []dripcel.Sale{
		{CampaignID: campaign, Cell: "0631231234", SoldAt: day}, // Dripcel has it
		{CampaignID: campaign, Cell: "0821234567", SoldAt: day},
		{CampaignID: "000000000000000000000000", Cell: "0721234567", SoldAt: day},
		{CampaignID: campaign, Cell: "0821234567", SoldAt: day}, // repeats sale 1
	}
	err := client.UploadSales(context.Background(), sales)
	var upErr *dripcel.UploadError
	if errors.As(err, &upErr) {
		for i, o := range upErr.Outcomes() {
			fmt.Println(i, o.Fate)
		}
		fmt.Println("send again:", upErr.Count(dripcel.NotDelivered))
	}
	// Output:
	// 0 already recorded
	// 1 recorded
	// 2 refused
	// 3 already recorded
	// send again: 0
}

// FateOf classes the result of a call that reported one sale.
func ExampleFateOf() {
	srv := fakeDripcel()
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL))
	sale := dripcel.Sale{CampaignID: "639978184d735c88ed8bbd68", Cell: "27631231234",
		SoldAt: time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)}

	fmt.Println(dripcel.FateOf(client.Postback(context.Background(), sale)))
	fmt.Println(dripcel.FateOf(client.Postback(context.Background(), sale)))
	// Output:
	// recorded
	// already recorded
}
