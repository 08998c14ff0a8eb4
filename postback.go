package dripcel

import (
	"context"
	"net/http"

	"github.com/dripcel-go/dripcel/internal/transport"
	"github.com/dripcel-go/dripcel/internal/wire"
)

// Postback reports one sale with GET /sales/create, the form Dripcel offers
// for postbacks from other systems. The sale is validated first (the error
// matches ErrInvalidSale and nothing is sent). A 409 (ErrDuplicateSale)
// means Dripcel already has the sale; most callers treat it as success.
// With WithLedger, a sale the ledger holds is not sent: the error then
// matches ErrKnownFromLedger as well as ErrDuplicateSale.
//
// The API key travels in the query string, as Dripcel requires for this
// endpoint. It is added at the last moment, below the retry layer, and is
// never part of a URL in an error or a log line.
func (c *Client) Postback(ctx context.Context, s Sale) error {
	var f wire.Fields
	if err := c.wireFields(&s, -1, &f); err != nil {
		c.tel.countSales(ctx, 1, 0, 1)
		return err
	}
	var key []LedgerKey
	if c.ledger != nil {
		key = []LedgerKey{c.ledgerKey(&f)}
		if !c.ledgerResend && c.ledgerHas(ctx, key)[0] {
			c.tel.countSales(ctx, 1, AlreadyRecorded, 1)
			return errKnown
		}
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/sales/create", rawQuery: wire.Query(&f), placement: transport.Query})
	c.tel.countSales(ctx, 1, FateOf(err), 1)
	if key != nil {
		if f := FateOf(err); f == Recorded || f == AlreadyRecorded {
			c.ledgerAdd(ctx, key)
		}
	}
	return err
}
