package wire

import (
	"strings"

	"github.com/google/go-querystring/query"
)

// postbackQuery is a postback's parameters, every one already in the form
// Dripcel documents. Only strings reach go-querystring, so neither of its
// traps can: it would write a float64 with fmt ("1e+06") and a time.Time
// as RFC 3339, neither of which Dripcel documents.
type postbackQuery struct {
	CampaignID string `url:"campaign_id,omitempty"`
	Cell       string `url:"cell"`
	ClickID    string `url:"click_id,omitempty"`
	SaleValue  string `url:"saleValue,omitempty"`
	SendID     string `url:"send_id,omitempty"`
	SoldAt     string `url:"soldAt,omitempty"`
}

// Query returns the postback query string for one sale, built with
// go-querystring as the design card names it: the parameters sorted by
// name, empty optional ones left out, soldAt and saleValue in the forms
// Dripcel documents (FormatSoldAt, FormatValue), and every byte but letters,
// digits and "-_.~" percent-escaped, a space as %20 as in Dripcel's own
// example rather than '+'. The API key is not among the parameters: it is
// added by the transport below the retry layer, so that no URL the retry
// machinery logs or wraps in an error ever holds it.
func Query(f *Fields) string {
	v, err := query.Values(postbackQuery{
		CampaignID: f.CampaignID,
		Cell:       f.Cell,
		ClickID:    f.ClickID,
		SaleValue:  FormatValue(f.SaleValue),
		SendID:     f.SendID,
		SoldAt:     FormatSoldAt(f.SoldAt),
	})
	if err != nil {
		// Values fails only for input that is not a struct, or for a field
		// with an encoder of its own; this one has neither.
		panic("wire: go-querystring refused the postback struct")
	}
	// url.Values.Encode writes a space as '+', and only a space: a '+' in
	// a value is already %2B.
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}
