package dripceltest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// A proxy in front of Dripcel answers with its own 404 page for a while:
// the sale is not delivered, and nothing is stored, until the outage ends.
func ExampleServer_ClearFaults() {
	srv := dripceltest.Start(dripceltest.WithCampaigns(dripceltest.Campaign{ID: "c1", Country: "ZA"}))
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithMaxRetries(0),
		dripcel.WithRateLimit(1000, time.Second)) // the fake keeps no budget: no need to pace
	ctx := context.Background()
	sale := dripcel.Sale{CampaignID: "c1", Cell: "0631231234"}

	srv.Respond(dripceltest.UntilCleared, 404, "text/html", dripceltest.ProxyPage(404))
	err := client.Postback(ctx, sale)
	fmt.Println(errors.Is(err, dripcel.ErrNotFromDripcel), dripcel.FateOf(err), len(srv.Sales()))

	srv.ClearFaults()
	err = client.Postback(ctx, sale)
	fmt.Println(dripcel.FateOf(err), len(srv.Sales()))
	// Output:
	// true not delivered 0
	// recorded 1
}

// Dripcel does not say what it does with a batch holding a duplicate;
// BatchPrefix stores the sales before it, as an ordered MongoDB insertMany
// would, and answers with the duplicate's 409. The client then finds each
// sale's own answer with smaller requests.
func ExampleWithBatchMode() {
	srv := dripceltest.Start(dripceltest.WithBatchMode(dripceltest.BatchPrefix),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "c1", Country: "ZA"}))
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL),
		dripcel.WithRateLimit(1000, time.Second)) // the fake keeps no budget: no need to pace
	ctx := context.Background()
	_ = client.Postback(ctx, dripcel.Sale{CampaignID: "c1", Cell: "0821234567"})

	err := client.UploadSales(ctx, []dripcel.Sale{
		{CampaignID: "c1", Cell: "0631231234"},
		{CampaignID: "c1", Cell: "0821234567"}, // recorded by the postback
		{CampaignID: "c1", Cell: "0721234567"},
	})
	first := srv.Requests()[1]
	fmt.Printf("%s %s: %d, %d sales sent, %d stored\n", first.Method, first.Path, first.Status, first.Sales, first.Stored)
	fmt.Println(errors.Is(err, dripcel.ErrDuplicateSale), len(srv.Sales()), "sales stored in all")
	// Output:
	// POST /sales: 409, 3 sales sent, 1 stored
	// true 3 sales stored in all
}
