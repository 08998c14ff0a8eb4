package export

import (
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"strings"
	"time"
	_ "time/tzdata" // --time-zone must work where the system has no zone files
)

// DefaultZone is Dripcel's own: it is a South African service, and the fake
// server reads "now" there too.
const DefaultZone = "Africa/Johannesburg"

// Dates reads soldAt values. Times that carry an offset are moved into zone;
// times without one are taken as clock times in zone and sent as written.
type Dates struct {
	zone *time.Location
	// layouts are --date-format's, in Go's notation, tried before the
	// built-in forms; given is --date-format as the user wrote it, for
	// messages.
	layouts []string
	given   string
}

// soldAtLayouts are the forms read without --date-format: the two Dripcel
// documents, the same without seconds, ISO 8601 with a "T", and the same
// dates written with slashes, as spreadsheets often export them.
var soldAtLayouts = []string{
	"2006-01-02",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006/01/02",
	"2006/01/02 15:04:05",
	"2006/01/02 15:04",
}

// offsetLayouts carry their own zone: RFC 3339 and its common cousins.
var offsetLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05 -0700",
}

// NewDates checks --time-zone and --date-format.
func NewDates(zone, format string) (*Dates, error) {
	d := &Dates{}
	switch zone = strings.TrimSpace(zone); {
	case zone == "" || strings.EqualFold(zone, "local"):
		d.zone = time.Local
	default:
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return nil, cli.Usage("--time-zone %s is not a known zone (use a name such as %s, UTC or Local)", cli.Quote(zone), DefaultZone)
		}
		d.zone = loc
	}
	if format = strings.TrimSpace(format); format != "" {
		layout, ok := goLayout(format)
		if !ok {
			return nil, cli.Usage("--date-format %s: want the form of your dates, such as DD/MM/YYYY, MM/DD/YYYY or YYYY/MM/DD, "+
				"with HH:MM or HH:MM:SS after it for a clock", cli.Quote(format))
		}
		d.given = format
		// A clock is read when the cell has one, whether or not the format
		// names it: exports often write it on some rows only.
		date, _, _ := strings.Cut(layout, " ")
		d.layouts = []string{layout, date, date + " 15:04:05", date + " 15:04"}
	}
	return d, nil
}

// goLayout turns a date format as people write it (DD/MM/YYYY HH:MM:SS;
// MM is the month, but the minutes after HH:) into Go's reference date.
// Go's own notation (02/01/2006) is read too. ok is false for a format
// naming no year, month or day.
func goLayout(s string) (layout string, ok bool) {
	var b strings.Builder
	hour := false // the last token was the hour: MM after it is minutes
	for i := 0; i < len(s); {
		rest := s[i:]
		tok, goTok := "", ""
		for _, t := range [...][2]string{{"YYYY", "2006"}, {"yyyy", "2006"}, {"YY", "06"}, {"yy", "06"},
			{"DD", "02"}, {"dd", "02"}, {"HH", "15"}, {"hh", "15"}, {"MM", "01"}, {"mm", "04"}, {"SS", "05"}, {"ss", "05"}} {
			if strings.HasPrefix(rest, t[0]) {
				tok, goTok = t[0], t[1]
				break
			}
		}
		switch {
		case tok == "":
			b.WriteByte(s[i])
			i++
			if s[i-1] != ':' {
				hour = false
			}
			continue
		case tok == "MM" && hour:
			goTok = "04"
		}
		hour = goTok == "15" || (hour && goTok == "04")
		b.WriteString(goTok)
		i += len(tok)
	}
	layout = b.String()
	return layout, strings.Contains(layout, "06") && strings.Contains(layout, "01") && strings.Contains(layout, "02")
}

// describeZone names the zone for the summary: "Africa/Johannesburg (UTC+02:00)".
func (d *Dates) describeZone(at time.Time) string {
	return fmt.Sprintf("%s (UTC%s)", d.zone, at.In(d.zone).Format("-07:00"))
}

// errNotDate is the refusal of a soldAt no form reads.
var errNotDate = errors.New("is not a date (want YYYY-MM-DD or YYYY/MM/DD, either with HH:MM[:SS] after it, " +
	"or RFC 3339 such as 2025-10-14T09:02:51+02:00; for other forms give --date-format, e.g. --date-format DD/MM/YYYY)")

// Parse reads one soldAt value.
func (d *Dates) Parse(s string) (time.Time, error) {
	for _, layout := range d.layouts {
		if t, err := time.ParseInLocation(layout, s, d.zone); err == nil {
			return d.settle(t), nil
		}
	}
	for _, layout := range soldAtLayouts {
		if t, err := time.ParseInLocation(layout, s, d.zone); err == nil {
			return t, nil
		}
	}
	for _, layout := range offsetLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.In(d.zone), nil
		}
	}
	if d.given != "" {
		return time.Time{}, fmt.Errorf("is not a date in the form --date-format %s gives, nor YYYY-MM-DD or YYYY/MM/DD", d.given)
	}
	return time.Time{}, errNotDate
}

// settle moves a time parsed with an offset of its own into the zone; one
// without (ParseInLocation put it in d.zone) stays as written.
func (d *Dates) settle(t time.Time) time.Time {
	if t.Location() == d.zone {
		return t
	}
	return t.In(d.zone)
}

// fill is the time a blank soldAt stands for in this run: given with
// --sold-at, else now, to the second so the resume line repeats it exactly.
func (d *Dates) fill(flag string, now time.Time) (time.Time, error) {
	if flag = strings.TrimSpace(flag); flag != "" {
		t, err := d.Parse(flag)
		if err != nil {
			return time.Time{}, cli.Usage("--sold-at %s %v", cli.Quote(flag), err)
		}
		return t, nil
	}
	return now.In(d.zone).Truncate(time.Second), nil
}

// FormatSoldAt writes t as Dripcel reads it, and as --sold-at reads it back.
func FormatSoldAt(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04:05")
}

// serialTime reads a spreadsheet's serial date (days since 30 December
// 1899, the fraction being the time of day) as a clock time in zone.
func serialTime(v float64, zone *time.Location) time.Time {
	days := int(v)
	secs := int((v-float64(days))*86400 + 0.5)
	return time.Date(1899, 12, 30, 0, 0, secs, 0, zone).AddDate(0, 0, days)
}
