package dripcel

import (
	"fmt"
	"slices"

	"github.com/dripcel-go/dripcel/internal/wire"
)

// repeatWindow bounds how many sales' keys an upload remembers to find
// repeats (two generations of this many, about 100 bytes each), so memory
// stays bounded however many sales are uploaded. A repeat further back than
// that is sent, and settled by Dripcel's own 409 for it alone.
const repeatWindow = 1 << 13

// repeats finds the sales of one upload that Dripcel would take for an
// earlier one of the same upload (same campaign, cell and soldAt date) and,
// once the upload is over, gives each the fate its first sale has.
type repeats struct {
	recent, older map[saleKey]int // key → index of the first sale with it
	found         []repeat
	expect        int // sales expected, when known: the map is sized once
}

// saleKey is what Dripcel's duplicate rule compares. The strings are the
// sale's own, so a key costs no allocation.
type saleKey struct {
	campaign, cell string
	date           int // yyyymmdd; 0 for a blank soldAt
}

type repeat struct{ index, first int }

// seen reports whether f, the sale at index i, repeats an earlier sale of
// the upload, and remembers it as the first with its key when it does not.
// A blank soldAt is Dripcel's "now": two of them fall on the same date.
func (r *repeats) seen(f *wire.Fields, i int) bool {
	key := saleKey{campaign: f.CampaignID, cell: f.Cell}
	if !f.SoldAt.IsZero() {
		y, m, d := f.SoldAt.Date()
		key.date = y*10000 + int(m)*100 + d
	}
	first, ok := r.recent[key]
	if !ok {
		first, ok = r.older[key]
	}
	if ok {
		r.found = append(r.found, repeat{index: i, first: first})
		return true
	}
	switch {
	case r.recent == nil:
		r.recent = make(map[saleKey]int, min(r.expect, repeatWindow))
	case len(r.recent) == repeatWindow:
		// The older generation's map is cleared and reused: its memory is
		// already grown to the window.
		if r.older == nil {
			r.older = make(map[saleKey]int, repeatWindow)
		}
		clear(r.older)
		r.older, r.recent = r.recent, r.older
	}
	r.recent[key] = i
	return false
}

// settle adds the repeats' outcomes to failed, sorted by index, and returns
// it: a repeat of a sale Dripcel has is AlreadyRecorded, and otherwise
// shares its first sale's fate and cause. Repeats from unsentAt on are
// already counted among the sales not sent.
func (r *repeats) settle(failed []*BatchError, unsentAt int) []*BatchError {
	if len(r.found) == 0 {
		return failed
	}
	firsts := &UploadError{Total: unsentAt, Batches: failed}
	for _, rep := range r.found {
		if rep.index >= unsentAt {
			break
		}
		o := firsts.Outcome(rep.first)
		be := &BatchError{First: rep.index, Last: rep.index, Sent: true, Fate: o.Fate, Err: o.Err}
		switch o.Fate {
		case Recorded, AlreadyRecorded:
			be.Fate = AlreadyRecorded
			be.Err = fmt.Errorf("%w: it repeats sale %d of this upload (same cell, campaign and soldAt date)", ErrDuplicateSale, rep.first)
			be.Sent = false
		case NotDelivered:
			be.Sent = false
		}
		failed = append(failed, be)
	}
	slices.SortFunc(failed, func(a, b *BatchError) int { return a.First - b.First })
	return failed
}
