package dripcel_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel"
	"github.com/nyaruka/phonenumbers"
)

func TestToInternational(t *testing.T) {
	tests := []struct {
		cell, region, want string
	}{
		// South Africa: local, spaced, bracketed, international prefixes.
		{"0631231234", "ZA", "27631231234"},
		{"063 123 1234", "ZA", "27631231234"},
		{"(063) 123-1234", "ZA", "27631231234"},
		{"063.123.1234", "ZA", "27631231234"},
		{"0027631231234", "ZA", "27631231234"},
		{"27631231234", "ZA", "27631231234"},
		{"+27 63 123 1234", "ZA", "27631231234"},
		{"+27631231234", "", "27631231234"},
		{"27631231234", "", "27631231234"},
		{"  0631231234  ", "za", "27631231234"},
		// United Kingdom.
		{"07911 123456", "GB", "447911123456"},
		{"+44 7911 123456", "ZA", "447911123456"},
		{"447911123456", "GB", "447911123456"},
		// Namibia.
		{"081 123 4567", "NA", "264811234567"},
		{"264811234567", "NA", "264811234567"},
		// United States: national numbers start with the country code's digit.
		{"(202) 555-0123", "US", "12025550123"},
		{"12025550123", "US", "12025550123"},
		{"1 202 555 0123", "US", "12025550123"},
		// Germany: digits that begin with 49 and form a valid number stay.
		{"4915123456789", "DE", "4915123456789"},
		{"015123456789", "DE", "4915123456789"},
		// International digits of another country with a region given.
		{"447911123456", "ZA", "447911123456"},
	}
	for _, tt := range tests {
		got, err := dripcel.ToInternational(tt.cell, tt.region)
		if err != nil || got != tt.want {
			t.Errorf("ToInternational(%q, %q) = %q, %v; want %q", tt.cell, tt.region, got, err, tt.want)
			continue
		}
		// Idempotent: its output passed back in is returned unchanged.
		if again, err := dripcel.ToInternational(got, tt.region); err != nil || again != got {
			t.Errorf("ToInternational(%q, %q) = %q, %v; not idempotent", got, tt.region, again, err)
		}
	}
}

func TestToInternationalMatchesPhonenumbersE164(t *testing.T) {
	for _, in := range []string{"0631231234", "0821234567", "0111111111", "0215551234"} {
		n, err := phonenumbers.Parse(in, "ZA")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+")
		if got, err := dripcel.ToInternational(in, "ZA"); err != nil || got != want {
			t.Errorf("ToInternational(%q) = %q, %v; phonenumbers says %q", in, got, err, want)
		}
	}
}

func TestToInternationalInvalid(t *testing.T) {
	tests := []struct{ cell, region string }{
		{"12345", "ZA"},
		{"063123123", "ZA"},      // one digit short
		{"06312312345", "ZA"},    // one digit long
		{"272763123123", "ZA"},   // wrong length after the country code
		{"0631231234", ""},       // local with no region
		{"+999 123", ""},         // no such country code
		{"063 CALL NOW", "ZA"},   // letters
		{"0631231234 x12", "ZA"}, // extension
		{"", "ZA"},
		{"   ", "ZA"},
		{"()-", "ZA"},
		{"063+1231234", "ZA"},
		{strings.Repeat("1", 10000), "ZA"},
	}
	for _, tt := range tests {
		got, err := dripcel.ToInternational(tt.cell, tt.region)
		if !errors.Is(err, dripcel.ErrInvalidCell) {
			t.Errorf("ToInternational(%q, %q) = %q, %v; want ErrInvalidCell", tt.cell, tt.region, got, err)
			continue
		}
		if len(tt.cell) < 100 && !strings.Contains(err.Error(), `"`+tt.cell+`"`) {
			t.Errorf("error %q does not quote the input", err)
		}
	}
}

func TestToInternationalUnknownRegion(t *testing.T) {
	for _, region := range []string{"XX", "ZAF", "27"} {
		_, err := dripcel.ToInternational("0631231234", region)
		if err == nil || errors.Is(err, dripcel.ErrInvalidCell) {
			t.Errorf("region %q: err = %v, want an unknown-region error", region, err)
		}
	}
}

// A mobile number shorter than its region's mobile numbers is refused, even
// where phonenumbers' patterns allow it (ZA's 081–084 ranges run from 5 to
// 9 digits there); real mobiles of every length their region uses, and
// landlines, still pass.
func TestToInternationalShortMobile(t *testing.T) {
	valid := []struct{ cell, region, want string }{
		{"082 123 4567", "ZA", "27821234567"},
		{"0711234567", "ZA", "27711234567"},
		{"+27 84 123 4567", "", "27841234567"},
		{"27821234567", "ZA", "27821234567"},
		{"021 123 4567", "ZA", "27211234567"}, // a Cape Town landline
		{"0803 123 4567", "NG", "2348031234567"},
		{"0712 345678", "KE", "254712345678"},
		{"07911 123456", "GB", "447911123456"},
		{"020 7946 0958", "GB", "442079460958"},  // a London landline
		{"01512 3456789", "DE", "4915123456789"}, // DE mobiles have 10 or 11 digits
		{"0171 1234567", "DE", "491711234567"},
		{"030 1234567", "DE", "49301234567"}, // a Berlin landline, shorter than DE's mobiles
		{"(202) 555-0123", "US", "12025550123"},
		{"98765 43210", "IN", "919876543210"},
		{"320 123456", "IT", "39320123456"}, // IT mobiles have 9 or 10 digits
		{"320 1234567", "IT", "393201234567"},
		{"021 123 456", "NZ", "6421123456"}, // NZ mobiles have 8 to 10 digits
		{"021 1234 5678", "NZ", "642112345678"},
		{"0664 1234", "AT", "436641234"}, // AT mobiles have 7 to 13 digits
		{"0664 123456", "AT", "43664123456"},
		{"+241 06 03 12 34", "", "24106031234"},
	}
	for _, tt := range valid {
		if got, err := dripcel.ToInternational(tt.cell, tt.region); err != nil || got != tt.want {
			t.Errorf("ToInternational(%q, %q) = %q, %v; want %q", tt.cell, tt.region, got, err, tt.want)
		}
	}
	short := []struct{ cell, region, in string }{
		// phonenumbers takes these for valid ZA mobiles.
		{"0821234", "ZA", "ZA"},
		{"082 123 456", "ZA", "ZA"},
		{"08412345", "ZA", "ZA"},
		{"27821234", "ZA", "ZA"},
		{"+27821234", "", "ZA"},
		{"+27 82 123 456", "GB", "ZA"},
		{"27821234", "", "ZA"},
		{"0027821234", "ZA", "ZA"},
		// And these for valid mobiles of plans gone by.
		{"+241 6 03 12 34", "", "GA"},
		{"+231 5 123 456", "", "LR"},
		// Invalid anyway; now with the reason.
		{"063 123 123", "ZA", "ZA"},
		{"0803 123 456", "NG", "NG"},
		{"+234 803 123 456", "", "NG"},
		{"0712 34567", "KE", "KE"},
		{"07911 12345", "GB", "GB"},
		{"0151 234567", "DE", "DE"},
		{"+49 171 123456", "", "DE"},
		{"202 555 012", "US", "US"},
		{"98765 4321", "IN", "IN"},
	}
	for _, tt := range short {
		got, err := dripcel.ToInternational(tt.cell, tt.region)
		if !errors.Is(err, dripcel.ErrInvalidCell) {
			t.Errorf("ToInternational(%q, %q) = %q, %v; want ErrInvalidCell", tt.cell, tt.region, got, err)
			continue
		}
		if want := "too short for a mobile number in " + tt.in; !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), `"`+tt.cell+`"`) {
			t.Errorf("ToInternational(%q, %q): error %q, want it to quote the input and say %q", tt.cell, tt.region, err, want)
		}
	}
}

// E.164 numbers have at most 15 digits with the country code; phonenumbers'
// patterns for DE and AT accept longer ones, which Dripcel's cell field
// cannot hold. The longest numbers E.164 allows still pass.
func TestToInternationalLongerThanE164(t *testing.T) {
	long := []struct{ cell, region string }{
		{"4921000000000000", ""},
		{"4921000000000000", " "},
		{"+4921000000000000", ""},
		{"4921000000000000", "DE"},
		{"021000000000000", "DE"},
	}
	for _, tt := range long {
		got, err := dripcel.ToInternational(tt.cell, tt.region)
		if !errors.Is(err, dripcel.ErrInvalidCell) || !strings.Contains(err.Error(), "more than 15 digits") {
			t.Errorf("ToInternational(%q, %q) = %q, %v; want ErrInvalidCell saying more than 15 digits", tt.cell, tt.region, got, err)
		}
	}
	// Read as a ZA number it is simply not one.
	if got, err := dripcel.ToInternational("4921000000000000", "ZA"); !errors.Is(err, dripcel.ErrInvalidCell) {
		t.Errorf("ToInternational(%q, %q) = %q, %v; want ErrInvalidCell", "4921000000000000", "ZA", got, err)
	}
	if got, err := dripcel.ToInternational("02100000000000", "DE"); err != nil || got != "492100000000000" {
		t.Errorf("ToInternational(%q, %q) = %q, %v; want the 15 digits %q", "02100000000000", "DE", got, err, "492100000000000")
	}
}

// Every region's example mobile number passes, given in international form
// and in its region's national form: the floor refuses no mobile number
// phonenumbers holds up as typical of its region.
func TestToInternationalExampleMobiles(t *testing.T) {
	for region := range phonenumbers.GetSupportedRegions() {
		n := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
		if n == nil {
			continue
		}
		want := strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+")
		ins := []struct{ cell, region string }{{"+" + want, ""}}
		// Some national forms phonenumbers writes it does not read back
		// (AR's "09 15-2345-6789"): those are not this test's business.
		national := phonenumbers.Format(n, phonenumbers.NATIONAL)
		if back, err := phonenumbers.Parse(national, region); err == nil && phonenumbers.Format(back, phonenumbers.E164) == "+"+want {
			ins = append(ins, struct{ cell, region string }{national, region})
		}
		for _, in := range ins {
			if got, err := dripcel.ToInternational(in.cell, in.region); err != nil || got != want {
				t.Errorf("%s example mobile: ToInternational(%q, %q) = %q, %v; want %q", region, in.cell, in.region, got, err, want)
			}
		}
	}
}

// The floor is phonenumbers' shortest mobile length everywhere but in the
// regions where shorter lengths are used by no other kind of number and
// fall short of the example mobile. A metadata upgrade that changes this
// list changes which valid numbers are refused: look at it before
// updating the list.
func TestMobileFloorsRaised(t *testing.T) {
	want := map[string]int{"ZA": 9, "GA": 8, "LR": 9}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, md := range coll.GetMetadata() {
		region := md.GetId()
		if phonenumbers.GetCountryCodeForRegion(region) == 0 {
			continue
		}
		lengths := md.GetMobile().GetPossibleLength()
		if len(lengths) == 0 {
			lengths = md.GetGeneralDesc().GetPossibleLength()
		}
		shortest := int32(0)
		for _, l := range lengths {
			if l > 0 && (shortest == 0 || l < shortest) {
				shortest = l
			}
		}
		floor := dripcel.MobileFloor(region)
		if p := md.GetMobile().GetNationalNumberPattern(); p == "" || p == "NA" {
			if floor != 0 {
				t.Errorf("%s has no mobile numbers but a floor of %d", region, floor)
			}
			continue
		}
		if floor < int(shortest) {
			t.Errorf("%s: floor %d below its shortest mobile length %d", region, floor, shortest)
		}
		if floor != int(shortest) {
			got[region] = floor
		}
	}
	if len(got) != len(want) {
		t.Errorf("floors raised in %v, want %v", got, want)
	}
	for region, floor := range want {
		if got[region] != floor {
			t.Errorf("%s: floor %d, want %d", region, got[region], floor)
		}
	}
}

// A refused number is a *CellError: its Reason says why without the
// number, for a program that quotes the number its own way, and its
// message is the sentinel's, the quoted number and the reason.
func TestCellErrorSaysWhy(t *testing.T) {
	_, err := dripcel.ToInternational("082 123 456", "ZA")
	ce, ok := errors.AsType[*dripcel.CellError](err)
	if !ok || !errors.Is(err, dripcel.ErrInvalidCell) {
		t.Fatalf("err = %#v, want a *CellError matching ErrInvalidCell", err)
	}
	if ce.Cell != "082 123 456" || !strings.HasPrefix(ce.Reason, "is not a valid ZA number: too short") || strings.Contains(ce.Reason, "082") {
		t.Errorf("CellError{Cell: %q, Reason: %q}; want the number as given and a reason without it", ce.Cell, ce.Reason)
	}
	if want := `dripcel: invalid cell number: "082 123 456" ` + ce.Reason; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
