package dripcel_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// Fault matrix rows for answers that are not Dripcel's: pages from a proxy,
// a gateway or a wrong path, and redirects, on both calls, against the fake
// Dripcel. Each lasts until cleared, so every retry meets it too: the call
// must name it (ErrNotFromDripcel), leave every sale NotDelivered, and the
// fake must hold nothing; once the fault is cleared the same call records
// every sale.

// echoMark, in a proxyRow's body or location, stands for the request's path and query as
// a front might quote them (see proxyCall.echo).
const echoMark = "{echo}"

// proxyRow is one answer not from Dripcel, as the fake is told to give it.
type proxyRow struct {
	name        string
	status      int
	contentType string
	body        string
	location    string // for a redirect; "" otherwise
}

// proxyRows are the rows.
func proxyRows() []proxyRow {
	const echo = echoMark
	var rows []proxyRow
	for _, code := range []int{404, 400, 405, 410, 409} {
		rows = append(rows, proxyRow{name: "HTML " + strconv.Itoa(code), status: code, contentType: "text/html", body: dripceltest.ProxyPage(code)})
	}
	return append(rows,
		proxyRow{name: "200 HTML page", status: 200, contentType: "text/html; charset=utf-8",
			body: "<!doctype html><title>Sign in</title><form action=/login></form>"},
		proxyRow{name: "200 empty", status: 200},
		proxyRow{name: "204", status: 204},
		proxyRow{name: "200 cut-off JSON", status: 200, contentType: "application/json", body: `{"ok":fa`},
		proxyRow{name: "200 ok as a string", status: 200, contentType: "application/json", body: `{"ok":"false"}`},
		proxyRow{name: "400 HTML echoing the request", status: 400, contentType: "text/html",
			body: "<html><body><h1>400 Bad Request</h1><p>GET " + echo + "</p></body></html>"},
		proxyRow{name: "302 to the login page", status: 302, location: "/login?next=" + echo},
		proxyRow{name: "301 to another host", status: 301, location: "https://login.example.invalid/sso?next=" + echo},
	)
}

// inject starts the row's fault on srv, until cleared, quoting echo.
func (row proxyRow) inject(srv *dripceltest.Server, echo string) {
	if row.location != "" {
		srv.Redirect(dripceltest.UntilCleared, row.status, row.loc(echo))
		return
	}
	srv.Respond(dripceltest.UntilCleared, row.status, row.contentType, strings.ReplaceAll(row.body, echoMark, echo))
}

// loc is the row's Location with echo quoted in it, query-escaped as a
// return address is.
func (row proxyRow) loc(echo string) string {
	return strings.ReplaceAll(row.location, echoMark, url.QueryEscape(echo))
}

// proxySales are the sales of each upload row: the canary cell among them.
func proxySales() []dripcel.Sale {
	return []dripcel.Sale{
		{CampaignID: "camp-1", Cell: leakCell},
		{CampaignID: "camp-1", Cell: "27821234567"},
		{CampaignID: "camp-1", Cell: "27725550101"},
	}
}

// proxyCall reports proxySales (or the first of them) and returns the fate
// of each sale.
type proxyCall struct {
	name  string
	sales int
	// echo is what a front's page quotes of the request: for a postback,
	// part of its query, the key and the customer's cell among it, in an
	// order of its own.
	echo string
	run  func(ctx context.Context, c *dripcel.Client) ([]dripcel.Fate, error)
}

var proxyCalls = []proxyCall{
	{"UploadSales", 3, "/sales", func(ctx context.Context, c *dripcel.Client) ([]dripcel.Fate, error) {
		err := c.UploadSales(ctx, proxySales())
		fates := []dripcel.Fate{dripcel.Recorded, dripcel.Recorded, dripcel.Recorded}
		var ue *dripcel.UploadError
		if errors.As(err, &ue) {
			for i, o := range ue.Outcomes() {
				fates[i] = o.Fate
			}
		}
		return fates, err
	}},
	{"Postback", 1, "/sales/create?cell=" + leakCell + "&key=" + url.QueryEscape(leakKey), func(ctx context.Context, c *dripcel.Client) ([]dripcel.Fate, error) {
		err := c.Postback(ctx, proxySales()[0])
		return []dripcel.Fate{dripcel.FateOf(err)}, err
	}},
}

func TestFaultMatrixNotFromDripcel(t *testing.T) {
	t.Parallel()
	for _, row := range proxyRows() {
		for _, call := range proxyCalls {
			t.Run(row.name+"/"+call.name, func(t *testing.T) {
				t.Parallel()
				srv := dripceltest.NewServer(t, dripceltest.WithKey(leakKey),
					dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
				r := newRig(t, srv.URL)
				row.inject(srv, call.echo)
				fates, err := call.run(context.Background(), r.client)
				if !errors.Is(err, dripcel.ErrNotFromDripcel) {
					t.Fatalf("err = %v, want ErrNotFromDripcel", err)
				}
				for _, s := range []error{dripcel.ErrCampaignNotFound, dripcel.ErrDuplicateSale, dripcel.ErrUnauthorized, dripcel.ErrInvalidSale} {
					if errors.Is(err, s) {
						t.Errorf("err = %v matches %v: a page not from Dripcel is no verdict", err, s)
					}
				}
				for i, f := range fates {
					if f != dripcel.NotDelivered {
						t.Errorf("sale %d: %v, want %v", i, f, dripcel.NotDelivered)
					}
				}
				var apiErr *dripcel.APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v, want an *APIError", err)
				}
				wantLocation, _, _ := strings.Cut(row.loc(call.echo), "?")
				if apiErr.StatusCode != row.status || apiErr.Location != wantLocation ||
					row.contentType != "" && apiErr.ContentType != row.contentType {
					t.Errorf("APIError status %d, content type %q, Location %q; want %d, %q, %q",
						apiErr.StatusCode, apiErr.ContentType, apiErr.Location, row.status, row.contentType, wantLocation)
				}
				if n := len(srv.Sales()); n != 0 {
					t.Errorf("the fake stored %d sales", n)
				}
				reqs := srv.Requests()
				if n := int(r.attempts.n.Load()); n != len(reqs) || n < 2 {
					t.Errorf("client made %d attempts, the fake saw %d; want the same, and a retry", n, len(reqs))
				}
				for _, req := range reqs {
					if req.Status != row.status {
						t.Errorf("a request was answered %d, not by the fault", req.Status)
					}
				}
				r.checkSecrets(t, err)

				srv.ClearFaults()
				fates, err = call.run(context.Background(), r.client)
				if err != nil {
					t.Fatalf("after the fault: %v", err)
				}
				for i, f := range fates {
					if f != dripcel.Recorded {
						t.Errorf("after the fault, sale %d: %v", i, f)
					}
				}
				if n := len(srv.Sales()); n != call.sales {
					t.Errorf("after the fault the fake holds %d sales, want %d", n, call.sales)
				}
			})
		}
	}
}

// TestWrongBasePathIsNotFromDripcel: a base URL with a wrong path meets the
// server's own 404 page for a route it does not have, which is no verdict
// on the sales either.
func TestWrongBasePathIsNotFromDripcel(t *testing.T) {
	t.Parallel()
	srv := dripceltest.NewServer(t, dripceltest.WithKey(leakKey),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
	r := newRig(t, srv.URL+"/v1")
	for _, call := range proxyCalls {
		fates, err := call.run(context.Background(), r.client)
		if !errors.Is(err, dripcel.ErrNotFromDripcel) || errors.Is(err, dripcel.ErrCampaignNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFromDripcel alone", call.name, err)
		}
		for i, f := range fates {
			if f != dripcel.NotDelivered {
				t.Errorf("%s: sale %d: %v", call.name, i, f)
			}
		}
		r.checkSecrets(t, err)
	}
	if n := len(srv.Sales()); n != 0 {
		t.Errorf("the fake stored %d sales", n)
	}
}
