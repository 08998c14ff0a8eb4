// Package wire turns sales into the bytes Dripcel reads and reads back what
// Dripcel answers. It works on plain fields rather than the public Sale type
// so that the public package can depend on it without a cycle.
package wire

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Fields are one sale's values as they go on the wire. Cell is already in
// its final form (converted to international digits when the caller asked).
type Fields struct {
	CampaignID string
	SendID     string
	ClickID    string
	Cell       string
	SoldAt     time.Time
	SaleValue  *float64
}

const (
	dateLayout     = "2006-01-02"
	dateTimeLayout = "2006-01-02 15:04:05"
)

// AppendSoldAt appends the soldAt value Dripcel expects: the date alone when
// the time of day is midnight, otherwise the date and the clock, both read in
// t's own location. Dripcel documents no time zone, so the caller's location
// is what travels; RFC 3339 is never used because Dripcel documents only the
// "YYYY-MM-DD[ HH:MM:SS]" forms.
func AppendSoldAt(dst []byte, t time.Time) []byte {
	h, m, s := t.Clock()
	if h == 0 && m == 0 && s == 0 && t.Nanosecond() == 0 {
		return t.AppendFormat(dst, dateLayout)
	}
	return t.AppendFormat(dst, dateTimeLayout)
}

// FormatSoldAt is AppendSoldAt into a new string; "" for the zero time.
func FormatSoldAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	var buf [len(dateTimeLayout)]byte
	return string(AppendSoldAt(buf[:0], t))
}

// AppendValue appends v as a plain decimal number (100, 99.95, 1000000),
// never in exponent form, which some JSON and query parsers mishandle.
func AppendValue(dst []byte, v float64) []byte {
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}

// FormatValue is AppendValue into a new string; "" for nil.
func FormatValue(v *float64) string {
	if v == nil {
		return ""
	}
	var buf [32]byte
	return string(AppendValue(buf[:0], *v))
}

// ValidValue reports whether v can be sent: JSON has no NaN or infinities.
func ValidValue(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// AppendJSON appends the JSON object for one sale. Empty optional fields are
// left out rather than sent empty, because Dripcel treats a present-but-blank
// soldAt or saleValue differently from an absent one; so are the empty
// identifiers, since Dripcel refuses a sale naming more than one.
func AppendJSON(dst []byte, f *Fields) []byte {
	dst = append(dst, '{')
	switch {
	case f.CampaignID != "":
		dst = append(dst, `"campaign_id":`...)
		dst = AppendString(dst, f.CampaignID)
	case f.SendID != "":
		dst = append(dst, `"send_id":`...)
		dst = AppendString(dst, f.SendID)
	case f.ClickID != "":
		dst = append(dst, `"click_id":`...)
		dst = AppendString(dst, f.ClickID)
	}
	if len(dst) > 0 && dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, `"cell":`...)
	dst = AppendString(dst, f.Cell)
	if !f.SoldAt.IsZero() {
		dst = append(dst, `,"soldAt":"`...)
		dst = AppendSoldAt(dst, f.SoldAt)
		dst = append(dst, '"')
	}
	if f.SaleValue != nil {
		dst = append(dst, `,"saleValue":`...)
		dst = AppendValue(dst, *f.SaleValue)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. It escapes what JSON requires,
// replaces invalid UTF-8 with U+FFFD as encoding/json does, and escapes
// U+2028 and U+2029 so the body is also safe inside JavaScript.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
