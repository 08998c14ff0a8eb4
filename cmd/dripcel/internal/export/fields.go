package export

import (
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
)

// field is one of a sale's fields, named on the wire as in wireNames.
type Field int

const (
	CampaignID Field = iota
	SendID
	ClickID
	Cell
	SoldAt
	SaleValue
	NumFields
)

var wireNames = [NumFields]string{"campaign_id", "send_id", "click_id", "cell", "soldAt", "saleValue"}

func (f Field) String() string { return wireNames[f] }

// value is one field of one input row.
type value struct {
	s       string
	present bool // the column or key exists (a blank cell is present)
	badType string
}

// mapping says where each field comes from.
type Mapping struct {
	// columns are the column or key names read for each field.
	columns [NumFields]string
	// mapped marks fields named by --map.
	mapped [NumFields]bool
	// campaign is --campaign: the campaign of the rows that name no
	// identifier; a row's own identifier wins over it.
	campaign string
	// matchBy is --match-by: the identifier sent for a row that names
	// more than one; NumFields when not given (such rows are invalid).
	matchBy Field
	// region is --region: the region local cells are read in.
	region string
	// dates and amounts read soldAt and saleValue; fill stands for a blank
	// soldAt.
	dates   *Dates
	amounts Amounts
	fill    time.Time
	// serialDates reads numbers in soldAt as spreadsheet serial dates.
	serialDates bool
}

// newMapping reads --map entries ("cell=Phone", or several joined by commas).
func newMapping(entries []string, campaign, region string) (*Mapping, error) {
	m := &Mapping{columns: wireNames, campaign: strings.TrimSpace(campaign), matchBy: NumFields, dates: &Dates{zone: time.UTC}}
	for _, entry := range entries {
		for part := range strings.SplitSeq(entry, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, column, ok := strings.Cut(part, "=")
			name, column = strings.TrimSpace(name), strings.TrimSpace(column)
			if !ok || column == "" {
				return nil, cli.Usage("--map %s: want FIELD=COLUMN, e.g. cell=Phone", cli.Quote(part))
			}
			f, ok := fieldNamed(name)
			if !ok {
				return nil, cli.Usage("--map %s: unknown field %s (fields are %s)", cli.Quote(part), cli.Quote(name), strings.Join(wireNames[:], ", "))
			}
			m.columns[f], m.mapped[f] = column, true
		}
	}
	if region != "" {
		r, err := CheckRegion(region)
		if err != nil {
			return nil, err
		}
		m.region = r
	}
	return m, nil
}

// CheckRegion upper-cases region and checks that it is known.
func CheckRegion(region string) (string, error) {
	r := strings.ToUpper(strings.TrimSpace(region))
	// An empty cell is refused after the region is checked, so any other
	// error means the region is unknown.
	if _, err := dripcel.ToInternational("", r); err != nil && !errors.Is(err, dripcel.ErrInvalidCell) {
		return "", cli.Usage("--region %s is not a known region (use an ISO 3166 code such as ZA)", cli.Quote(region))
	}
	return r, nil
}

func fieldNamed(name string) (Field, bool) {
	for f := range NumFields {
		if strings.EqualFold(wireNames[f], name) {
			return f, true
		}
	}
	return 0, false
}

// required reports whether rows must carry f. No identifier is required
// on its own: a row needs one of them (see identify).
func (m *Mapping) required(f Field) bool {
	return f == Cell
}

// describe names f and, when --map renamed it, its column:
// `saleValue (column "Amount")`.
func (m *Mapping) describe(f Field) string {
	if m.mapped[f] {
		return fmt.Sprintf("%s (column %q)", f, m.columns[f])
	}
	return f.String()
}

// read builds the sale of one row into r, or says everything wrong with
// it.
func (m *Mapping) read(r *Row) {
	vals := &r.vals
	var problems []string
	get := func(f Field) string {
		v := vals[f]
		if v.badType != "" {
			problems = append(problems, fmt.Sprintf("%s is %s, not a string or number", m.describe(f), v.badType))
			return ""
		}
		s := strings.TrimSpace(v.s)
		if s == "" && m.required(f) {
			if v.present {
				problems = append(problems, m.describe(f)+" is empty")
			} else {
				problems = append(problems, m.describe(f)+" is missing")
			}
		}
		return s
	}
	var ids [NumFields]string
	for _, f := range IdentifierFields {
		ids[f] = get(f)
	}
	by, problem, several := m.identify(vals, &ids)
	if problem != "" {
		problems = append(problems, problem)
	}
	r.By, r.Several = by, several
	s := dripcel.Sale{Cell: get(Cell)}
	// Only the chosen identifier is sent: Dripcel refuses a sale naming
	// more than one.
	switch by {
	case CampaignID:
		s.CampaignID = ids[CampaignID]
	case SendID:
		s.SendID = ids[SendID]
	case ClickID:
		s.ClickID = ids[ClickID]
	}
	if s.Cell != "" && m.region != "" {
		cell, err := dripcel.ToInternational(s.Cell, m.region)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s %s", m.describe(Cell), cli.Quote(s.Cell), CellProblem(err, m.region)))
		}
		s.Cell = cell
	}
	if raw := get(SoldAt); raw != "" {
		t, err := m.soldAt(raw)
		switch y := t.Year(); {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s %s %v", m.describe(SoldAt), cli.Quote(raw), err))
		case y < 1 || y > 9999:
			// The library refuses such a date, and with it the whole
			// request it would be in: it must be caught here, per row.
			problems = append(problems, fmt.Sprintf("%s %s: year %d is outside 1-9999", m.describe(SoldAt), cli.Quote(raw), y))
		}
		s.SoldAt = t
	} else {
		// Dripcel would read a blank as its own "now", which moves: a
		// resume after midnight would record the rows in flight again.
		s.SoldAt, r.Filled = m.fill, true
	}
	if raw := get(SaleValue); raw != "" {
		v, err := m.amounts.Parse(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s %v", m.describe(SaleValue), cli.Quote(raw), err))
		}
		s.SaleValue = v
	}
	r.Sale, r.Problems = s, problems
}

// soldAt reads a soldAt cell; a number from a spreadsheet is a serial date.
func (m *Mapping) soldAt(raw string) (time.Time, error) {
	if m.serialDates {
		if v, err := strconv.ParseFloat(raw, 64); err == nil && v >= 1 && v < 2958466 {
			return serialTime(v, m.dates.zone), nil
		}
	}
	return m.dates.Parse(raw)
}

// CellProblem says what is wrong with a cell ToInternational refused, in
// its own words ("is not a valid ZA number: too short for a mobile number
// in ZA ..."), without the sentinel's prefix and the quoted input that the
// command's message already gives.
func CellProblem(err error, region string) string {
	if ce, ok := errors.AsType[*dripcel.CellError](err); ok {
		return ce.Reason
	}
	return "is not a valid " + region + " number"
}
