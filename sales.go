package dripcel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel/internal/retry"
	"github.com/dripcel-go/dripcel/internal/transport"
	"github.com/dripcel-go/dripcel/internal/wire"
)

// Sale is one conversion to report to Dripcel.
type Sale struct {
	// CampaignID is the Dripcel campaign the sale belongs to. Required.
	CampaignID string
	// SendID is the send the sale came from, if known.
	SendID string
	// ClickID is the click the sale came from, if known.
	ClickID string
	// Cell is the customer's cell number. Required. Local numbers are read
	// with the campaign's country by Dripcel, but Campaigns V2 need
	// international digits (27631231234): use WithCellRegion or
	// ToInternational.
	Cell string
	// SoldAt is when the sale was made; the zero time lets Dripcel use "now".
	// It is sent in its own location, as a date ("2025-10-14") when the clock
	// reads midnight, else as date and clock ("2025-10-14 09:02:51"); Dripcel
	// documents no time zone, so pass times in the zone your campaign
	// reports in, e.g. t.In(johannesburg). Dripcel counts a sale with the same
	// cell, campaign and soldAt date as an existing one as a duplicate.
	SoldAt time.Time
	// SaleValue is the sale's value; nil lets Dripcel use the campaign's
	// default. It is a pointer so that 0 can be sent: use Value(0).
	SaleValue *float64
}

// Value returns a pointer to v, for Sale.SaleValue.
func Value(v float64) *float64 { return &v }

// errStopped is the cause given for sales an upload never sent.
var errStopped = errors.New("upload stopped after an earlier batch failed")

// UploadSales reports sales in bulk with POST /sales, split into batches of
// at most WithBatchSize sales and MaxBatchBytes bytes, in order.
//
// Every sale is validated first; if any is invalid, nothing is sent and the
// error matches ErrInvalidSale and names each bad sale by index. An empty
// slice sends nothing and returns nil.
//
// A batch refused for its content (404 ErrCampaignNotFound, 409
// ErrDuplicateSale, other 4xx) does not stop the others. An auth failure,
// retries running out or the context ending stops the upload. Any failure is
// returned as an *UploadError saying exactly which sales were not accepted;
// errors.Is finds the sentinel of each failed batch.
//
// Batches are retried as a whole, with the same body. That is safe: Dripcel
// refuses a sale it already has (same cell, campaign and soldAt date) as a
// duplicate, so a 409 after a retry usually means the first attempt got
// through. Dripcel does not document whether a batch holding one duplicate is
// refused whole or in part; send sales that may be duplicates with Postback,
// or in batches of one, to learn the fate of each.
func (c *Client) UploadSales(ctx context.Context, sales []Sale) error {
	if len(sales) == 0 {
		return nil
	}
	if err := c.validateAll(sales); err != nil {
		return err
	}
	var failed []*BatchError
	for start := 0; start < len(sales); {
		if err := ctx.Err(); err != nil {
			failed = append(failed, &BatchError{First: start, Last: len(sales) - 1, Err: err})
			break
		}
		body, end := c.encodeBatch(sales, start)
		err := c.do(ctx, request{method: http.MethodPost, path: "/sales", body: body, placement: transport.Header})
		if err != nil {
			failed = append(failed, &BatchError{First: start, Last: end - 1, Sent: true, Err: err})
			if stopsUpload(err) {
				if end < len(sales) {
					cause := errStopped
					if ctx.Err() != nil {
						cause = ctx.Err()
					}
					failed = append(failed, &BatchError{First: end, Last: len(sales) - 1, Err: cause})
				}
				break
			}
		}
		start = end
	}
	if len(failed) == 0 {
		return nil
	}
	return &UploadError{Total: len(sales), Batches: failed}
}

// stopsUpload reports whether a failed batch means later batches would fail
// the same way: everything but a refusal of the batch's own content.
func stopsUpload(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return true // network failure after retries, or context ended
	}
	code := apiErr.StatusCode
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return true
	case retry.Status(code):
		return true
	case code >= 200 && code < 500:
		return false
	}
	return true
}

// encodeBatch encodes the batch starting at sales[start] and returns its
// JSON body and the index just past it. The batch ends at the batch size or
// before the body would pass MaxBatchBytes, but always holds one sale.
func (c *Client) encodeBatch(sales []Sale, start int) ([]byte, int) {
	end := min(start+c.batchSize, len(sales))
	size := 2
	for i := start; i < end; i++ {
		n := encodedSize(&sales[i])
		if i > start && size+n > MaxBatchBytes {
			end = i
			break
		}
		size += n
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '[')
	var f wire.Fields
	for i := start; i < end; i++ {
		if i > start {
			buf = append(buf, ',')
		}
		c.fields(&sales[i], &f)
		buf = wire.AppendJSON(buf, &f)
	}
	return append(buf, ']'), end
}

// encodedSize is a close upper estimate of a sale's JSON size, so a batch's
// buffer is allocated once at about the right size. Characters that need
// escaping make it an underestimate, which append absorbs.
func encodedSize(s *Sale) int {
	n := len(`{"campaign_id":"","cell":""},`) + len(s.CampaignID) + len(s.Cell) + 4
	if s.SendID != "" {
		n += len(`,"send_id":""`) + len(s.SendID)
	}
	if s.ClickID != "" {
		n += len(`,"click_id":""`) + len(s.ClickID)
	}
	if !s.SoldAt.IsZero() {
		n += len(`,"soldAt":"2006-01-02 15:04:05"`)
	}
	if s.SaleValue != nil {
		n += len(`,"saleValue":`) + 24
	}
	return n
}

// fields fills f with s as it goes on the wire. s has been validated, so a
// configured region converts its cell without error.
func (c *Client) fields(s *Sale, f *wire.Fields) {
	*f = wire.Fields{
		CampaignID: s.CampaignID,
		SendID:     s.SendID,
		ClickID:    s.ClickID,
		Cell:       s.Cell,
		SoldAt:     s.SoldAt,
		SaleValue:  s.SaleValue,
	}
	if c.cellRegion != "" {
		if cell, err := ToInternational(s.Cell, c.cellRegion); err == nil {
			f.Cell = cell
		}
	}
}

// validateAll checks every sale and reports every invalid one.
func (c *Client) validateAll(sales []Sale) error {
	var errs []error
	for i := range sales {
		if err := c.validate(&sales[i], i); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validate checks one sale; index is -1 outside an upload.
func (c *Client) validate(s *Sale, index int) error {
	if strings.TrimSpace(s.CampaignID) == "" {
		return &ValidationError{Index: index, Field: "campaign_id", Reason: "is required"}
	}
	if strings.TrimSpace(s.Cell) == "" {
		return &ValidationError{Index: index, Field: "cell", Reason: "is required"}
	}
	// Dripcel reads soldAt as YYYY-MM-DD: a year outside 1-9999 would be
	// sent in a form it cannot read.
	if y := s.SoldAt.Year(); !s.SoldAt.IsZero() && (y < 1 || y > 9999) {
		return &ValidationError{Index: index, Field: "soldAt", Reason: fmt.Sprintf("year %d is outside 1-9999", y)}
	}
	if s.SaleValue != nil && !wire.ValidValue(*s.SaleValue) {
		return &ValidationError{Index: index, Field: "saleValue",
			Reason: fmt.Sprintf("must be a finite number, not %v", *s.SaleValue)}
	}
	if c.cellRegion != "" {
		if _, err := ToInternational(s.Cell, c.cellRegion); err != nil {
			return &ValidationError{Index: index, Field: "cell",
				Reason: fmt.Sprintf("%q is not a valid %s number", s.Cell, c.cellRegion), Err: ErrInvalidCell}
		}
	}
	return nil
}
