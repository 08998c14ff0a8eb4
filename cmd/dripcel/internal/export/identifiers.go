package export

import (
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"slices"
	"strings"
)

// A sale names exactly one of campaign_id, send_id or click_id: the
// identifier Dripcel matches it to its campaign by. Dripcel's integration
// guide says an upload naming more than one fails, and the library refuses
// such a sale before sending, with the whole request it would be in. So
// each row is given its one identifier here, or found invalid with a reason
// a person can act on.

// IdentifierFields are the fields a sale can be matched by, in the order
// messages and the summary name them.
var IdentifierFields = [...]Field{CampaignID, SendID, ClickID}

// isIdentifier reports whether f is one of IdentifierFields.
func (f Field) isIdentifier() bool { return f == CampaignID || f == SendID || f == ClickID }

// parseMatchBy reads --match-by; "" (not given) is NumFields.
func parseMatchBy(s string) (Field, error) {
	name := strings.TrimSpace(s)
	if name == "" {
		return NumFields, nil
	}
	if f, ok := fieldNamed(name); ok && f.isIdentifier() {
		return f, nil
	}
	return NumFields, cli.Usage("--match-by %s: want campaign_id, send_id or click_id", cli.Quote(s))
}

// identify picks the identifier a row is sent by, from ids, the row's
// identifier values (trimmed). It returns that field, or NumFields and the
// problem; several says the row names more than one that --match-by did not
// settle.
//
// A row naming one identifier is sent by it, whatever --match-by says: a
// file may hold rows by campaign and rows by click side by side. The row's
// own identifier always wins over --campaign, which fills only the rows
// naming none: added to a row naming a send or click it would make a sale
// Dripcel refuses, and put in place of a campaign_id cell it would move the
// sale to another campaign without a word.
func (m *Mapping) identify(vals *[NumFields]value, ids *[NumFields]string) (by Field, problem string, several bool) {
	var named []Field
	for _, f := range IdentifierFields {
		// A value of the wrong type is named, though unreadable: its own
		// problem is reported, and it must not read as "missing" too.
		if ids[f] != "" || vals[f].badType != "" {
			named = append(named, f)
		}
	}
	if len(named) == 0 && m.campaign != "" {
		ids[CampaignID] = m.campaign
		return CampaignID, "", false
	}
	switch {
	case len(named) == 1:
		return named[0], "", false
	case len(named) == 0:
		return NumFields, m.noIdentifier(vals), false
	case slices.Contains(named, m.matchBy):
		return m.matchBy, "", false
	case m.matchBy == NumFields:
		return NumFields, fmt.Sprintf("names %s, but Dripcel takes one: choose which with --match-by %s",
			m.describeAll(named, "and"), wireNamesOf(named, "or")), true
	}
	return NumFields, fmt.Sprintf("names %s, but Dripcel takes one and this row has no %s for --match-by %s",
		m.describeAll(named, "and"), m.describe(m.matchBy), m.matchBy), true
}

// noIdentifier says what a row naming no identifier lacks.
func (m *Mapping) noIdentifier(vals *[NumFields]value) string {
	var present []Field
	for _, f := range IdentifierFields {
		if vals[f].present {
			present = append(present, f)
		}
	}
	switch len(present) {
	case 0:
		return m.describeAll(IdentifierFields[:], "and") + " are missing (a sale needs one)"
	case 1:
		return m.describe(present[0]) + " is empty"
	}
	return m.describeAll(present, "and") + " are empty (a sale needs one)"
}

// describeAll lists fields as describe names them: "a, b and c".
func (m *Mapping) describeAll(fs []Field, conj string) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = m.describe(f)
	}
	return cli.List(names, conj)
}

// wireNamesOf lists fields by their names on the wire: "a, b or c".
func wireNamesOf(fs []Field, conj string) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.String()
	}
	return cli.List(names, conj)
}
