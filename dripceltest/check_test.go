package dripceltest_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// TestSaleCheck: a sale WithSaleCheck refuses is answered 400 with the
// check's message and, unlike a malformed sale, is a bad sale of its batch:
// each batch mode stores the others as it stores around a duplicate.
func TestSaleCheck(t *testing.T) {
	negative := func(s dripceltest.Sale) error {
		if s.SaleValue < 0 {
			return errors.New("saleValue must not be negative")
		}
		return nil
	}
	body := batch(
		`{"campaign_id":"za","cell":"0631231231","saleValue":5}`,
		`{"campaign_id":"za","cell":"0631231232","saleValue":-5}`,
		`{"campaign_id":"za","cell":"0631231233","saleValue":6}`)
	for _, tt := range []struct {
		mode dripceltest.BatchMode
		want []string
	}{
		{dripceltest.BatchPartial, []string{"27631231231", "27631231233"}},
		{dripceltest.BatchAtomic, nil},
		{dripceltest.BatchPrefix, []string{"27631231231"}},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			srv := start(t, dripceltest.WithBatchMode(tt.mode), dripceltest.WithSaleCheck(negative))
			got := postSales(t, srv, body)
			if got.status != 400 || got.body != errorBody("saleValue must not be negative") {
				t.Fatalf("answer %d %s", got.status, got.body)
			}
			if cells := storedCells(srv); !slices.Equal(cells, tt.want) {
				t.Errorf("stored %v, want %v", cells, tt.want)
			}
		})
	}
}
