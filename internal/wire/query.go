package wire

// Query returns the postback query string for one sale: the parameters
// sorted by name, empty optional ones left out, soldAt and saleValue in the
// forms Dripcel documents (never RFC 3339 or exponent floats), and every
// byte but letters, digits and "-_.~" percent-escaped, a space as %20 as in
// Dripcel's own example rather than '+'. The API key is not among the
// parameters: it is added by the transport below the retry layer, so that
// no URL the retry machinery logs or wraps in an error ever holds it.
//
// It is written by hand rather than with a reflection-based encoder: a
// postback is one small request, and building its query that way cost about
// as much as the rest of the client's work on it.
func Query(f *Fields) string {
	var buf [256]byte
	b := buf[:0]
	b = appendParam(b, "campaign_id", f.CampaignID)
	b = appendParam(b, "cell", f.Cell)
	if f.ClickID != "" {
		b = appendParam(b, "click_id", f.ClickID)
	}
	if f.SaleValue != nil {
		b = append(b, "&saleValue="...)
		b = AppendValue(b, *f.SaleValue) // digits, '.' and '-' only
	}
	if f.SendID != "" {
		b = appendParam(b, "send_id", f.SendID)
	}
	if !f.SoldAt.IsZero() {
		var t [len(dateTimeLayout)]byte
		b = appendParam(b, "soldAt", string(AppendSoldAt(t[:0], f.SoldAt)))
	}
	return string(b)
}

// appendParam appends "&name=value" (without the "&" when b is empty),
// value escaped.
func appendParam(b []byte, name, value string) []byte {
	if len(b) > 0 {
		b = append(b, '&')
	}
	b = append(b, name...)
	b = append(b, '=')
	for i := 0; i < len(value); i++ {
		c := value[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&0xF])
	}
	return b
}

const upperHex = "0123456789ABCDEF"
