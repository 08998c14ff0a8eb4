package dripceltest_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// pageFault is one answer that is not Dripcel's, as a test injects it.
type pageFault struct {
	name        string
	inject      func(srv *dripceltest.Server, n int)
	status      int
	contentType string // "" for no Content-Type header
	body        string
	location    string
}

func pageFaults() []pageFault {
	respond := func(status int, contentType, body string) func(*dripceltest.Server, int) {
		return func(srv *dripceltest.Server, n int) { srv.Respond(n, status, contentType, body) }
	}
	var faults []pageFault
	for _, code := range []int{404, 400, 405, 410, 409, 502} {
		page := dripceltest.ProxyPage(code)
		faults = append(faults, pageFault{"HTML " + http.StatusText(code),
			respond(code, "text/html", page), code, "text/html", page, ""})
	}
	login := "<!doctype html><title>Sign in</title><form action=/login></form>"
	return append(faults,
		pageFault{"200 HTML page", respond(200, "text/html; charset=utf-8", login), 200, "text/html; charset=utf-8", login, ""},
		pageFault{"200 empty", respond(200, "", ""), 200, "", "", ""},
		pageFault{"204", respond(204, "", ""), 204, "", "", ""},
		pageFault{"200 cut-off JSON", respond(200, "application/json", `{"ok":fa`), 200, "application/json", `{"ok":fa`, ""},
		pageFault{"200 ok as a string", respond(200, "application/json", `{"ok":"false"}`), 200, "application/json", `{"ok":"false"}`, ""},
		pageFault{"302 to the login page", func(srv *dripceltest.Server, n int) { srv.Redirect(n, 0, "/login?next=%2Fsales") },
			302, "text/plain; charset=utf-8", "Found. Redirecting to /login?next=%2Fsales", "/login?next=%2Fsales"},
		pageFault{"307 elsewhere", func(srv *dripceltest.Server, n int) { srv.Redirect(n, 307, "https://example.invalid/sales") },
			307, "text/plain; charset=utf-8", "Temporary Redirect. Redirecting to https://example.invalid/sales", "https://example.invalid/sales"},
	)
}

// TestPageFaults: each page comes back byte for byte on both endpoints,
// nothing is stored, and the request after it is answered by Dripcel.
func TestPageFaults(t *testing.T) {
	postback := url.Values{"campaign_id": {"za"}, "cell": {"27821234567"}, "soldAt": {"2025-05-05"}}
	for _, f := range pageFaults() {
		t.Run(f.name, func(t *testing.T) {
			srv := start(t)
			f.inject(srv, 2)
			for _, a := range []answer{
				postSales(t, srv, batch(saleJSON("za", "27631231234"))),
				getPostback(t, srv, postback),
			} {
				if a.status != f.status || a.body != f.body || a.location != f.location {
					t.Errorf("answer %d %q Location %q, want %d %q Location %q", a.status, a.body, a.location, f.status, f.body, f.location)
				}
				if ct, ok := a.header["Content-Type"]; f.contentType == "" && ok || f.contentType != "" && (len(ct) != 1 || ct[0] != f.contentType) {
					t.Errorf("Content-Type %q, want %q", ct, f.contentType)
				}
			}
			if n := len(srv.Sales()); n != 0 {
				t.Fatalf("%d sales stored behind a page that is not Dripcel's", n)
			}
			wantEnvelope(t, postSales(t, srv, batch(saleJSON("za", "27631231234"))), 200)
			wantEnvelope(t, getPostback(t, srv, postback), 200)
			if got := storedCells(srv); !slices.Equal(got, []string{"27631231234", "27821234567"}) {
				t.Errorf("stored %v after the fault", got)
			}
			var statuses []int
			for _, r := range srv.Requests() {
				statuses = append(statuses, r.Status)
			}
			if want := []int{f.status, f.status, 200, 200}; !slices.Equal(statuses, want) {
				t.Errorf("requests recorded with %v, want %v", statuses, want)
			}
		})
	}
}

// TestRedirectFollowed: a client that follows a redirect to the login page
// meets the next fault there; the sale is stored nowhere.
func TestRedirectFollowed(t *testing.T) {
	srv := start(t)
	srv.Redirect(1, http.StatusFound, "/login")
	srv.Respond(1, 200, "text/html", "<h1>Sign in</h1>")
	a := send(t, http.DefaultClient, mustGet(t, srv.URL+"/sales/create?key="+srv.Key+"&campaign_id=za&cell=27631231234"))
	if a.status != 200 || a.body != "<h1>Sign in</h1>" {
		t.Errorf("followed to %d %q", a.status, a.body)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/sales/create" || reqs[0].Status != 302 || reqs[1].Path != "/login" || reqs[1].Status != 200 {
		t.Errorf("requests %+v", reqs)
	}
	if n := len(srv.Sales()); n != 0 {
		t.Errorf("%d sales stored", n)
	}
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestOutageUntilCleared: a fault given UntilCleared lasts through any
// number of requests, hides the faults queued behind it, and ends with
// ClearFaults.
func TestOutageUntilCleared(t *testing.T) {
	srv := start(t)
	srv.Respond(dripceltest.UntilCleared, 404, "text/html", dripceltest.ProxyPage(404))
	srv.Fail(1, 500) // behind the outage: never reached
	for i := range 20 {
		if a := postSales(t, srv, batch(saleJSON("za", "27631231234"))); a.status != 404 || a.body != dripceltest.ProxyPage(404) {
			t.Fatalf("request %d during the outage: %d %q", i, a.status, a.body)
		}
	}
	if n := srv.ClearFaults(); n != 2 {
		t.Errorf("ClearFaults dropped %d faults, want 2", n)
	}
	wantEnvelope(t, postSales(t, srv, batch(saleJSON("za", "27631231234"))), 200)
	if n := len(srv.Sales()); n != 1 {
		t.Errorf("%d sales stored, want the one sent after the outage", n)
	}
	if n := srv.ClearFaults(); n != 0 {
		t.Errorf("ClearFaults on an empty queue dropped %d", n)
	}
	// Faults queued after a clear apply as usual.
	srv.Fail(1, 503)
	wantEnvelope(t, postSales(t, srv, batch(saleJSON("za", "27821234567"))), 503)
	wantEnvelope(t, postSales(t, srv, batch(saleJSON("za", "27821234567"))), 200)
}

// TestClearFaultsReleasesDelay: a request held by Delay is answered, and its
// sale stored, as soon as the faults are cleared.
func TestClearFaultsReleasesDelay(t *testing.T) {
	srv := start(t)
	srv.Delay(dripceltest.UntilCleared, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
			srv.URL+"/sales/create?key="+srv.Key+"&campaign_id=za&cell=27631231234", nil)
		resp, err := noFollow.Do(req)
		if err != nil {
			done <- answer{}
			return
		}
		_ = resp.Body.Close()
		done <- answer{status: resp.StatusCode}
	}()
	for srv.Held() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the request was never held")
		case <-time.After(time.Millisecond):
		}
	}
	srv.ClearFaults()
	if a := <-done; a.status != 200 {
		t.Fatalf("released request: %+v, want 200", a)
	}
	if srv.Held() != 0 || len(srv.Sales()) != 1 {
		t.Errorf("held %d, stored %d; want 0 and 1", srv.Held(), len(srv.Sales()))
	}
}
