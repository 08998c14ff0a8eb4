package dripcel

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Phone numbers are read with github.com/nyaruka/phonenumbers, Google's
// libphonenumber metadata for Go. That package loads its metadata when the
// program starts (about 5–8 ms and a few MB of memory), whether or not a
// number is ever converted; the client calls it only when WithCellRegion is
// set, and ToInternational costs about 10 µs a number.

// maxCellLength bounds the input read as a phone number; E.164 numbers have
// at most 15 digits, and formatting adds a few characters.
const maxCellLength = 40

// ToInternational returns cell as international digits without "+", as
// Campaigns V2 require: ToInternational("063 123 1234", "ZA") is
// "27631231234".
//
// region is an ISO 3166 code such as "ZA" (any case). Spaces, brackets,
// dashes and dots are ignored. The number is read by these rules, in order:
//
//  1. With a leading "+" or an international prefix ("00" in ZA), it is
//     international and region may be empty.
//  2. Digits that begin with the region's own country code and form a valid
//     international number are taken as already international: "27631231234"
//     stays as it is in ZA, and "4915123456789" in DE.
//  3. Otherwise the digits are a national number of region ("0631231234").
//  4. Digits that are not a valid national number but are a valid
//     international one (say, a UK number given with region ZA) are kept as
//     international, so the function is idempotent: its output, passed back
//     in, is returned unchanged.
//
// A number that is not valid (wrong length, unknown range, letters, an
// extension) gives an error matching ErrInvalidCell that quotes the input. An
// unknown region is an error too.
func ToInternational(cell, region string) (string, error) {
	r, err := normalizeRegion(region)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(cell)
	if s == "" {
		return "", invalidCell(cell, "is empty")
	}
	if len(s) > maxCellLength {
		return "", invalidCell(cell, "is too long")
	}
	digits, plus, ok := cellDigits(s)
	if !ok {
		return "", invalidCell(cell, "has characters other than digits, spaces, brackets, dashes and dots")
	}
	if digits == "" {
		return "", invalidCell(cell, "has no digits")
	}

	if plus {
		if out, ok := international(digits); ok {
			return out, nil
		}
		return "", invalidCell(cell, "is not a valid international number")
	}
	if r == "" {
		if out, ok := international(digits); ok {
			return out, nil
		}
		return "", invalidCell(cell, "needs a region or a leading +")
	}
	if cc := strconv.Itoa(phonenumbers.GetCountryCodeForRegion(r)); strings.HasPrefix(digits, cc) {
		if out, ok := international(digits); ok {
			return out, nil
		}
	}
	if n, err := phonenumbers.Parse(digits, r); err == nil && phonenumbers.IsValidNumber(n) {
		return e164Digits(n), nil
	}
	if out, ok := international(digits); ok {
		return out, nil
	}
	return "", invalidCell(cell, "is not a valid "+r+" number")
}

// cellDigits returns the digits of s, whether it began with "+", and false
// when s holds anything but digits and the usual separators.
func cellDigits(s string) (digits string, plus bool, ok bool) {
	if s[0] == '+' {
		plus = true
		s = s[1:]
	}
	clean := true
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9':
		case b == ' ' || b == '(' || b == ')' || b == '-' || b == '.':
			clean = false
		default:
			return "", false, false
		}
	}
	if clean {
		return s, plus, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String(), plus, true
}

// international reads digits as a number with its country code.
func international(digits string) (string, bool) {
	n, err := phonenumbers.Parse("+"+digits, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	return e164Digits(n), true
}

// e164Digits is phonenumbers' E.164 form without the "+", built directly
// rather than through its general formatter.
func e164Digits(n *phonenumbers.PhoneNumber) string {
	return strconv.Itoa(int(n.GetCountryCode())) + phonenumbers.GetNationalSignificantNumber(n)
}

func invalidCell(cell, why string) error {
	return fmt.Errorf("%w: %q %s", ErrInvalidCell, cell, why)
}

// normalizeRegion upper-cases region and checks that phonenumbers knows it.
// The empty region is allowed: numbers must then be international.
func normalizeRegion(region string) (string, error) {
	r := strings.ToUpper(strings.TrimSpace(region))
	if r == "" {
		return "", nil
	}
	if phonenumbers.GetCountryCodeForRegion(r) == 0 {
		return "", fmt.Errorf("dripcel: unknown region %q", region)
	}
	return r, nil
}
