package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dripcel-go/dripcel"
)

// A sale names exactly one of campaign_id, send_id or click_id: the
// identifier Dripcel matches it to its campaign by. Dripcel's integration
// guide says an upload naming more than one fails, and the library refuses
// such a sale before sending, with the whole request it would be in. So
// each row is given its one identifier here, or found invalid with a reason
// a person can act on.

// identifierFields are the fields a sale can be matched by, in the order
// messages and the summary name them.
var identifierFields = [...]field{fCampaign, fSendID, fClickID}

// isIdentifier reports whether f is one of identifierFields.
func (f field) isIdentifier() bool { return f == fCampaign || f == fSendID || f == fClickID }

// parseMatchBy reads --match-by; "" (not given) is numFields.
func parseMatchBy(s string) (field, error) {
	name := strings.TrimSpace(s)
	if name == "" {
		return numFields, nil
	}
	if f, ok := fieldNamed(name); ok && f.isIdentifier() {
		return f, nil
	}
	return numFields, usageError("--match-by %s: want campaign_id, send_id or click_id", quote(s))
}

// identify picks the identifier a row is sent by, from ids, the row's
// identifier values (trimmed; the campaign_id column's left out when
// --campaign stands in for it). It returns that field, or numFields and the
// problem; several says the row names more than one that --match-by did not
// settle.
//
// A row naming one identifier is sent by it, whatever --match-by says: a
// file may hold rows by campaign and rows by click side by side. --campaign
// fills only the rows naming none, so that it never adds a second
// identifier to a row Dripcel would then refuse; with --match-by
// campaign_id it is the campaign of every row, as that is the one asked for.
func (m *mapping) identify(vals *[numFields]value, ids *[numFields]string) (by field, problem string, several bool) {
	var named []field
	for _, f := range identifierFields {
		ignored := f == fCampaign && m.campaign != ""
		// A value of the wrong type is named, though unreadable: its own
		// problem is reported, and it must not read as "missing" too.
		if ids[f] != "" || (vals[f].badType != "" && !ignored) {
			named = append(named, f)
		}
	}
	if m.campaign != "" && (len(named) == 0 || m.matchBy == fCampaign) {
		ids[fCampaign] = m.campaign
		return fCampaign, "", false
	}
	switch {
	case len(named) == 1:
		return named[0], "", false
	case len(named) == 0:
		return numFields, m.noIdentifier(vals), false
	case slices.Contains(named, m.matchBy):
		return m.matchBy, "", false
	case m.matchBy == numFields:
		return numFields, fmt.Sprintf("names %s, but Dripcel takes one: choose which with --match-by %s",
			m.describeAll(named, "and"), wireNamesOf(named, "or")), true
	}
	return numFields, fmt.Sprintf("names %s, but Dripcel takes one and this row has no %s for --match-by %s",
		m.describeAll(named, "and"), m.describe(m.matchBy), m.matchBy), true
}

// noIdentifier says what a row naming no identifier lacks.
func (m *mapping) noIdentifier(vals *[numFields]value) string {
	var present []field
	for _, f := range identifierFields {
		if vals[f].present {
			present = append(present, f)
		}
	}
	switch len(present) {
	case 0:
		return m.describeAll(identifierFields[:], "and") + " are missing (a sale needs one)"
	case 1:
		return m.describe(present[0]) + " is empty"
	}
	return m.describeAll(present, "and") + " are empty (a sale needs one)"
}

// describeAll lists fields as describe names them: "a, b and c".
func (m *mapping) describeAll(fs []field, conj string) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = m.describe(f)
	}
	return list(names, conj)
}

// wireNamesOf lists fields by their names on the wire: "a, b or c".
func wireNamesOf(fs []field, conj string) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.String()
	}
	return list(names, conj)
}

// list joins words as a sentence does: "a", "a and b", "a, b and c".
func list(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// identifierOf is the identifier a sale read from a row is sent by: the
// one it sets (identify leaves the others blank).
func identifierOf(s *dripcel.Sale) field {
	switch {
	case s.SendID != "":
		return fSendID
	case s.ClickID != "":
		return fClickID
	}
	return fCampaign
}

// idOf names what the sale is matched by and its value for messages:
// ("campaign", "c1"), ("send", "s-9") or ("click", "k-42").
func idOf(s *dripcel.Sale) (noun, id string) {
	switch identifierOf(s) {
	case fSendID:
		return "send", s.SendID
	case fClickID:
		return "click", s.ClickID
	}
	return "campaign", s.CampaignID
}
