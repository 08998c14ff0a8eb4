package wire

import (
	"strings"

	"github.com/google/go-querystring/query"
)

// postbackParams are the postback's query parameters. The API key is not
// among them: it is added by the transport below the retry layer, so that no
// URL the retry machinery logs or wraps in an error ever holds it.
type postbackParams struct {
	CampaignID string `url:"campaign_id"`
	SendID     string `url:"send_id,omitempty"`
	ClickID    string `url:"click_id,omitempty"`
	Cell       string `url:"cell"`
	SoldAt     string `url:"soldAt,omitempty"`
	SaleValue  string `url:"saleValue,omitempty"`
}

// Query returns the postback query string for one sale. soldAt and saleValue
// are formatted here rather than by go-querystring, which would write
// RFC 3339 times and exponent-form floats. Spaces are sent as %20, as in
// Dripcel's own example, not as '+'.
func Query(f *Fields) (string, error) {
	v, err := query.Values(postbackParams{
		CampaignID: f.CampaignID,
		SendID:     f.SendID,
		ClickID:    f.ClickID,
		Cell:       f.Cell,
		SoldAt:     FormatSoldAt(f.SoldAt),
		SaleValue:  FormatValue(f.SaleValue),
	})
	if err != nil {
		return "", err
	}
	// url.Values.Encode writes a space as '+' and a literal '+' as %2B, so
	// every '+' left in its output stands for a space.
	return strings.ReplaceAll(v.Encode(), "+", "%20"), nil
}
