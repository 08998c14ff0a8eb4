package transport

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

const key = "k3y/with+odd=chars"

type capture struct {
	req *http.Request
	err error
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.req = r
	if c.err != nil {
		return nil, c.err
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

func TestAuthPlacesKeyOnlyForItsOrigin(t *testing.T) {
	tests := []struct {
		url       string
		placement Placement
		header    bool
		query     bool
	}{
		{"https://api.test/sales", Header, true, false},
		{"https://api.test/sales/create?cell=1", Query, false, true},
		{"https://other.test/sales/create?cell=1", Query, false, false},
		{"http://api.test/sales", Header, false, false}, // downgraded scheme
		{"https://api.test:8443/sales", Header, false, false},
	}
	for _, tt := range tests {
		c := &capture{}
		a := &Auth{Base: c, Key: key, Scheme: "https", Host: "api.test"}
		ctx := WithPlacement(context.Background(), tt.placement)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
		if _, err := a.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		gotHeader := c.req.Header.Get("Authorization") == "Bearer "+key
		gotQuery := c.req.URL.Query().Get("key") == key
		if gotHeader != tt.header || gotQuery != tt.query {
			t.Errorf("%s: header %v query %v, want %v %v", tt.url, gotHeader, gotQuery, tt.header, tt.query)
		}
		if req.Header.Get("Authorization") != "" || strings.Contains(req.URL.RawQuery, "key=") {
			t.Errorf("%s: the caller's request was modified", tt.url)
		}
	}
}

func TestRedactKeepsTimeoutAndContextButNotTheKey(t *testing.T) {
	c := &capture{err: &url.Error{Op: "Get", URL: "https://api.test/?key=" + url.QueryEscape(key), Err: os.ErrDeadlineExceeded}}
	a := &Auth{Base: c, Key: key, Scheme: "https", Host: "api.test"}
	req, _ := http.NewRequest(http.MethodGet, "https://api.test/", nil)
	_, err := a.RoundTrip(req)
	if err == nil || strings.Contains(err.Error(), key) || strings.Contains(err.Error(), url.QueryEscape(key)) {
		t.Fatalf("err = %v", err)
	}
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() {
		t.Error("redacted error lost its timeout")
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), url.QueryEscape(key)) {
			t.Errorf("unwrapping gives the key back: %v", e)
		}
	}
	wrapped := Redact(errors.Join(context.Canceled, errors.New("at "+key)), key)
	if !errors.Is(wrapped, context.Canceled) || strings.Contains(wrapped.Error(), key) {
		t.Errorf("Redact(canceled) = %v", wrapped)
	}
	plain := errors.New("no secret here")
	if got := Redact(plain, key); !errors.Is(got, plain) || got.Error() != plain.Error() {
		t.Error("an error without the key was replaced")
	}
}

func TestURLDropsQueryAndCredentials(t *testing.T) {
	u, _ := url.Parse("https://user:pw@api.test/p/sales/create?key=x&cell=27#frag")
	if got := URL(u); got != "https://api.test/p/sales/create" {
		t.Errorf("URL = %q", got)
	}
}

// TestScrubForms: the key in every form a page can quote it in, and the
// query's long values quoted alone, go; short values stay.
func TestScrubForms(t *testing.T) {
	const key = "k3y+/=&?#%_canary"
	query := "key=" + url.QueryEscape(key) + "&campaign_id=c1&cell=27631239876&saleValue=0"
	next := url.QueryEscape("/sales/create?" + query)
	part := url.QueryEscape("/x?cell=27631239876&key=" + url.QueryEscape(key))
	for in, want := range map[string]string{
		"raw " + key:                      "raw REDACTED",
		"escaped " + url.QueryEscape(key): "escaped REDACTED",
		"path " + url.PathEscape(key):     "path REDACTED",
		"/login?next=" + next:             "/login?next=%2Fsales%2Fcreate%3FREDACTED",
		"/login?next=" + part:             "/login?next=%2Fx%3Fcell%3DREDACTED%26key%3DREDACTED",
		"GET /sales/create?" + query:      "GET /sales/create?REDACTED",
		"blocked: cell=27631239876":       "blocked: cell=REDACTED",
		"campaign c1, value 0":            "campaign c1, value 0",
	} {
		got, changed := Scrub(in, key, query)
		if got != want || changed != (in != want) {
			t.Errorf("Scrub(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}
