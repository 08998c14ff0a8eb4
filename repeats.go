package dripcel

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dripcel-go/dripcel/internal/wire"
)

// repeatWindow bounds how many sales' keys an upload remembers to find
// repeats (two generations of this many, about 100 bytes each), so memory
// stays bounded however many sales are uploaded. A repeat further back than
// that is sent, and settled by Dripcel's own 409 for it alone.
const repeatWindow = 1 << 13

// repeats finds the sales of one upload that Dripcel would take for an
// earlier one of the same upload (same identifier, cell and soldAt date)
// and, once the upload is over, gives each the fate its first sale has when
// that fate says something about the repeat too.
type repeats struct {
	recent, older map[saleKey]int // key → index of the first sale with it
	found         []repeat
	expect        int // sales expected, when known: the map is sized once
}

// saleKey is what Dripcel's duplicate rule compares, with the identifier
// standing for the campaign: two sales matched by different kinds of
// identifier are never taken for each other here, as only Dripcel knows
// which campaign a send or a click belongs to. The strings are the sale's
// own, so a key costs no allocation.
type saleKey struct {
	kind     identifier
	id, cell string
	date     int // yyyymmdd; 0 for a blank soldAt
}

// repeat is a sale of the upload that repeats an earlier one. Its wire
// fields are kept (the SaleValue copied) so that it can still be sent on
// its own should its first sale be refused for something the repeat may
// not share, such as its value.
type repeat struct {
	index, first int
	fields       wire.Fields
}

// keyOf is f's key under Dripcel's duplicate rule. A blank soldAt is
// Dripcel's "now": two of them fall on the same date.
func keyOf(f *wire.Fields) saleKey {
	key := saleKey{kind: byCampaign, id: f.CampaignID, cell: f.Cell}
	switch {
	case f.SendID != "":
		key.kind, key.id = bySend, f.SendID
	case f.ClickID != "":
		key.kind, key.id = byClick, f.ClickID
	}
	if !f.SoldAt.IsZero() {
		y, m, d := f.SoldAt.Date()
		key.date = y*10000 + int(m)*100 + d
	}
	return key
}

// seen reports whether f, the sale at index i, repeats an earlier sale of
// the upload, and remembers it as the first with its key when it does not.
func (r *repeats) seen(f *wire.Fields, i int) bool {
	key := keyOf(f)
	first, ok := r.recent[key]
	if !ok {
		first, ok = r.older[key]
	}
	if ok {
		rep := repeat{index: i, first: first, fields: *f}
		if f.SaleValue != nil {
			v := *f.SaleValue
			rep.fields.SaleValue = &v
		}
		r.found = append(r.found, rep)
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

// ErrRepeatInUpload: the sale was not sent, because it repeats an earlier
// sale of the same upload (the same identifier, cell and soldAt date) that
// Dripcel has. Errors matching it also match ErrDuplicateSale, and the
// sale's Fate is AlreadyRecorded. A repeat of a sale Dripcel refused for
// anything but an unknown campaign, send or click is sent in its own right
// and gets its own outcome.
var ErrRepeatInUpload = fmt.Errorf("%w: it repeats sale", ErrDuplicateSale)

// settleRepeats gives every repeat found its outcome and returns failed
// with them, sorted by index. A repeat of a sale Dripcel has is
// AlreadyRecorded; a repeat of a sale not delivered, or refused because
// Dripcel does not know its campaign, send or click, shares that fate and
// cause, which holds for the repeat as much as for its first sale. A first
// sale refused for anything else (its value, say) says nothing about its
// repeat, which is then sent in its own right, and its own repeats settled
// the same way, round after round. Repeats from unsentAt on are already
// counted among the sales not sent.
func (u *uploader) settleRepeats(failed []*BatchError, unsentAt int) []*BatchError {
	for len(u.repeats.found) > 0 {
		found := u.repeats.found
		u.repeats = repeats{}
		firsts := &UploadError{Batches: failed}
		var again []repeat
		for _, rep := range found {
			if rep.index >= unsentAt {
				continue
			}
			o := firsts.Outcome(rep.first)
			be := &BatchError{First: rep.index, Last: rep.index, Fate: o.Fate, Err: o.Err}
			switch {
			case o.Fate == Recorded || o.Fate == AlreadyRecorded:
				be.Fate = AlreadyRecorded
				be.Err = fmt.Errorf("%w %d of this upload (same identifier, cell and soldAt date)",
					ErrRepeatInUpload, rep.first)
			case o.Fate == Refused && !errors.Is(o.Err, ErrCampaignNotFound):
				again = append(again, rep)
				continue
			case o.Fate == Refused:
				be.Sent = true
			}
			failed = append(failed, be)
		}
		u.sendAgain(again)
		u.mu.Lock()
		failed = append(failed, u.failed...)
		u.mu.Unlock()
		slices.SortFunc(failed, func(a, b *BatchError) int { return a.First - b.First })
		unsentAt = math.MaxInt
	}
	return failed
}

// sendAgain sends repeats whose first sale's refusal did not settle them,
// each in its own right, in requests as full as the body cap allows, one
// after another. Repeats among them are found again, for the next round.
// Their outcomes go to u.failed.
func (u *uploader) sendAgain(reps []repeat) {
	u.mu.Lock()
	u.failed = nil
	u.mu.Unlock()
	now := func(b *batch) bool {
		b.body.Buf = append(b.body.Buf, ']')
		u.settle(b) // a halted upload records the batch NotDelivered
		return true
	}
	for k := range reps {
		rep := &reps[k]
		if u.repeats.seen(&rep.fields, rep.index) {
			continue
		}
		u.push(rep.index, &rep.fields, now)
	}
	if u.b != nil {
		now(u.b)
		u.b = nil
	}
}
