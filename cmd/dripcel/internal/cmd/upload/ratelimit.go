package upload

import (
	"fmt"

	"github.com/dripcel-go/dripcel"
)

// The library paces requests to Dripcel's budget and waits out a 429 itself
// (for the Retry-After asked, else the rest of the budget's window),
// spending none of --retries on it. --rate-limit-wait bounds those waits, as
// a number of windows in a row: a long upload outlasts Dripcel's per-minute
// limit instead of failing at it, and gives up when the limit does not lift.

// rateLimitWaits is how many 429 answers in a row one call waits out.
func (f *uploadFlags) rateLimitWaits() int {
	if f.rateLimitWait <= 0 {
		return 0
	}
	window := dripcel.DefaultRateWindow
	return int((f.rateLimitWait + window - 1) / window)
}

// rateLimitHelp describes --rate-limit-wait.
var rateLimitHelp = fmt.Sprintf("how long in all to wait for Dripcel's rate limit (429) before giving up, "+
	"in waits of up to %s each (0: give up at the first 429)", dripcel.DefaultRateWindow)
