package upload_test

import (
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// TestUploadRate checks that --rate paces requests: against a server that
// answers 429 beyond 10 requests a second, five one-row requests at --rate
// 300 (one each 200 ms) all pass, where the same upload at --rate 60000 is
// refused.
// The progress line gives the time left from the budget.
func TestUploadRate(t *testing.T) {
	rows := threeSales + "c1,27845550199,2025-10-14\nc1,27845550198,2025-10-14\n"
	path := writeFile(t, "sales.csv", rows)
	args := []string{"upload", "--retries", "0", "--rate-limit-wait", "0", "--batch-size", "1"}

	srv := newServer(t, dripceltest.WithRateLimit(600, 1))
	r := runCLI(t, env(srv), append(args, "--rate", "300", path)...)
	r.WantCode(t, 0)
	if n := srv.RateLimited(); n != 0 {
		t.Errorf("%d answers 429 at --rate 300", n)
	}
	wantContains(t, "stderr", r.Stderr, "uploading: 0 of 5 rows (0%), 0 rows/s, about 1s left at Dripcel's request budget")

	srv = newServer(t, dripceltest.WithRateLimit(600, 1))
	r = runCLI(t, env(srv), append(args, "--rate", "60000", path)...)
	if r.Code != 3 || srv.RateLimited() == 0 {
		t.Errorf("at --rate 60000: exit %d with %d answers 429; want the server's limit to bite (exit 3), or this test proves nothing",
			r.Code, srv.RateLimited())
	}
}
