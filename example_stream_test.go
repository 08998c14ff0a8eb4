package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/dripcel-go/dripcel"
)

func ExampleClient_UploadSalesSeq() {
	srv := fakeDripcel()
	defer srv.Close()
	client, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL),
		dripcel.WithCellRegion("ZA"), dripcel.WithBatchSize(2))

	// rows stands for a file or a database cursor: sales are read one at a
	// time and sent in batches as they come, so memory holds one batch.
	cells := []string{"0111111111", "0111111112", "0111111113", "not a cell"}
	rows := func(yield func(dripcel.Sale, error) bool) {
		for _, cell := range cells {
			if !yield(dripcel.Sale{CampaignID: "639978184d735c88ed8bbd68", Cell: cell}, nil) {
				return
			}
		}
	}

	err := client.UploadSalesSeq(context.Background(), rows)
	var upErr *dripcel.UploadError
	if !errors.As(err, &upErr) {
		log.Fatal(err)
	}
	// The first batch was sent before the bad row was read; the upload
	// stopped there.
	fmt.Println(len(srv.Sales()), "sales recorded")
	fmt.Println("not accepted:", upErr.Failed())
	fmt.Println(errors.Is(err, dripcel.ErrInvalidCell))
	// Output:
	// 2 sales recorded
	// not accepted: [2 3]
	// true
}
