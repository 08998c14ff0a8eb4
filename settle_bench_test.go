package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// settleBatch is the size of the refused batch in BenchmarkSettleRefusedBatch:
// about what one request of 100,000 bytes carries.
const settleBatch = 600

// settleScenarios are the refused batches measured: which sales of the
// batch Dripcel already has, and which name an unknown campaign.
var settleScenarios = []struct {
	name             string
	before, unknown  func(i int) bool
	campaignsMissing bool
}{
	{name: "one recorded before", before: func(i int) bool { return i == settleBatch/2 }},
	{name: "one unknown campaign", unknown: func(i int) bool { return i == settleBatch/2 }},
	{name: "1% recorded before", before: func(i int) bool { return i%100 == 37 }},
	{name: "all recorded before (a file uploaded again)", before: func(int) bool { return true }},
}

var settleStrategies = []struct {
	name     string
	strategy int
}{
	{"halve then one by one", dripcel.SplitHalveThenOneByOne},
	{"halve only", dripcel.SplitHalveOnly},
	{"one by one", dripcel.SplitOneByOne},
}

// BenchmarkSettleRefusedBatch measures what it costs, in requests of
// Dripcel's budget, to give every sale of one refused batch its own answer,
// under each way Dripcel may treat such a batch and each split strategy.
// The figure is "requests/batch": requests after the refused one. The
// clients use the first strategy; BENCHMARKS.md has the table.
func BenchmarkSettleRefusedBatch(b *testing.B) {
	for _, sc := range settleScenarios {
		for _, m := range batchModes {
			for _, st := range settleStrategies {
				b.Run(fmt.Sprintf("%s/%s/%s", sc.name, m.name, st.name), func(b *testing.B) {
					var spent int
					for b.Loop() {
						spent = settleCost(b, m.mode, st.strategy, sc.before, sc.unknown)
					}
					b.ReportMetric(float64(spent), "requests/batch")
				})
			}
		}
	}
}

// settleCost uploads one batch of settleBatch sales to a fresh server that
// already has the sales before picks, and returns the requests spent after
// the first. It checks that every sale ended with Dripcel's own answer.
func settleCost(b *testing.B, mode dripceltest.BatchMode, strategy int, before, unknown func(int) bool) int {
	b.Helper()
	srv := dripceltest.Start(dripceltest.WithBatchMode(mode),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
	defer srv.Close()
	c, err := dripcel.NewClient(dripceltest.DefaultKey, dripcel.WithBaseURL(srv.URL), testBudget)
	if err != nil {
		b.Fatal(err)
	}
	dripcel.SetSplitStrategy(c, strategy)
	sales := salesN(settleBatch)
	var had []dripcel.Sale
	for i := range sales {
		if before != nil && before(i) {
			had = append(had, sales[i])
		}
		if unknown != nil && unknown(i) {
			sales[i].CampaignID = "unknown"
		}
	}
	if len(had) > 0 {
		if err := c.UploadSales(context.Background(), had); err != nil {
			b.Fatal(err)
		}
	}
	already := len(srv.Requests())
	err = c.UploadSales(context.Background(), sales)
	var ue *dripcel.UploadError
	if errors.As(err, &ue) && ue.Count(dripcel.NotDelivered) > 0 {
		b.Fatalf("%d sales not delivered: %v", ue.Count(dripcel.NotDelivered), err)
	}
	return len(srv.Requests()) - already - 1
}
