package dripcel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel/internal/wire"
)

// Sale is one conversion to report to Dripcel.
//
// A sale names exactly one of CampaignID, SendID or ClickID: the identifier
// Dripcel matches it to its campaign by. None, or more than one, is refused
// before anything is sent (a *ValidationError matching ErrInvalidSale), as
// Dripcel's integration guide says an upload naming more than one fails. A
// field holding only spaces counts as empty, and the one named is sent
// without the spaces around it.
type Sale struct {
	// CampaignID is the Dripcel campaign the sale belongs to.
	CampaignID string
	// SendID is the send (one SMS of a campaign) the sale came from.
	SendID string
	// ClickID is the click on Dripcel's tracked link the sale came from: a
	// checkout that kept it from the landing page reports by it alone.
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
	// Ref is the caller's own reference for the sale, such as an order ID.
	// It is never sent to Dripcel. A Reporter keeps it with the sale in
	// every queue and hands it back with the sale's outcome (OnRejected),
	// so that a refused sale can be traced to its order.
	Ref string
}

// Value returns a pointer to v, for Sale.SaleValue.
func Value(v float64) *float64 { return &v }

// errStopped is the cause given for sales an upload never sent.
var errStopped = errors.New("upload stopped after an earlier batch failed")

// UploadSales reports sales in bulk with POST /sales, in order, in requests
// as full as Dripcel's body limit allows (WithMaxBatchBytes; WithBatchSize
// caps the count too), one after another (with WithConcurrency(n), up to n
// at once). It holds one batch in memory at a time, however many sales
// there are; UploadSalesSeq takes sales that are not in memory.
//
// Every sale is validated first; if any is invalid, nothing is sent and the
// error matches ErrInvalidSale and names the bad sales by index (the first
// 100; the rest are counted). An empty slice sends nothing and returns nil.
//
// A nil error means Dripcel recorded every sale. Otherwise the *UploadError
// gives each sale its own Outcome. A batch Dripcel refuses for its content
// (409, 404, another 4xx in its envelope) is sent again in smaller requests
// until each of its sales has Dripcel's answer about it alone, so that every
// sale Dripcel would accept is recorded whichever way Dripcel treats such a
// batch; this spends requests of the budget (BENCHMARKS.md has the cost). A
// sale repeating an earlier one of the same upload (same identifier, cell
// and soldAt date) is settled with it, without a request, unless its first
// sale was refused for something that need not hold for the repeat (its
// value, say): then the repeat is sent in its own right. An auth failure, a
// 404 about the path, retries running out, an answer not from Dripcel or
// the context ending stops the upload: the sales not yet answered are
// NotDelivered.
//
// Requests are retried as a whole, with the same body. That is safe: Dripcel
// refuses a sale it already has as a duplicate, so a 409 after a retry
// usually means the first attempt got through.
func (c *Client) UploadSales(ctx context.Context, sales []Sale) error {
	return c.uploadSales(ctx, sales, uploadHooks{})
}

// uploadHooks are what a Reporter asks of an upload beyond UploadSales.
type uploadHooks struct {
	// holdTail: a last part-full request is not sent when an earlier
	// request was, and its sales are NotDelivered with errTailHeld (see
	// reporter_tail.go).
	holdTail bool
	// answered, when set, is called as soon as Dripcel's answer settles
	// sales of the upload (their indexes, ascending): a request accepted
	// (Recorded, err nil), or one sale refused alone (AlreadyRecorded or
	// Refused, with the answer). Other fates come only with the upload's
	// result. Calls may come from several goroutines at once (see
	// WithConcurrency).
	answered func(idx []int, f Fate, err error)
}

// uploadSales is UploadSales with a Reporter's hooks.
func (c *Client) uploadSales(ctx context.Context, sales []Sale, hooks uploadHooks) (err error) {
	if len(sales) == 0 {
		return nil
	}
	ctx, span := c.tel.startUpload(ctx, "UploadSales")
	defer func() { c.tel.endUpload(ctx, span, len(sales), err) }()
	cells, err := c.validateAll(sales)
	if err != nil {
		return err
	}
	u := c.newUploader(ctx, cells)
	u.repeats.expect = len(sales)
	u.holdTail, u.answered = hooks.holdTail, hooks.answered
	for i := range sales {
		if !u.add(&sales[i], nil) {
			break
		}
	}
	return u.finish(len(sales))
}

// wireFields validates s and fills f with it as it goes on the wire, the
// cell converted when the client has a region; index is -1 outside an
// upload. The cell is converted once, for both purposes.
func (c *Client) wireFields(s *Sale, index int, f *wire.Fields) error {
	cell, err := c.check(s, index)
	if err != nil {
		return err
	}
	*f = wire.Fields{Cell: cell, SoldAt: s.SoldAt, SaleValue: s.SaleValue}
	setIdentifier(f, s)
	return nil
}

// identifierFields names the identifiers in a ValidationError.
const identifierFields = "campaign_id, send_id or click_id"

// namedID is one of a sale's identifiers by its wire name.
type namedID struct{ name, value string }

// namedIDs are the identifiers s sets, by their wire names, in Dripcel's
// order.
func namedIDs(s *Sale) []namedID {
	var ids []namedID
	for _, id := range [...]namedID{
		{"campaign_id", s.CampaignID}, {"send_id", s.SendID}, {"click_id", s.ClickID},
	} {
		if !blank(id.value) {
			ids = append(ids, id)
		}
	}
	return ids
}

// setIdentifiers names the identifiers s sets, for a ValidationError.
func setIdentifiers(s *Sale) string {
	var set []string
	for _, id := range namedIDs(s) {
		set = append(set, id.name)
	}
	if len(set) == 3 {
		return "all three"
	}
	return strings.Join(set, " and ")
}

// identifier is which of a sale's identifiers is set.
type identifier int

const (
	noIdentifier identifier = iota
	byCampaign
	bySend
	byClick
	severalIdentifiers
)

// identifierOf says which identifier s names, counting a field of spaces as
// empty.
func identifierOf(s *Sale) identifier {
	id, n := noIdentifier, 0
	if !blank(s.CampaignID) {
		id, n = byCampaign, n+1
	}
	if !blank(s.SendID) {
		id, n = bySend, n+1
	}
	if !blank(s.ClickID) {
		id, n = byClick, n+1
	}
	if n > 1 {
		return severalIdentifiers
	}
	return id
}

// blank reports whether v is empty or only white space, without allocating.
func blank(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			if v[i] < 0x80 {
				return false
			}
			return strings.TrimSpace(v[i:]) == ""
		}
	}
	return true
}

// setIdentifier gives f the one identifier s names and leaves the blank
// ones out, so that a field of spaces never reaches the wire. The one named
// goes without the spaces around it (" c1 " from a form or a join is "c1"
// to Dripcel), so the wire, the repeats and the ledger all key on the same
// value. s has passed check.
func setIdentifier(f *wire.Fields, s *Sale) {
	switch identifierOf(s) {
	case byCampaign:
		f.CampaignID = strings.TrimSpace(s.CampaignID)
	case bySend:
		f.SendID = strings.TrimSpace(s.SendID)
	case byClick:
		f.ClickID = strings.TrimSpace(s.ClickID)
	}
}

// cellCacheSize bounds how many converted cells validateAll keeps (about
// 32 bytes each), so that with WithCellRegion the cells of an upload of up
// to that many sales are converted once, not once to validate and again to
// send, while memory stays bounded for larger uploads.
const cellCacheSize = 1 << 14

// validateAll checks every sale and reports the invalid ones. With a cell
// region it also returns the converted cells of the first cellCacheSize
// sales.
func (c *Client) validateAll(sales []Sale) ([]string, error) {
	var (
		errs    []error
		invalid int
		cells   []string
	)
	if c.cellRegion != "" {
		cells = make([]string, 0, min(len(sales), cellCacheSize))
	}
	for i := range sales {
		cell, err := c.check(&sales[i], i)
		if err != nil {
			// Every bad sale is counted, but only the first few are kept:
			// an upload of a million bad rows must not build a huge error.
			if invalid++; invalid <= maxValidationErrors {
				errs = append(errs, err)
			}
			continue
		}
		if len(cells) == i && i < cap(cells) {
			cells = append(cells, cell)
		}
	}
	if invalid > maxValidationErrors {
		errs = append(errs, fmt.Errorf("%w: and %d more invalid sales", ErrInvalidSale, invalid-maxValidationErrors))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cells, nil
}

// maxValidationErrors is how many invalid sales an upload's error names one
// by one; the rest are counted.
const maxValidationErrors = 100

// validate checks one sale; index is -1 outside an upload.
func (c *Client) validate(s *Sale, index int) error {
	_, err := c.check(s, index)
	return err
}

// check validates one sale and returns its cell as it goes on the wire;
// index is -1 outside an upload.
func (c *Client) check(s *Sale, index int) (string, error) {
	switch identifierOf(s) {
	case noIdentifier:
		return "", &ValidationError{Index: index, Field: identifierFields,
			Reason: "is required: set exactly one, the identifier Dripcel matches the sale to its campaign by"}
	case severalIdentifiers:
		return "", &ValidationError{Index: index, Field: identifierFields,
			Reason: "must be exactly one, not " + setIdentifiers(s) + ": Dripcel refuses a sale naming more than one"}
	}
	if strings.TrimSpace(s.Cell) == "" {
		return "", &ValidationError{Index: index, Field: "cell", Reason: "is required"}
	}
	// Dripcel reads soldAt as YYYY-MM-DD: a year outside 1-9999 would be
	// sent in a form it cannot read.
	if y := s.SoldAt.Year(); !s.SoldAt.IsZero() && (y < 1 || y > 9999) {
		return "", &ValidationError{Index: index, Field: "soldAt", Reason: fmt.Sprintf("year %d is outside 1-9999", y)}
	}
	if s.SaleValue != nil && !wire.ValidValue(*s.SaleValue) {
		return "", &ValidationError{Index: index, Field: "saleValue",
			Reason: fmt.Sprintf("must be a finite number, not %v", *s.SaleValue)}
	}
	if c.cellRegion == "" {
		return s.Cell, nil
	}
	// ToInternational's reason (WithCellRegion checked the region): "is not
	// a valid ZA number", and why when it can tell, such as too short.
	cell, why := toInternational(s.Cell, c.cellRegion)
	if why != "" {
		return "", &ValidationError{Index: index, Field: "cell", Reason: fmt.Sprintf("%q %s", s.Cell, why), Err: ErrInvalidCell}
	}
	return cell, nil
}
