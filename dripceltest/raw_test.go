package dripceltest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// These helpers speak to the server over plain HTTP, so the tests of what it
// stores and answers do not depend on how the client reacts to it.

// answer is a response as the test client received it.
type answer struct {
	status   int
	header   http.Header
	body     string
	location string
}

// noFollow is an HTTP client that returns redirects instead of following
// them, and opens a connection per request.
var noFollow = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableKeepAlives: true},
}

func send(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(body), resp.Header.Get("Location")}
}

// postSales sends body to POST /sales with the server's key.
func postSales(t *testing.T, srv *dripceltest.Server, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/sales", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	req.Header.Set("Content-Type", "application/json")
	return send(t, noFollow, req)
}

// getPostback sends GET /sales/create with q and the server's key.
func getPostback(t *testing.T, srv *dripceltest.Server, q url.Values) answer {
	t.Helper()
	q = clone(q)
	q.Set("key", srv.Key)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/sales/create?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, noFollow, req)
}

func clone(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// saleJSON is one sale of an upload body, for campaign and cell, sold on
// 5 May 2025.
func saleJSON(campaign, cell string) string {
	return `{"campaign_id":"` + campaign + `","cell":"` + cell + `","soldAt":"2025-05-05"}`
}

// saleBy is one sale of an upload body that names its campaign by field
// alone (campaign_id, send_id or click_id), for cell, sold on 5 May 2025.
func saleBy(field, id, cell string) string {
	return `{"` + field + `":"` + id + `","cell":"` + cell + `","soldAt":"2025-05-05"}`
}

// errorBody is Dripcel's envelope for a refusal with msg.
func errorBody(msg string) string { return `{"ok":false,"error":"` + msg + `"}` }

// batch is an upload body of the sales given.
func batch(sales ...string) string { return "[" + strings.Join(sales, ",") + "]" }

// storedCells are the cells of the stored sales, in order.
func storedCells(srv *dripceltest.Server) []string {
	var cells []string
	for _, s := range srv.Sales() {
		cells = append(cells, s.Cell)
	}
	return cells
}

// wantEnvelope checks that a is Dripcel's JSON envelope with status.
func wantEnvelope(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") ||
		!strings.HasPrefix(a.body, `{"ok":`) {
		t.Errorf("answer %d %q %q, want %d with Dripcel's envelope", a.status, a.header.Get("Content-Type"), a.body, status)
	}
}
