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
