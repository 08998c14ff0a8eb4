package dripceltest

import (
	"net/http"
	"strconv"
)

// BatchMode is how the server treats an upload holding a bad sale: a
// duplicate, or a sale whose campaign, send or click is unknown. Dripcel
// does not say, so code that uploads should be tested under each of them.
//
// Whatever the mode, the answer is the refusal of the first bad sale in the
// upload's order: 409 "Duplicate sale" when it is a duplicate, 404 "Campaign
// not found", "Send not found" or "Click not found" when what it names is
// unknown. A batch holding several kinds thus gets the same status and
// message in every mode; only what is stored differs.
type BatchMode int

const (
	// BatchPartial stores every sale that is not bad and answers with the
	// first bad sale's refusal.
	BatchPartial BatchMode = iota
	// BatchAtomic stores nothing from a batch holding a bad sale.
	BatchAtomic
	// BatchPrefix stores the sales before the first bad one and none after
	// it, as an ordered MongoDB insertMany does (Dripcel's 24-hex campaign
	// IDs are MongoDB ObjectIds).
	BatchPrefix
)

// String returns the mode's name, for test names.
func (m BatchMode) String() string {
	switch m {
	case BatchPartial:
		return "partial"
	case BatchAtomic:
		return "atomic"
	case BatchPrefix:
		return "prefix"
	}
	return "BatchMode(" + strconv.Itoa(int(m)) + ")"
}

// candidate is a well-formed sale of a request, with the refusal it earns
// on its own before duplicates are looked for (a 404 for an unknown
// campaign, send or click), or none.
type candidate struct {
	sale    Sale
	refusal reply
}

// store records the request's sales as the batch mode says, and answers.
// A sale repeating an earlier one of the same request is a duplicate too.
func (s *Server) store(cands []candidate, rec *Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	inBatch := map[dedupeKey]bool{}
	var keep []Sale
	var first reply
	for _, c := range cands {
		if c.refusal.status == 0 {
			if k := c.sale.key(); s.seen[k] || inBatch[k] {
				c.refusal = reply{http.StatusConflict, "Duplicate sale"}
			}
		}
		if c.refusal.status != 0 {
			if first.status == 0 {
				first = c.refusal
			}
			if s.batchMode == BatchPrefix {
				break
			}
			continue
		}
		inBatch[c.sale.key()] = true
		keep = append(keep, c.sale)
	}
	if first.status != 0 && s.batchMode == BatchAtomic {
		keep = nil
	}
	for _, sale := range keep {
		s.seen[sale.key()] = true
		s.sales = append(s.sales, sale)
	}
	rec.Stored = len(keep)
	if first.status != 0 {
		return first
	}
	return reply{http.StatusOK, ""}
}

type dedupeKey struct{ campaign, cell, date string }

// key is what makes two sales the same to Dripcel: cell, campaign and the
// date of soldAt. The campaign is the one the sale resolved to, so a sale
// matched by its click repeats one that named the click's campaign.
func (sale *Sale) key() dedupeKey {
	return dedupeKey{sale.CampaignID, sale.Cell, sale.SoldAt[:len("2006-01-02")]}
}
