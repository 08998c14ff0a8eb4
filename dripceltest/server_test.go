package dripceltest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

func newClient(t *testing.T, srv *dripceltest.Server, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	all := append([]dripcel.Option{dripcel.WithBaseURL(srv.URL),
		dripcel.WithRetryWait(time.Millisecond, 2*time.Millisecond),
		// A budget these tests never reach, with a window (the wait after
		// a 429 without Retry-After) of a millisecond.
		dripcel.WithRateLimit(1_000_000, time.Millisecond)}, opts...)
	c, err := dripcel.NewClient(srv.Key, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var fixedNow = time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC) // 00:30 on 2 March in SAST

func start(t *testing.T, opts ...dripceltest.Option) *dripceltest.Server {
	return dripceltest.NewServer(t, append([]dripceltest.Option{
		dripceltest.WithCampaigns(
			dripceltest.Campaign{ID: "za", Country: "ZA", DefaultSaleValue: 50},
			dripceltest.Campaign{ID: "gb", Country: "GB", DefaultSaleValue: 7.5}),
		dripceltest.WithClock(func() time.Time { return fixedNow }),
	}, opts...)...)
}

func TestStoresWhatDripcelWouldStore(t *testing.T) {
	srv := start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	day := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	if err := c.UploadSales(ctx, []dripcel.Sale{
		{CampaignID: "za", Cell: "0631231234", SoldAt: day, SaleValue: dripcel.Value(99.5)},
		{CampaignID: "gb", Cell: "07911 123456"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Postback(ctx, dripcel.Sale{CampaignID: "za", Cell: "27821234567", SaleValue: dripcel.Value(0)}); err != nil {
		t.Fatal(err)
	}
	got := srv.Sales()
	want := []dripceltest.Sale{
		{CampaignID: "za", Cell: "27631231234", RawCell: "0631231234", SoldAt: "2025-10-14", SaleValue: 99.5, Via: "upload"},
		{CampaignID: "gb", Cell: "447911123456", RawCell: "07911 123456", SoldAt: "2026-03-02 00:30:00", SaleValue: 7.5, DefaultValue: true, Via: "upload"},
		{CampaignID: "za", Cell: "27821234567", RawCell: "27821234567", SoldAt: "2026-03-02 00:30:00", SaleValue: 0, Via: "postback"},
	}
	if len(got) != len(want) {
		t.Fatalf("stored %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sale %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestRejectsLikeDripcel(t *testing.T) {
	srv := start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	wrongKey, _ := dripcel.NewClient("wrong", dripcel.WithBaseURL(srv.URL), dripcel.WithoutPacing())

	if err := wrongKey.UploadSales(ctx, []dripcel.Sale{{CampaignID: "za", Cell: "0631231234"}}); !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Errorf("upload with a wrong key: %v", err)
	}
	if err := wrongKey.Postback(ctx, dripcel.Sale{CampaignID: "za", Cell: "0631231234"}); !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Errorf("postback with a wrong key: %v", err)
	}
	if err := c.Postback(ctx, dripcel.Sale{CampaignID: "nope", Cell: "0631231234"}); !errors.Is(err, dripcel.ErrCampaignNotFound) {
		t.Errorf("unknown campaign: %v", err)
	}
	first := dripcel.Sale{CampaignID: "za", Cell: "0631231234", SoldAt: time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)}
	if err := c.Postback(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Same cell (written differently), campaign and date, later in the day.
	again := dripcel.Sale{CampaignID: "za", Cell: "27631231234", SoldAt: time.Date(2025, 1, 2, 17, 0, 0, 0, time.UTC)}
	if err := c.Postback(ctx, again); !errors.Is(err, dripcel.ErrDuplicateSale) {
		t.Errorf("same cell, campaign and date: %v", err)
	}
	nextDay := again
	nextDay.SoldAt = nextDay.SoldAt.AddDate(0, 0, 1)
	if err := c.Postback(ctx, nextDay); err != nil {
		t.Errorf("next day is not a duplicate: %v", err)
	}
	if n := len(srv.Sales()); n != 2 {
		t.Errorf("%d sales stored, want 2", n)
	}
	if reqs := srv.Requests(); len(reqs) != 6 || reqs[0].Status != 401 || reqs[4].Status != 409 || reqs[3].Sales != 1 {
		t.Errorf("requests %+v", reqs)
	}
}

func TestMalformedRequests(t *testing.T) {
	srv := start(t)
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sales", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for body, want := range map[string]int{
		`not json`: 400,
		`{"campaign_id":"za","cell":"0631231234"}`:                                      400,
		`[{"cell":"0631231234"}]`:                                                       400,
		`[{"campaign_id":"za","cell":"123"}]`:                                           400,
		`[{"campaign_id":"za","cell":"0631231234","soldAt":"14/10/2025"}]`:              400,
		`[{"campaign_id":"za","cell":"0631231234","saleValue":"abc"}]`:                  400,
		`[{"campaign_id":"za","cell":"0631231234"}]`:                                    200,
		`[` + strings.Repeat(`{"campaign_id":"za","cell":"0631231234"},`, 3000) + `{}]`: 413,
	} {
		if got := post(body); got != want {
			t.Errorf("POST %.60q: status %d, want %d", body, got, want)
		}
	}
}

func TestFaults(t *testing.T) {
	srv := start(t)
	// A fresh connection per request: net/http itself retries a GET whose
	// reused connection drops, which would hide the Drop.
	// No retries, and a 429 handed back at once rather than waited out, so
	// each fault is seen as it was served.
	c := newClient(t, srv, dripcel.WithMaxRetries(0), dripcel.WithMaxRateLimitWaits(0),
		dripcel.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	ctx := context.Background()
	s := func(i int) dripcel.Sale {
		return dripcel.Sale{CampaignID: "za", Cell: "0631231234", SoldAt: time.Date(2025, 1, i, 0, 0, 0, 0, time.UTC)}
	}

	srv.Fail(1, 502)
	var apiErr *dripcel.APIError
	if err := c.Postback(ctx, s(1)); !errors.As(err, &apiErr) || apiErr.StatusCode != 502 {
		t.Errorf("Fail: %v", err)
	}
	// The client holds its next request back for the Retry-After: keep it short.
	srv.RateLimit(1, "1")
	if err := c.Postback(ctx, s(1)); !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter != time.Second {
		t.Errorf("RateLimit: %v", err)
	}
	srv.FailWithBody(1, 503, "<h1>maintenance</h1>")
	if err := c.Postback(ctx, s(1)); !errors.As(err, &apiErr) || apiErr.Body != "<h1>maintenance</h1>" {
		t.Errorf("FailWithBody: %v", err)
	}
	srv.Drop(1)
	if err := c.Postback(ctx, s(1)); err == nil || errors.As(err, &apiErr) {
		t.Errorf("Drop: %v, want a transport error", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	srv.Delay(1, time.Hour)
	if err := c.Postback(short, s(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Delay: %v", err)
	}
	srv.Pass(1)
	srv.Delay(1, 0)
	srv.Fail(1, 500)
	if err := c.Postback(ctx, s(1)); err != nil {
		t.Errorf("Pass: %v", err)
	}
	if err := c.Postback(ctx, s(2)); err != nil {
		t.Errorf("Delay 0: %v", err)
	}
	if err := c.Postback(ctx, s(3)); !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Errorf("Fail after Pass: %v", err)
	}
	if n := len(srv.Sales()); n != 2 {
		t.Errorf("%d sales stored, want 2; faulted requests must store nothing", n)
	}
}
