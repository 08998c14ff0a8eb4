package export

import (
	"strings"
	"testing"
	"time"
)

// TestAmounts reads amounts as exports write them, and refuses the ones
// that could be misread.
func TestAmounts(t *testing.T) {
	for _, tc := range []struct {
		in    string
		comma bool
		want  float64
		bad   bool
	}{
		{in: "199.99", want: 199.99},
		{in: "1,299.00", want: 1299},
		{in: "12,345,678.5", want: 12345678.5},
		{in: "R199.99", want: 199.99},
		{in: "R 1 299", want: 1299},
		{in: "ZAR 5", want: 5},
		{in: "5 ZAR", want: 5},
		{in: "$1,299", want: 1299},
		{in: "-R20", want: -20},
		{in: "R-20", want: -20},
		{in: "1.299,50", comma: true, want: 1299.5},
		{in: "199,99", comma: true, want: 199.99},
		{in: "1 299,50", comma: true, want: 1299.5},
		{in: "199,99", bad: true},   // a decimal comma without --decimal-comma
		{in: "1,29", bad: true},     // not a thousands group
		{in: "1.299.00", bad: true}, // two points
		{in: "1,299.00", comma: true, bad: true},
		{in: "TBC", bad: true},
		{in: "Inf", bad: true},
		{in: "INF", bad: true},
		{in: "R", bad: true},
	} {
		got, err := Amounts{DecimalComma: tc.comma}.Parse(tc.in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("%q (decimal comma %v) read as %v, want refused", tc.in, tc.comma, *got)
		case !tc.bad && err != nil:
			t.Errorf("%q (decimal comma %v): %v", tc.in, tc.comma, err)
		case !tc.bad && *got != tc.want:
			t.Errorf("%q (decimal comma %v) = %v, want %v", tc.in, tc.comma, *got, tc.want)
		}
	}
}

// TestDates reads soldAt forms into the zone, and sends them back as
// Dripcel reads them.
func TestDates(t *testing.T) {
	d, err := NewDates(DefaultZone, "")
	if err != nil {
		t.Fatal(err)
	}
	dmy, err := NewDates("UTC", "DD/MM/YYYY")
	if err != nil {
		t.Fatal(err)
	}
	mdy, err := NewDates("UTC", "MM/DD/YYYY HH:MM")
	if err != nil {
		t.Fatal(err)
	}
	ymd, err := NewDates("UTC", "YYYY/MM/DD HH:MM:SS")
	if err != nil {
		t.Fatal(err)
	}
	goForm, err := NewDates("UTC", "02/01/2006")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d        *Dates
		in, want string
	}{
		{d, "2025-10-14", "2025-10-14"},
		{d, "2025-10-14 09:02", "2025-10-14 09:02:00"},
		{d, "2025-10-14 09:02:51", "2025-10-14 09:02:51"},
		{d, "2025-10-14T09:02:51", "2025-10-14 09:02:51"},
		{d, "2025-10-14T09:02:51+02:00", "2025-10-14 09:02:51"},
		{d, "2025-10-14T23:30:00Z", "2025-10-15 01:30:00"}, // the date moves with the zone
		{d, "2025-10-14T09:02:51.123-05:00", "2025-10-14 16:02:51"},
		{dmy, "14/10/2025", "2025-10-14"},
		{dmy, "14/10/2025 09:02", "2025-10-14 09:02:00"}, // a clock, though the format names none
		{dmy, "2025-10-14", "2025-10-14"},
		{dmy, "2026/11/03", "2026-11-03"},
		{d, "2026/11/03", "2026-11-03"},
		{d, "2026/11/03 14:02", "2026-11-03 14:02:00"},
		{d, "2026/11/03 14:02:11", "2026-11-03 14:02:11"},
		{mdy, "11/03/2026 14:02", "2026-11-03 14:02:00"},
		{ymd, "2026/11/03 14:02:11", "2026-11-03 14:02:11"},
		{goForm, "03/11/2026", "2026-11-03"},
	} {
		got, err := tc.d.Parse(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if s := FormatSoldAt(got); s != tc.want {
			t.Errorf("%q = %q, want %q", tc.in, s, tc.want)
		}
	}
	for _, bad := range []string{"14/10/2025", "2025-13-01", "yesterday", "2025-10-14 25:00"} {
		if got, err := d.Parse(bad); err == nil {
			t.Errorf("%q read as %v, want refused", bad, got)
		}
	}
	if got := FormatSoldAt(serialTime(45944.375, time.UTC)); got != "2025-10-14 09:00:00" {
		t.Errorf("serial 45944.375 = %q, want 2025-10-14 09:00:00", got)
	}
}

// TestDateFormatEchoed checks that a date no form reads is refused with
// --date-format as the user wrote it, not in Go's notation, and that a
// format naming no date is refused.
func TestDateFormatEchoed(t *testing.T) {
	d, err := NewDates("UTC", "DD/MM/YYYY")
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Parse("14.10.2025")
	if err == nil || err.Error() != "is not a date in the form --date-format DD/MM/YYYY gives, nor YYYY-MM-DD or YYYY/MM/DD" {
		t.Errorf("error %v", err)
	}
	for _, bad := range []string{"HH:MM", "DD/MM", "whenever"} {
		if _, err := NewDates("UTC", bad); err == nil || !strings.Contains(err.Error(), "want the form of your dates, such as DD/MM/YYYY") {
			t.Errorf("--date-format %q: %v", bad, err)
		}
	}
}
