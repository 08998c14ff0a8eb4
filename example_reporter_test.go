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
)

func ExampleNewReporter() {
	srv := fakeDripcel()
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL), dripcel.WithCellRegion("ZA"))

	dir, _ := os.MkdirTemp("", "example")
	defer func() { _ = os.RemoveAll(dir) }()
	reporter, err := dripcel.NewReporter(client,
		dripcel.WithSpool(filepath.Join(dir, "dripcel.spool")), // sales survive a crash
		dripcel.WithOnRejected(func(s dripcel.Sale, err error) {
			fmt.Println("refused:", s.CampaignID, errors.Is(err, dripcel.ErrCampaignNotFound))
		}),
	)
	if err != nil {
		log.Fatal(err) // not a spool, damaged, or in use
	}

	// In a checkout handler: returns at once, the sale on disk.
	ctx := context.Background()
	for _, s := range []dripcel.Sale{
		{CampaignID: "639978184d735c88ed8bbd68", Cell: "063 123 1234", SaleValue: dripcel.Value(199.99)},
		{CampaignID: "no-such-campaign", Cell: "0821234567"},
	} {
		if err := reporter.Report(ctx, s); err != nil {
			log.Print(err) // invalid, or not queued: keep the sale elsewhere
		}
	}

	// On shutdown: send what is queued, within a deadline.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := reporter.Close(ctx); err != nil {
		log.Print(err) // how many sales remain, and where
	}
	st := reporter.Stats()
	fmt.Println("sent", st.Sent, "rejected", st.Rejected, "queued", st.Queued)
	fmt.Println(srv.Sales()[0].Cell, srv.Sales()[0].SaleValue)
	// Output:
	// refused: no-such-campaign true
	// sent 1 rejected 1 queued 0
	// 27631231234 199.99
}
