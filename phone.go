package dripcel

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

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
// extension) gives a *CellError, matching ErrInvalidCell, that quotes the
// input and says why. An unknown region is an error too.
//
// A mobile number with fewer national digits than its region's mobile
// numbers have is not valid, even where phonenumbers' patterns allow it:
// "0821234" and "082 123 456" are refused in ZA, where cell numbers have 9
// digits after the country code; landlines of their region's lengths pass.
func ToInternational(cell, region string) (string, error) {
	r, err := normalizeRegion(region)
	if err != nil {
		return "", err
	}
	out, why := toInternational(cell, r)
	if why != "" {
		return "", invalidCell(cell, why)
	}
	return out, nil
}

// toInternational is ToInternational for a region already normalized; it
// returns the digits, or why cell was refused.
func toInternational(cell, r string) (out, why string) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return "", "is empty"
	}
	if len(s) > maxCellLength {
		return "", "is too long"
	}
	digits, plus, ok := cellDigits(s)
	if !ok {
		return "", "has characters other than digits, spaces, brackets, dashes and dots"
	}
	if digits == "" {
		return "", "has no digits"
	}

	if plus {
		if out, short := international(digits); out != "" {
			return out, ""
		} else if short != "" {
			return "", "is not a valid international number" + short
		}
		return "", "is not a valid international number"
	}
	if r == "" {
		if out, short := international(digits); out != "" {
			return out, ""
		} else if short != "" {
			return "", "is not a valid international number" + short
		}
		return "", "needs a region or a leading +"
	}
	// short says why a reading was refused for being too short, should no
	// reading succeed.
	var short string
	if cc := strconv.Itoa(phonenumbers.GetCountryCodeForRegion(r)); strings.HasPrefix(digits, cc) {
		var out string
		if out, short = international(digits); out != "" {
			return out, ""
		}
	}
	if n, err := phonenumbers.Parse(digits, r); err == nil {
		valid := phonenumbers.IsValidNumber(n)
		nsn := phonenumbers.GetNationalSignificantNumber(n)
		if s := tooShort(n, nsn, valid, r); s != "" {
			short = s
		} else if valid {
			if out, ok := e164Digits(n, nsn); ok {
				return out, ""
			}
			short = tooLong
		}
	}
	// The international reading of digits given with a region is a guess:
	// its being too short says nothing about the number meant.
	if out, _ := international(digits); out != "" {
		return out, ""
	}
	return "", "is not a valid " + r + " number" + short
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

// international reads digits as a number with its country code. It returns
// the number's digits, or, when the number is too short for a mobile number
// of its country or longer than E.164 allows, why.
func international(digits string) (out, short string) {
	n, err := phonenumbers.Parse("+"+digits, "")
	if err != nil {
		return "", ""
	}
	valid := phonenumbers.IsValidNumber(n)
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if short := tooShort(n, nsn, valid, ""); short != "" {
		return "", short
	}
	if !valid {
		return "", ""
	}
	if out, ok := e164Digits(n, nsn); ok {
		return out, ""
	}
	return "", tooLong
}

// tooLong is why a number phonenumbers calls valid is refused all the same:
// E.164 allows 15 digits with the country code, and Dripcel's cell field
// holds E.164 digits. phonenumbers' patterns for some regions (DE, AT)
// accept national numbers long enough to pass that.
const tooLong = ": more than 15 digits with the country code"

// e164Digits returns n's digits with its country code, and false when they
// are more than E.164 allows.
func e164Digits(n *phonenumbers.PhoneNumber, nsn string) (string, bool) {
	out := strconv.Itoa(int(n.GetCountryCode())) + nsn
	return out, len(out) <= 15
}

// tooShort says why n, whose national significant number is nsn, is too
// short for a mobile number, or returns "". A valid number is too short only
// when phonenumbers types it a mobile number: a landline shorter than its
// region's mobiles (a 7-digit one in DE, say) is left alone, as landlines
// always were. An invalid number shorter than its region's mobiles gets this
// as a more useful reason; region names the region it was read in, if any.
func tooShort(n *phonenumbers.PhoneNumber, nsn string, valid bool, region string) string {
	f := mobileFloors()
	cc := int(n.GetCountryCode())
	least, ok := f.byCode[cc]
	if !ok {
		return ""
	}
	length := len(nsn)
	if valid {
		// The least floor of the regions sharing the country code settles
		// most numbers with a map look-up, before any costlier question.
		if length >= least || phonenumbers.GetNumberType(n) != phonenumbers.MOBILE {
			return ""
		}
		region = phonenumbers.GetRegionCodeForNumber(n)
	} else {
		if region == "" || phonenumbers.GetCountryCodeForRegion(region) != cc {
			region = phonenumbers.GetRegionCodeForCountryCode(cc)
		}
		// phonenumbers keeps the trunk prefix of a number it cannot read
		// ("0803123456" in NG): it is not one of the number's digits.
		if p := phonenumbers.GetNddPrefixForRegion(region, true); p != "" && strings.HasPrefix(nsn, p) {
			length -= len(p)
		}
	}
	floor, ok := f.byRegion[region]
	if !ok || length >= floor {
		return ""
	}
	return fmt.Sprintf(": too short for a mobile number in %s (at least %d digits after the country code)", region, floor)
}

// cellFloors holds the fewest national digits of a mobile number (see
// mobileFloor), per region and, least over the regions that share one, per
// country calling code.
type cellFloors struct {
	byRegion map[string]int
	byCode   map[int]int
}

// mobileFloors returns the floors, computed from phonenumbers' metadata the
// first time a number is checked (in about 0.3 ms). It is a package-level
// value against the rule of no globals, on purpose: it caches what
// phonenumbers' own global metadata says, never changes once filled, and is
// filled lazily, so a program that never converts a cell does no work for it
// at start-up. Without it each check would scan the metadata of some 250
// regions for one.
var mobileFloors = sync.OnceValue(func() cellFloors {
	f := cellFloors{byRegion: map[string]int{}, byCode: map[int]int{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		// Without metadata no number is valid either; nothing to add.
		return f
	}
	for _, md := range coll.GetMetadata() {
		floor := mobileFloor(md)
		if floor == 0 || phonenumbers.GetCountryCodeForRegion(md.GetId()) == 0 {
			continue // no mobile numbers, or not a region (the non-geographic "001")
		}
		f.byRegion[md.GetId()] = floor
		cc := int(md.GetCountryCode())
		if least, ok := f.byCode[cc]; !ok || floor < least {
			f.byCode[cc] = floor
		}
	}
	return f
})

// mobileFloor is the fewest national digits a mobile number of md's region
// has, or 0 when the region has no mobile numbers.
//
// It is the shortest of the region's mobile lengths in phonenumbers, except
// that lengths shorter both than the region's example mobile number and
// than every other kind of number in the region (landline, toll-free,
// premium, shared cost, personal, VoIP, pager, UAN, voicemail) are not taken
// for lengths of cell numbers. phonenumbers lets ZA's 081–084 ranges run
// from 5 to 9 digits, while its example mobile and every other number there
// have 9 (or 10): South African cell numbers have 9 digits, and a shorter
// one is a cell number cut short. The example's length alone would not do:
// where mobiles come in several lengths (10 or 11 digits in DE, 9 or 10 in
// IT, 8 to 10 in NZ) it would refuse real numbers, and there the shorter
// lengths are shared with other kinds of number. With phonenumbers v1.8.1
// the rule raises the floor in three regions only: ZA to 9, GA to 8
// (Gabon's 7-digit numbers are those of its plan before 2019) and LR to 9
// (Liberia's 7-digit mobile numbers are those of its plan before 2013);
// TestMobileFloorsRaised pins that list so that a metadata upgrade that
// changes it is looked at.
func mobileFloor(md *phonenumbers.PhoneMetadata) int {
	general := md.GetGeneralDesc().GetPossibleLength()
	// lengths of the numbers d describes; a kind with no pattern ("NA" in
	// the metadata) has none, one with no lengths of its own has the
	// region's.
	lengths := func(d *phonenumbers.PhoneNumberDesc) []int32 {
		if p := d.GetNationalNumberPattern(); p == "" || p == "NA" {
			return nil
		}
		if l := d.GetPossibleLength(); len(l) > 0 {
			return l
		}
		return general
	}
	mobile := lengths(md.GetMobile())
	shortest := int32(0)
	for _, l := range mobile {
		if l > 0 && (shortest == 0 || l < shortest) {
			shortest = l
		}
	}
	limit := int32(len(md.GetMobile().GetExampleNumber()))
	if shortest == 0 || limit <= shortest {
		return int(shortest)
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetFixedLine(), md.GetTollFree(), md.GetPremiumRate(),
		md.GetSharedCost(), md.GetPersonalNumber(), md.GetVoip(), md.GetPager(), md.GetUan(), md.GetVoicemail()} {
		for _, l := range lengths(d) {
			if l > 0 && l < limit {
				limit = l
			}
		}
	}
	// The shortest mobile length at or above the limit: the example's own
	// length is one, so there always is one.
	floor := int32(0)
	for _, l := range mobile {
		if l >= limit && (floor == 0 || l < floor) {
			floor = l
		}
	}
	return int(max(floor, shortest))
}

func invalidCell(cell, why string) error {
	return &CellError{Cell: cell, Reason: why}
}

// CellError is ToInternational's error for a number it cannot convert. It
// matches ErrInvalidCell. Its message quotes the number, so log it only
// where the number itself may be logged.
type CellError struct {
	// Cell is the number as given.
	Cell string
	// Reason says what is wrong with it, as a predicate: "is not a valid
	// ZA number: too short for a mobile number in ZA (at least 9 digits
	// after the country code)". A program that quotes the number its own
	// way can print Reason after it.
	Reason string
}

// Error quotes the number and says why it was refused.
func (e *CellError) Error() string {
	return fmt.Sprintf("%s: %q %s", ErrInvalidCell, e.Cell, e.Reason)
}

// Unwrap returns ErrInvalidCell.
func (e *CellError) Unwrap() error { return ErrInvalidCell }

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
