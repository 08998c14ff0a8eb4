package export

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// amounts reads saleValue cells as exports write them: "1,299.00",
// "R199.99", "ZAR 1 299", and with --decimal-comma "1.299,00".
type Amounts struct {
	DecimalComma bool
}

var errNotNumber = errors.New("is not a number")

// Parse reads one amount. A currency symbol or three-letter code may come
// before or after the number; thousands are grouped by threes with ","
// (or "." and spaces with --decimal-comma). A lone comma that is not a
// thousands group is refused rather than misread: "1,5" is 1.5 to some and
// 15 to others.
func (a Amounts) Parse(s string) (*float64, error) {
	// A minus may stand before the currency or after it: -R20, R-20.
	num, neg := strings.CutPrefix(strings.TrimSpace(s), "-")
	num = stripCurrency(strings.TrimSpace(num))
	if rest, ok := strings.CutPrefix(num, "-"); ok && !neg {
		num, neg = strings.TrimSpace(rest), true
	}
	num = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\'' {
			return -1 // spaces and apostrophes group thousands
		}
		return r
	}, num)
	group, point := ",", "."
	if a.DecimalComma {
		group, point = ".", ","
	}
	intPart, frac, hasFrac := strings.Cut(num, point)
	if strings.Contains(frac, group) || strings.Contains(frac, point) {
		return nil, a.hint(s)
	}
	if strings.Contains(intPart, group) {
		parts := strings.Split(intPart, group)
		for i, p := range parts {
			if (i == 0 && (len(p) < 1 || len(p) > 3)) || (i > 0 && len(p) != 3) {
				return nil, a.hint(s)
			}
		}
		intPart = strings.Join(parts, "")
	}
	plain := intPart
	if hasFrac {
		plain += "." + frac
	}
	if plain == "" || strings.ContainsFunc(plain, func(r rune) bool { return r != '.' && !unicode.IsDigit(r) }) {
		if !a.DecimalComma && strings.Contains(plain, ",") {
			return nil, a.hint(s)
		}
		return nil, errNotNumber
	}
	v, err := strconv.ParseFloat(plain, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, errNotNumber
	}
	if neg {
		v = -v
	}
	return &v, nil
}

// hint says why a number with commas was refused.
func (a Amounts) hint(s string) error {
	if a.DecimalComma {
		return errors.New(`is not a number (with --decimal-comma, write 1.299,50 or 1299,50)`)
	}
	if strings.Contains(s, ",") {
		return errors.New(`is not a number (a comma groups thousands, as in 1,299.50; for a decimal comma, as in 199,99, give --decimal-comma)`)
	}
	return errNotNumber
}

// currencies are the symbols stripped from amounts; three capital letters
// (ZAR, USD) are stripped too.
var currencies = []string{"R", "$", "€", "£", "¥", "₦", "KSh", "US$"}

func stripCurrency(s string) string {
	for _, trim := range []func(string, string) (string, bool){strings.CutPrefix, strings.CutSuffix} {
		if len(s) > 3 && isCode(s[:3]) {
			s = strings.TrimSpace(s[3:])
		} else if len(s) > 3 && isCode(s[len(s)-3:]) {
			s = strings.TrimSpace(s[:len(s)-3])
		}
		for _, c := range currencies {
			if rest, ok := trim(s, c); ok {
				s = strings.TrimSpace(rest)
				break
			}
		}
	}
	return s
}

func isCode(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
