package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
)

// field is one of a sale's fields, named on the wire as in wireNames.
type field int

const (
	fCampaign field = iota
	fSendID
	fClickID
	fCell
	fSoldAt
	fValue
	numFields
)

var wireNames = [numFields]string{"campaign_id", "send_id", "click_id", "cell", "soldAt", "saleValue"}

func (f field) String() string { return wireNames[f] }

// value is one field of one input row.
type value struct {
	s       string
	present bool // the column or key exists (a blank cell is present)
	badType string
}

// mapping says where each field comes from.
type mapping struct {
	// columns are the column or key names read for each field.
	columns [numFields]string
	// mapped marks fields named by --map.
	mapped [numFields]bool
	// campaign is --campaign: the campaign of the rows that name no
	// identifier (of every row with --match-by campaign_id).
	campaign string
	// matchBy is --match-by: the identifier sent for a row that names
	// more than one; numFields when not given (such rows are invalid).
	matchBy field
	// region is --region: the region local cells are read in.
	region string
	// dates and amounts read soldAt and saleValue; fill stands for a blank
	// soldAt.
	dates   *dates
	amounts amounts
	fill    time.Time
	// serialDates reads numbers in soldAt as spreadsheet serial dates.
	serialDates bool
}

// newMapping reads --map entries ("cell=Phone", or several joined by commas).
func newMapping(entries []string, campaign, region string) (*mapping, error) {
	m := &mapping{columns: wireNames, campaign: strings.TrimSpace(campaign), matchBy: numFields, dates: &dates{zone: time.UTC}}
	for _, entry := range entries {
		for part := range strings.SplitSeq(entry, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, column, ok := strings.Cut(part, "=")
			name, column = strings.TrimSpace(name), strings.TrimSpace(column)
			if !ok || column == "" {
				return nil, usageError("--map %s: want FIELD=COLUMN, e.g. cell=Phone", quote(part))
			}
			f, ok := fieldNamed(name)
			if !ok {
				return nil, usageError("--map %s: unknown field %s (fields are %s)", quote(part), quote(name), strings.Join(wireNames[:], ", "))
			}
			m.columns[f], m.mapped[f] = column, true
		}
	}
	if region != "" {
		r, err := checkRegion(region)
		if err != nil {
			return nil, err
		}
		m.region = r
	}
	return m, nil
}

// checkRegion upper-cases region and checks that it is known.
func checkRegion(region string) (string, error) {
	r := strings.ToUpper(strings.TrimSpace(region))
	// An empty cell is refused after the region is checked, so any other
	// error means the region is unknown.
	if _, err := dripcel.ToInternational("", r); err != nil && !errors.Is(err, dripcel.ErrInvalidCell) {
		return "", usageError("--region %s is not a known region (use an ISO 3166 code such as ZA)", quote(region))
	}
	return r, nil
}

func fieldNamed(name string) (field, bool) {
	for f := range numFields {
		if strings.EqualFold(wireNames[f], name) {
			return f, true
		}
	}
	return 0, false
}

// required reports whether rows must carry f. No identifier is required
// on its own: a row needs one of them (see identify).
func (m *mapping) required(f field) bool {
	return f == fCell
}

// describe names f and, when --map renamed it, its column:
// `saleValue (column "Amount")`.
func (m *mapping) describe(f field) string {
	if m.mapped[f] {
		return fmt.Sprintf("%s (column %q)", f, m.columns[f])
	}
	return f.String()
}

// read builds the sale of one row into r, or says everything wrong with
// it.
func (m *mapping) read(r *row) {
	vals := &r.vals
	var problems []string
	get := func(f field) string {
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
	var ids [numFields]string
	for _, f := range identifierFields {
		if f == fCampaign && m.campaign != "" {
			continue // --campaign stands in for the column
		}
		ids[f] = get(f)
	}
	by, problem, several := m.identify(vals, &ids)
	if problem != "" {
		problems = append(problems, problem)
	}
	r.by, r.several = by, several
	s := dripcel.Sale{Cell: get(fCell)}
	// Only the chosen identifier is sent: Dripcel refuses a sale naming
	// more than one.
	switch by {
	case fCampaign:
		s.CampaignID = ids[fCampaign]
	case fSendID:
		s.SendID = ids[fSendID]
	case fClickID:
		s.ClickID = ids[fClickID]
	}
	if s.Cell != "" && m.region != "" {
		cell, err := dripcel.ToInternational(s.Cell, m.region)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s is not a valid %s number", m.describe(fCell), quote(s.Cell), m.region))
		}
		s.Cell = cell
	}
	if raw := get(fSoldAt); raw != "" {
		t, err := m.soldAt(raw)
		switch y := t.Year(); {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s %s %v", m.describe(fSoldAt), quote(raw), err))
		case y < 1 || y > 9999:
			// The library refuses such a date, and with it the whole
			// request it would be in: it must be caught here, per row.
			problems = append(problems, fmt.Sprintf("%s %s: year %d is outside 1-9999", m.describe(fSoldAt), quote(raw), y))
		}
		s.SoldAt = t
	} else {
		// Dripcel would read a blank as its own "now", which moves: a
		// resume after midnight would record the rows in flight again.
		s.SoldAt, r.filled = m.fill, true
	}
	if raw := get(fValue); raw != "" {
		v, err := m.amounts.parse(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s %v", m.describe(fValue), quote(raw), err))
		}
		s.SaleValue = v
	}
	r.sale, r.problems = s, problems
}

// soldAt reads a soldAt cell; a number from a spreadsheet is a serial date.
func (m *mapping) soldAt(raw string) (time.Time, error) {
	if m.serialDates {
		if v, err := strconv.ParseFloat(raw, 64); err == nil && v >= 1 && v < 2958466 {
			return serialTime(v, m.dates.zone), nil
		}
	}
	return m.dates.parse(raw)
}
