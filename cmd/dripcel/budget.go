package main

import (
	"time"

	"github.com/dripcel-go/dripcel"
)

// dripcelRate is the budget Dripcel documents: about 50 requests a minute
// per organisation. It is what the time left is reckoned from when --rate
// is not given.
const dripcelRate = 50

// rateOptions are the client options --rate asks for: none when it is not
// given, so that the library's own pacing applies.
func (f *uploadFlags) rateOptions() ([]dripcel.Option, error) {
	switch {
	case f.rate == 0:
		return nil, nil
	case f.rate < 0:
		return nil, usageError("--rate %d is below 1", f.rate)
	}
	return []dripcel.Option{dripcel.WithRateLimit(f.rate, time.Minute)}, nil
}

// readAhead is how many rows send hands the library at once when
// --batch-size sets no count: the library cuts them into requests by size,
// a few hundred realistic sales each, so that only the last request of
// each read-ahead goes out part full.
const readAhead = 10_000

// chunk is how many rows send reads before handing them over.
func (f *uploadFlags) chunk() int {
	if f.batch > 0 {
		return f.batch
	}
	return readAhead
}

// budgetRate is the requests a minute the time left is reckoned at.
func (f *uploadFlags) budgetRate() int {
	if f.rate > 0 {
		return f.rate
	}
	return dripcelRate
}

// timeLeft reckons the time the rows not yet sent need under the budget:
// the requests they fill, at the rows a request has carried so far (or
// --batch-size before the first), each taking its share of a minute. On
// Dripcel the budget, not the network, sets the pace.
func (u *upload) timeLeft(left int) time.Duration {
	if left <= 0 {
		return 0
	}
	perRequest := float64(u.flags.batch)
	if perRequest == 0 {
		perRequest = dripcel.DefaultMaxBatchBytes / 151 // a full body of realistic 151-byte sales
	}
	if u.batches > 0 && u.tally.sent > 0 {
		perRequest = float64(u.tally.sent) / float64(u.batches)
	}
	requests := int((float64(left) + perRequest - 1) / perRequest)
	return time.Duration(requests) * time.Minute / time.Duration(u.flags.budgetRate())
}
