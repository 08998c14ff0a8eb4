package dripcelpg

import (
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
)

// saleColumns are the columns that hold a sale, in the outbox and in the
// rejected table alike, in the order scanSaleColumns reads them.
const saleColumns = "ref, campaign_id, send_id, click_id, cell, sold_at, sold_at_offset, sale_value"

// saleColumnsOf is saleColumns, each qualified by table (an alias).
func saleColumnsOf(table string) string {
	cols := strings.Split(saleColumns, ", ")
	for i, c := range cols {
		cols[i] = table + "." + c
	}
	return strings.Join(cols, ", ")
}

// scanSaleColumns reads a row of id, the sale columns, then the columns
// after them into rest.
func scanSaleColumns(row pgx.CollectableRow, id *int64, rest []any) (dripcel.Sale, error) {
	var (
		s      dripcel.Sale
		soldAt time.Time
		offset int32
		value  *float64
	)
	dst := append([]any{id, &s.Ref, &s.CampaignID, &s.SendID, &s.ClickID, &s.Cell, &soldAt, &offset, &value}, rest...)
	if err := row.Scan(dst...); err != nil {
		return s, err
	}
	// The wall clock sent to Dripcel is the one enqueued, in its offset.
	s.SoldAt = soldAt.In(time.FixedZone("", int(offset)))
	s.SaleValue = value
	return s, nil
}
