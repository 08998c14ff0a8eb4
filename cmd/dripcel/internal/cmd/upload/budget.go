package upload

import (
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"net/http"
	"time"

	"github.com/dripcel-go/dripcel"
)

// rateOptions are the client options for pacing: the library's own (at
// Dripcel's documented budget) unless --rate sets another, its 429 waits
// bounded by --rate-limit-wait, and a transport that counts the requests
// made for the time left.
func (u *upload) rateOptions() ([]dripcel.Option, error) {
	f := u.flags
	opts := []dripcel.Option{
		dripcel.WithMaxRateLimitWaits(f.rateLimitWaits()),
		dripcel.WithHTTPClient(&http.Client{Transport: u.sender}),
	}
	switch {
	case f.rate == 0:
		return opts, nil
	case f.rate < 0:
		return nil, cli.Usage("--rate %d is below 1", f.rate)
	}
	return append(opts, dripcel.WithRateLimit(f.rate, time.Minute)), nil
}

// budgetRate is the requests a minute the time left is reckoned at.
func (f *uploadFlags) budgetRate() int {
	if f.rate > 0 {
		return f.rate
	}
	return dripcel.DefaultRateLimit
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
	if n, settled := u.sender.counts(); n > 0 && settled > 0 {
		perRequest = float64(settled) / float64(n)
	}
	requests := int((float64(left) + perRequest - 1) / perRequest)
	window := time.Minute
	if u.flags.rate == 0 {
		window = dripcel.DefaultRateWindow
	}
	return time.Duration(requests) * window / time.Duration(u.flags.budgetRate())
}
