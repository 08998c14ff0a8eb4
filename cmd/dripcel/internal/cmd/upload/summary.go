package upload

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
)

// outcome is what became of one row.
type outcome int

const (
	recorded     outcome = iota // recorded by this run
	already                     // Dripcel had it already: needs nothing
	known                       // the ledger knows Dripcel has it: not sent, needs nothing
	repeated                    // repeats an earlier row of the file: Dripcel keeps the first
	notFound                    // refused: no such campaign
	refused                     // refused by Dripcel for another reason
	invalid                     // found malformed before sending
	notDelivered                // no verdict from Dripcel: safe to send again
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"recorded", "already in Dripcel", "already in Dripcel", "repeated in file", "campaign not found", "refused", "invalid", "not delivered"}

// needsAction reports whether rows with o go to the rejects file: the rows
// a person must fix or send again. Rows in Dripcel already need nothing.
func (o outcome) needsAction() bool { return o >= notFound }

// shownRows is how many row numbers of each outcome the summary lists; the
// rejects file has them all.
const shownRows = 10

// tally counts rows by outcome and keeps the first few row numbers of each,
// so its size does not grow with the file.
type tally struct {
	read, sent int
	// validBy and sentBy count the valid rows and the rows sent by the
	// identifier their sale is matched by (campaign_id, send_id, click_id).
	validBy, sentBy [export.NumFields]int
	count           [numOutcomes]int
	rows            [numOutcomes][]string
	// why counts the first few reasons of the outcomes whose reasons
	// differ from row to row (refused, not delivered).
	why [numOutcomes][]reasonCount
}

// reasonCount is one reason and how many rows had it.
type reasonCount struct {
	reason string
	n      int
}

// shownReasons is how many reasons of an outcome the summary names.
const shownReasons = 3

// addReason counts why a row had outcome o; the first few reasons are kept.
func (t *tally) addReason(o outcome, reason string) {
	if o != refused && o != notDelivered {
		return
	}
	for i := range t.why[o] {
		if t.why[o][i].reason == reason {
			t.why[o][i].n++
			return
		}
	}
	if len(t.why[o]) <= shownReasons {
		t.why[o] = append(t.why[o], reasonCount{reason, 1})
	}
}

func (t *tally) add(o outcome, row int) { t.addNote(o, row, "") }

// unrepeat takes back the count of row as repeated: the row went to
// Dripcel after all, and is counted by its own fate.
func (t *tally) unrepeat(row int) {
	t.count[repeated]--
	prefix := strconv.Itoa(row) + " "
	t.rows[repeated] = slices.DeleteFunc(t.rows[repeated], func(s string) bool { return strings.HasPrefix(s, prefix) })
}

// addNote counts a row, with a note shown beside its number: "9 (as 2)".
func (t *tally) addNote(o outcome, row int, note string) {
	t.count[o]++
	// Rows known from the ledger are not listed: they are usually the
	// whole file again, and the summary's note says what they are.
	if o != recorded && o != known && len(t.rows[o]) < shownRows {
		t.rows[o] = append(t.rows[o], strconv.Itoa(row)+note)
	}
}

// actionable is the number of rows that need the user's action.
func (t *tally) actionable() int {
	n := 0
	for o := notFound; o < numOutcomes; o++ {
		n += t.count[o]
	}
	return n
}

// retentionDays is how long the command's ledger keeps a sale after its
// date (dripcel.DefaultRetention).
const retentionDays = int(dripcel.DefaultRetention / (24 * time.Hour))

// summary is what the summary prints beside the counts.
type summary struct {
	name   string
	dryRun bool
	rj     *rejects
	// fill describes the time that stood in for blank soldAt cells, if any.
	fill string
	// ledger is the ledger file used, if any.
	ledger string
	// pastLedger counts the sales sent dated before the ledger's retention.
	pastLedger int
}

// print writes the summary.
func (t *tally) print(w *cli.Printer, s summary) {
	if s.dryRun {
		w.Printf("%s: %s read, %d valid, %d invalid; nothing sent (--dry-run)\n",
			s.name, cli.Plural(t.read, "row"), t.read-t.count[invalid], t.count[invalid])
	} else {
		w.Printf("%s: %s read, %d sent\n", s.name, cli.Plural(t.read, "row"), t.sent)
	}
	if by := t.byIdentifier(s.dryRun); by != "" {
		w.Printf("  %s\n", by)
	}
	for o := range numOutcomes {
		if s.dryRun && o != invalid && o != repeated {
			continue
		}
		if (o == notDelivered || o == repeated || o == already || o == known) && t.count[o] == 0 {
			continue
		}
		w.Printf("  %-19s %d", outcomeNames[o], t.count[o])
		if o == known {
			w.Printf("   known from earlier uploads, not sent (--resend sends them again)")
		}
		if len(t.rows[o]) > 0 {
			w.Printf("   %s", rowList(t.rows[o], t.count[o]))
		}
		w.Println()
		t.printWhy(w, o)
	}
	if t.count[repeated] > 0 {
		w.Println("repeated rows have the cell, campaign and soldAt date of an earlier row (named in brackets): " +
			"Dripcel keeps one sale a day per cell and campaign, so they are not sent")
	}
	if t.count[already] > 0 {
		w.Println("rows already in Dripcel need nothing; where Dripcel stored part of a request it refused, " +
			"the rows it stored then are counted there too (its answers cannot tell them apart)")
	}
	if t.count[known] > 0 {
		w.Printf("rows known from earlier uploads were confirmed by Dripcel to an earlier run with this key, "+
			"as the ledger %s remembers, so they were not sent: --resend sends them again "+
			"(a campaign's sales deleted in Dripcel, say)\n", s.ledger)
	}
	if s.pastLedger > 0 {
		w.Printf("%s dated more than %d days ago went to Dripcel as if new: the ledger keeps sales for %d days after "+
			"their date, so it did not look them up and will not remember them (Dripcel's own answers settle them)\n",
			cli.Plural(s.pastLedger, "row"), retentionDays, retentionDays)
	}
	if s.fill != "" {
		w.Println(s.fill)
	}
	switch {
	case s.rj != nil && s.rj.empty():
		w.Printf("no row needs action: no rejects file written (%s)\n", s.rj.path)
	case s.rj != nil:
		w.Printf("%s needing action written to %s%s\n", cli.Plural(s.rj.n, "row"), s.rj.path, s.rj.keptNote())
	case t.actionable() > shownRows:
		w.Println("use --rejects FILE to get every row needing action with its reason")
	}
}

// byIdentifier says how many rows go by each identifier, so that a file
// with several identifier columns shows what --campaign and --match-by made
// of it: "by campaign_id: 2900; by click_id: 100". It counts the rows sent,
// or in a dry run the valid ones.
func (t *tally) byIdentifier(dryRun bool) string {
	counts := t.sentBy
	if dryRun {
		counts = t.validBy
	}
	var parts []string
	for _, f := range export.IdentifierFields {
		if counts[f] > 0 {
			parts = append(parts, fmt.Sprintf("by %s: %d", f, counts[f]))
		}
	}
	return strings.Join(parts, "; ")
}

// printWhy names the reasons rows had outcome o, under its line.
func (t *tally) printWhy(w *cli.Printer, o outcome) {
	named := 0
	for i, rc := range t.why[o] {
		if i == shownReasons {
			w.Printf("      … and %s for other reasons (the rejects file gives each)\n", cli.Plural(t.count[o]-named, "row"))
			return
		}
		w.Printf("      %s: %s\n", cli.Plural(rc.n, "row"), shortReason(rc.reason))
		named += rc.n
	}
}

// shortReason cuts a reason for the summary; the rejects file has it whole.
func shortReason(s string) string {
	const most = 160
	if r := []rune(s); len(r) > most {
		return string(r[:most]) + "…"
	}
	return s
}

// rowList reads "rows 3, 7, 9" or "rows 3, 7, … and 40 more".
func rowList(rows []string, total int) string {
	word := "rows "
	if total == 1 {
		word = "row "
	}
	out := word + strings.Join(rows, ", ")
	if total > len(rows) {
		out += fmt.Sprintf(", … and %d more", total-len(rows))
	}
	return out
}
