package dripcel

import (
	"errors"
	"net/http"
)

// Settling a batch: every sale of an upload gets Dripcel's own answer.
//
// Dripcel answers a request as a whole. When it refuses a batch for its
// content (a duplicate, an unknown campaign), its docs do not say what
// became of the other sales: it may have stored the good ones (partial),
// none (atomic), or those before the first bad one (prefix, as an ordered
// MongoDB insertMany does). Sending the batch's sales again in smaller
// requests is safe under all three, since Dripcel refuses a sale it already
// has, and it is the only way to learn each sale's fate: a request
// accepted records all its sales, and a refused request of one sale is that
// sale's own answer.
//
// The split costs requests, Dripcel's scarcest resource (about 50 a
// minute), so its shape was chosen by measured cost (BENCHMARKS.md, "Requests
// spent settling a refused batch"). A refused group is halved: when bad
// sales are few and Dripcel stored nothing, one half is usually accepted
// whole, and finding d bad sales among n takes about 2d·log2(n/d) requests.
// But when Dripcel stored the good sales of the first request (partial), or
// the part before the bad one (prefix), or the batch was a file uploaded
// again, every sale it holds comes back refused however the group is cut,
// and halving down to single sales costs about 2n requests where asking
// about each sale alone costs n. Such a group shows itself by both halves
// being refused level after level: after denseStreak levels of that, its
// sales are asked about one by one (n+30 requests for a dense batch of 600,
// against 2n). Sparse bad sales rarely fill both halves four levels down,
// so they keep the cost of halving.

// splitStrategy is how a refused group is asked about. Clients use
// halveThenOneByOne; the others exist so that the benchmark measuring the
// cost of each (BenchmarkSettleRefusedBatch) runs the real client.
type splitStrategy int

const (
	halveThenOneByOne splitStrategy = iota
	halveOnly
	oneByOne
)

// settle sends batch b and settles each of its sales, then releases b.
func (u *uploader) settle(b *batch) {
	defer u.c.releaseBatch(b)
	u.resolve(b, all(len(b.idx)), u.post(b, nil), 0)
}

// resolve settles the sales of b at positions ps, given err, Dripcel's
// answer to a request holding exactly them; streak is split's.
func (u *uploader) resolve(b *batch, ps []int, err error, streak int) {
	if err == nil {
		u.remember(b, ps)
		u.tellAnswered(b, ps, Recorded, nil)
		return // recorded: sales outside u.failed are
	}
	if apiErr, ok := refusedContent(err); ok {
		if len(ps) == 1 {
			f := refusal(apiErr)
			if f == AlreadyRecorded {
				u.remember(b, ps)
			}
			u.record(b, ps, f, err)
			u.tellAnswered(b, ps, f, err)
			return
		}
		u.split(b, ps, streak)
		return
	}
	if tooLarge(err) && len(ps) > 1 {
		// The client's body cap has learnt from the answer: the sales
		// go again in requests cut to it, cut again if still too large.
		for _, part := range b.cut(ps, u.c.bodyCap.limit()) {
			u.resolve(b, part, u.post(b, part), 0)
		}
		return
	}
	if stopsUpload(err) {
		u.halted.Store(true)
	}
	u.record(b, ps, NotDelivered, err)
}

// tellAnswered passes the sales of b at positions ps, which Dripcel's
// answer has just settled as f, to the upload's answered hook, if any.
func (u *uploader) tellAnswered(b *batch, ps []int, f Fate, err error) {
	if u.answered == nil {
		return
	}
	idx := make([]int, len(ps))
	for k, p := range ps {
		idx[k] = b.idx[p]
	}
	u.answered(idx, f, err)
}

// denseStreak is how many levels of halving in a row must find both halves
// refused before a group's sales are asked about one by one.
const denseStreak = 4

// split settles ps, a refused group of more than one sale. streak counts
// the levels above it at which both halves were refused.
func (u *uploader) split(b *batch, ps []int, streak int) {
	if u.c.split == oneByOne || u.c.split == halveThenOneByOne && streak >= denseStreak {
		u.oneByOne(b, ps)
		return
	}
	l, r := halves(ps)
	errL := u.post(b, l)
	errR := u.post(b, r)
	_, refusedL := refusedContent(errL)
	_, refusedR := refusedContent(errR)
	next := 0
	if refusedL && refusedR {
		next = streak + 1
	}
	u.resolve(b, l, errL, next)
	u.resolve(b, r, errR, next)
}

// oneByOne settles each sale of ps with a request of its own.
func (u *uploader) oneByOne(b *batch, ps []int) {
	for k := range ps {
		one := ps[k : k+1]
		u.resolve(b, one, u.post(b, one), 0)
	}
}

// refusal is the fate of a sale Dripcel refused alone.
func refusal(apiErr *APIError) Fate {
	if apiErr.Is(ErrDuplicateSale) {
		return AlreadyRecorded
	}
	return Refused
}

// tooLarge reports whether err is a 413: the body was over Dripcel's limit.
func tooLarge(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusRequestEntityTooLarge
}

// all returns the positions 0..n-1.
func all(n int) []int {
	ps := make([]int, n)
	for i := range ps {
		ps[i] = i
	}
	return ps
}

// cut splits ps into runs whose request bodies fit in limit bytes, and
// into halves when that would leave ps whole.
func (b *batch) cut(ps []int, limit int) [][]int {
	var parts [][]int
	start, size := 0, 1 // "["
	for k, p := range ps {
		n := b.spans[p][1] - b.spans[p][0] + 1 // the sale and "," or "]"
		if k > start && size+n > limit {
			parts = append(parts, ps[start:k])
			start, size = k, 1
		}
		size += n
	}
	if start == 0 {
		l, r := halves(ps)
		return [][]int{l, r}
	}
	return append(parts, ps[start:])
}

// halves cuts ps in two, the first half no larger than the second.
func halves(ps []int) (l, r []int) { return ps[:len(ps)/2], ps[len(ps)/2:] }
