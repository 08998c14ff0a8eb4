package dripcel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// expressTooLarge is the page Express answers a body over its limit with.
const expressTooLarge = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>PayloadTooLargeError: request entity too large</pre>\n</body>\n</html>\n"

// capServer is a fake Dripcel with Express's body limit and realistic
// sales' campaign.
func capServer(t testing.TB, opts ...dripceltest.Option) *dripceltest.Server {
	t.Helper()
	opts = append([]dripceltest.Option{dripceltest.WithCampaigns(dripceltest.Campaign{ID: "639978184d735c88ed8bbd68", Country: "ZA"})}, opts...)
	srv := dripceltest.Start(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func capClient(t testing.TB, url string, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	opts = append([]dripcel.Option{dripcel.WithBaseURL(url), dripcel.WithRetryWait(0, 0), testBudget}, opts...)
	c, err := dripcel.NewClient(dripceltest.DefaultKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requestsFor uploads sales with c and returns the requests it cost.
func requestsFor(t testing.TB, srv *dripceltest.Server, c *dripcel.Client, sales []dripcel.Sale) int {
	t.Helper()
	before := len(srv.Requests())
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	return len(srv.Requests()) - before
}

// afterSmall413 is what the next sales cost a client whose upload of 2
// sales was answered 413 by mistake (a proxy's hiccup), against what they
// cost a fresh client.
func afterSmall413(t testing.TB, sales []dripcel.Sale) (fresh, after int) {
	t.Helper()
	srv := capServer(t)
	fresh = requestsFor(t, srv, capClient(t, srv.URL), sales)
	srv = capServer(t)
	c := capClient(t, srv.URL)
	srv.FailWithBody(1, http.StatusRequestEntityTooLarge, expressTooLarge)
	requestsFor(t, srv, c, benchSales(2)[:2])
	for i := range sales {
		sales[i].SoldAt = sales[i].SoldAt.AddDate(0, 0, 1) // not the two sent already
	}
	return fresh, requestsFor(t, srv, c, sales)
}

// A 413 on a small body does not make a client send small requests for
// life: after a 413 on a 2-sale body, the next 20,000 sales cost at most
// 1.1 times the requests of a fresh client.
func TestBodyCapRecoversAfterSmall413(t *testing.T) {
	fresh, after := afterSmall413(t, benchSales(20_000))
	t.Logf("20,000 sales: %d requests fresh, %d after a 413 on 2 sales", fresh, after)
	if after*10 > fresh*11 {
		t.Errorf("after a 413 on 2 sales: %d requests, a fresh client %d; want at most 1.1 times", after, fresh)
	}
}

// A 413 for a body no larger than one Dripcel accepted does not lower the
// cap: the refused body is sent again in two, and the requests after it are
// as full as before.
func TestBodyCapNeverBelowAccepted(t *testing.T) {
	srv := capServer(t)
	c := capClient(t, srv.URL)
	sales := benchSales(6000)
	requestsFor(t, srv, c, sales[:2000])
	srv.FailWithBody(1, http.StatusRequestEntityTooLarge, expressTooLarge)
	before := len(srv.Requests())
	requestsFor(t, srv, c, sales[2000:])
	reqs := srv.Requests()[before:]
	if reqs[0].Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("first request %+v, want the 413", reqs[0])
	}
	for i, r := range reqs[3 : len(reqs)-1] {
		if r.Bytes < dripcel.DefaultMaxBatchBytes*95/100 {
			t.Errorf("request %d after the 413: %d bytes, want about %d", i+3, r.Bytes, dripcel.DefaultMaxBatchBytes)
		}
	}
}

// The default cap is Express's limit, 102,400 bytes, and requests fill it.
func TestBodyCapIsExpressLimit(t *testing.T) {
	if dripcel.DefaultMaxBatchBytes != 102_400 || dripceltest.MaxBodyBytes != 102_400 {
		t.Fatalf("caps %d and %d, want Express's 102,400", dripcel.DefaultMaxBatchBytes, dripceltest.MaxBodyBytes)
	}
	srv := capServer(t)
	requestsFor(t, srv, capClient(t, srv.URL), benchSales(3000))
	reqs := srv.Requests()
	for _, r := range reqs[:len(reqs)-1] {
		if r.Status != http.StatusOK || r.Bytes > 102_400 || r.Bytes < 102_400-200 {
			t.Errorf("request of %d bytes answered %d, want full and accepted", r.Bytes, r.Status)
		}
	}
}

// Against a limit really below the cap, probing upward costs few 413s: a
// refused probe doubles the run before the next. 60,000 sales against a
// limit of 30,000 bytes: the search for the limit alone costs 104 requests
// where 93 could carry the sales (6 refused, and the part-full remainders
// of the refused bodies); the probes add 2.
func TestBodyCapProbingCost(t *testing.T) {
	total, refused, fewest := againstLimit(t, 30_000, 60_000)
	t.Logf("%d requests (the fewest possible %d), %d refused", total, fewest, refused)
	if total*100 > fewest*115 || refused > 8 {
		t.Errorf("%d requests (%d refused) for what %d could carry: over 15%% more, or over 8 refused", total, refused, fewest)
	}
}

// againstLimit uploads n small sales with a fresh client to a server whose
// body limit is limit bytes, and returns the requests sent, those refused
// 413, and the fewest requests that could have carried the sales.
func againstLimit(t testing.TB, limit, n int) (total, refused, fewest int) {
	t.Helper()
	ls := &limitServer{limit: limit}
	srv := httptest.NewServer(ls)
	defer srv.Close()
	c := capClient(t, srv.URL)
	if err := c.UploadSales(context.Background(), salesN(n)); err != nil {
		t.Fatal(err)
	}
	bytes := 0
	for _, size := range ls.sizes {
		if size > ls.limit {
			refused++
			continue
		}
		bytes += size
	}
	return len(ls.sizes), refused, (bytes + ls.limit - 1) / ls.limit
}
