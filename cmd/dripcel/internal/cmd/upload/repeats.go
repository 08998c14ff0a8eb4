package upload

import (
	"hash/maphash"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
)

// repeats finds rows Dripcel would take as one sale: the same cell,
// campaign and soldAt date. Dripcel keeps the first and refuses the others
// as duplicates, so they are reported before sending. They are handed to
// the library with the rest, which settles a repeat with the row it
// repeats when that row is in Dripcel, without a request, and sends it in
// its own right when Dripcel refused that row for anything but an unknown
// campaign (its value, say). A repeat of a row before --from-row, whose
// fate was the earlier run's, is not handed over. A row
// is known by the identifier it is sent by: two rows of the same send or
// click are of the same campaign, while which campaign a send or click
// belongs to only Dripcel knows, so rows matched by different kinds of
// identifier are never taken for each other (Dripcel's own answer settles
// those).
//
// Each sale is kept as a 64-bit hash with its row number, so that a file of
// millions of rows is checked in a few tens of megabytes; only repeated
// rows are kept in full.
type repeats struct {
	seed  maphash.Seed
	first map[uint64]int
	// of maps each repeated row to the row it repeats.
	of map[int]int
}

func newRepeats() *repeats {
	return &repeats{seed: maphash.MakeSeed(), first: map[uint64]int{}, of: map[int]int{}}
}

// see notes the sale of row and returns the earlier row it repeats, or 0.
func (r *repeats) see(row int, s dripcel.Sale) int {
	var h maphash.Hash
	h.SetSeed(r.seed)
	// Cells are compared as sent: without --region a local and an
	// international form of one number look different here.
	// Only one identifier is set; its kind keeps a campaign and a click
	// of the same name apart.
	for _, id := range [...]string{s.CampaignID, s.SendID, s.ClickID} {
		_, _ = h.WriteString(id)
		_ = h.WriteByte(0)
	}
	_, _ = h.WriteString(s.Cell)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(s.SoldAt.Format("2006-01-02"))
	k := h.Sum64()
	if first, ok := r.first[k]; ok {
		r.of[row] = first
		return first
	}
	r.first[k] = row
	return 0
}

// repeated returns the earlier row that row repeats, or 0.
func (r *repeats) repeated(row int) int { return r.of[row] }

// ofEarlierRun counts the repeats of rows before fromRow.
func (r *repeats) ofEarlierRun(fromRow int) int {
	n := 0
	for _, first := range r.of {
		if first < fromRow {
			n++
		}
	}
	return n
}

// handedOver reports whether row r goes to the library: a valid row that
// does not repeat a row of an earlier run (before --from-row).
func (u *upload) handedOver(r *export.Row) bool {
	first := u.repeats.repeated(r.Row)
	return len(r.Problems) == 0 && (first == 0 || first >= u.flags.fromRow)
}
