package dripceltest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// sized is an upload body of one valid sale, padded with JSON whitespace
// to n bytes.
func sized(t *testing.T, n int) string {
	t.Helper()
	body := batch(saleJSON("za", "27631231234"))
	if n < len(body) {
		t.Fatalf("no body of %d bytes", n)
	}
	return body[:len(body)-1] + strings.Repeat(" ", n-len(body)) + "]"
}

// wantTooLarge checks a 413 is Express's page, not Dripcel's envelope.
func wantTooLarge(t *testing.T, a answer) {
	t.Helper()
	var env struct{ OK *bool }
	if a.status != http.StatusRequestEntityTooLarge || a.header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(a.body, "<pre>Payload Too Large</pre>") || json.Unmarshal([]byte(a.body), &env) == nil {
		t.Errorf("answer %d %q %q, want 413 with Express's HTML page", a.status, a.header.Get("Content-Type"), a.body)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		srv := start(t)
		wantEnvelope(t, postSales(t, srv, sized(t, dripceltest.MaxBodyBytes)), 200)
		wantTooLarge(t, postSales(t, srv, sized(t, dripceltest.MaxBodyBytes+1)))
		if n := len(srv.Sales()); n != 1 {
			t.Errorf("%d sales stored, want 1", n)
		}
		reqs := srv.Requests()
		if len(reqs) != 2 || reqs[1].Status != 413 || reqs[1].Sales != 0 || reqs[1].Stored != 0 {
			t.Errorf("requests %+v", reqs)
		}
	})
	t.Run("set", func(t *testing.T) {
		srv := start(t, dripceltest.WithMaxBodyBytes(1000))
		wantTooLarge(t, postSales(t, srv, sized(t, 1001)))
		wantEnvelope(t, postSales(t, srv, sized(t, 1000)), 200)
		// Without a Content-Length (chunked), measured as read.
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sales", io.MultiReader(strings.NewReader(sized(t, 1001))))
		req.Header.Set("Authorization", "Bearer "+srv.Key)
		wantTooLarge(t, send(t, noFollow, req))
		// Checked before the key, as an app-wide body parser would.
		req, _ = http.NewRequest(http.MethodPost, srv.URL+"/sales", strings.NewReader(sized(t, 1001)))
		req.Header.Set("Authorization", "Bearer wrong")
		wantTooLarge(t, send(t, noFollow, req))
		if n := len(srv.Sales()); n != 1 {
			t.Errorf("%d sales stored, want 1", n)
		}
	})
	t.Run("far over", func(t *testing.T) {
		// The client is still sending when the 413 is decided; it must
		// get the answer, not a reset connection.
		srv := start(t)
		wantTooLarge(t, postSales(t, srv, sized(t, 4<<20)))
	})
}

// TestUnknownRoutes: what the API does not have is Express's 404 page.
func TestUnknownRoutes(t *testing.T) {
	srv := start(t)
	for _, rt := range []struct{ method, path string }{
		{http.MethodGet, "/sales"}, {http.MethodPost, "/sales/create"}, {http.MethodGet, "/v1/sales/create"},
		{http.MethodPost, "/login"}, {http.MethodDelete, "/sales"},
	} {
		req, _ := http.NewRequest(rt.method, srv.URL+rt.path+"?key="+srv.Key, strings.NewReader(batch(saleJSON("za", "27631231234"))))
		req.Header.Set("Authorization", "Bearer "+srv.Key)
		a := send(t, noFollow, req)
		if a.status != 404 || a.header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(a.body, "<pre>Cannot "+rt.method+" "+rt.path+"</pre>") {
			t.Errorf("%s %s: %d %q", rt.method, rt.path, a.status, a.body)
		}
	}
	if n := len(srv.Sales()); n != 0 {
		t.Errorf("%d sales stored", n)
	}
}

func TestProxyPage(t *testing.T) {
	if got := dripceltest.ProxyPage(502); !strings.Contains(got, "<title>502 Bad Gateway</title>") || !strings.Contains(got, "nginx") {
		t.Errorf("ProxyPage(502) = %q", got)
	}
}
