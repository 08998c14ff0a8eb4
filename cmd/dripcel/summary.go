package main

import (
	"fmt"
	"strconv"
	"strings"
)

// outcome is what became of one row.
type outcome int

const (
	accepted outcome = iota
	duplicate
	notFound
	invalid
	failed
	notSent
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"accepted", "duplicates", "campaign not found", "invalid", "failed", "not sent"}

// shownRows is how many row numbers of each outcome the summary lists; the
// rejects file has them all.
const shownRows = 10

// tally counts rows by outcome and keeps the first few row numbers of each,
// so its size does not grow with the file.
type tally struct {
	read, sent int
	count      [numOutcomes]int
	rows       [numOutcomes][]int
}

func (t *tally) add(o outcome, row int) {
	t.count[o]++
	if o != accepted && len(t.rows[o]) < shownRows {
		t.rows[o] = append(t.rows[o], row)
	}
}

// rejected is the number of rows not accepted.
func (t *tally) rejected() int {
	n := 0
	for o := duplicate; o < numOutcomes; o++ {
		n += t.count[o]
	}
	return n
}

// print writes the summary. note is the line after the counts, if any.
func (t *tally) print(w *printer, name string, dryRun bool, rj *rejects) {
	if dryRun {
		w.printf("%s: %s read, %d valid, %d invalid; nothing sent (--dry-run)\n",
			name, plural(t.read, "row"), t.read-t.count[invalid], t.count[invalid])
	} else {
		w.printf("%s: %s read, %d sent\n", name, plural(t.read, "row"), t.sent)
	}
	for o := range numOutcomes {
		if dryRun && o != invalid {
			continue
		}
		if o == notSent && t.count[o] == 0 {
			continue
		}
		w.printf("  %-19s %d", outcomeNames[o], t.count[o])
		if len(t.rows[o]) > 0 {
			w.printf("   %s", rowList(t.rows[o], t.count[o]))
		}
		w.println()
	}
	if rj != nil {
		w.printf("%s written to %s\n", plural(rj.n, "rejected row"), rj.path)
	} else if t.rejected() > shownRows {
		w.println("use --rejects FILE to get every rejected row with its reason")
	}
}

// rowList reads "rows 3, 7, 9" or "rows 3, 7, … and 40 more".
func rowList(rows []int, total int) string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = strconv.Itoa(r)
	}
	word := "rows "
	if total == 1 {
		word = "row "
	}
	out := word + strings.Join(s, ", ")
	if total > len(rows) {
		out += fmt.Sprintf(", … and %d more", total-len(rows))
	}
	return out
}
