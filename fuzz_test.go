package dripcel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dripcel-go/dripcel"
)

// Native fuzz targets; their seed corpora are in testdata/fuzz. .ci/run
// fuzzes each for 10 s.

// fuzzClient is a client whose every request is answered by rt, with no
// retries (not even a wait after a 429) and no network.
func fuzzClient(t *testing.T, rt roundTripFunc) *dripcel.Client {
	t.Helper()
	c, err := dripcel.NewClient(leakKey, dripcel.WithBaseURL("http://dripcel.invalid"), testBudget,
		dripcel.WithHTTPClient(&http.Client{Transport: rt}), dripcel.WithMaxRetries(0),
		dripcel.WithMaxRateLimitWaits(0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// statusSentinel is the sentinel a status matches on its own.
func statusSentinel(code int) error {
	switch code {
	case 401, 403:
		return dripcel.ErrUnauthorized
	case 404:
		return dripcel.ErrCampaignNotFound
	case 409:
		return dripcel.ErrDuplicateSale
	case 429:
		return dripcel.ErrRateLimited
	}
	return nil
}

// speaksOfSale reports whether a 404's message names what a sale refers to,
// a campaign, a send or a click, as a word of its own, and no path.
func speaksOfSale(msg string) bool {
	if strings.Contains(msg, "/") { // a route's path, not a sale's reference
		return false
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(msg), func(r rune) bool { return r < 'a' || r > 'z' }) {
		switch w {
		case "campaign", "campaigns", "send", "sends", "click", "clicks":
			return true
		}
	}
	return false
}

// FuzzResponse: any status, Retry-After and body give no panic, a short
// single-line error without the key, and the sentinel of the status.
func FuzzResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, status uint16, retryAfter string, body []byte) {
		code := int(status)
		if code < 100 || code > 999 {
			code = 100 + code%900
		}
		c := fuzzClient(t, func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: code, Request: req, Header: http.Header{"Retry-After": {retryAfter}},
				Body: io.NopCloser(bytes.NewReader(body))}, nil
		})
		err := c.Postback(context.Background(), faultSale())

		var env struct {
			OK *bool `json:"ok"`
		}
		trimmed := bytes.TrimSpace(body)
		envelope := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &env) == nil && env.OK != nil
		// Only Dripcel's envelope is a verdict, except for the statuses
		// that speak whatever the body.
		statusSpeaks := code == 401 || code == 403 || code == 408 || code == 413 || code == 429 || code >= 500
		success := code >= 200 && code < 300
		refusal := envelope && !*env.OK && (success || code >= 400 && code < 500)
		if success && envelope && *env.OK {
			if err != nil {
				t.Fatalf("%d %q: err = %v, want nil", code, body, err)
			}
			return
		}
		var apiErr *dripcel.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != code || apiErr.Attempts != 1 {
			t.Fatalf("%d %q: err = %#v, want an *APIError with that status after 1 attempt", code, body, err)
		}
		want := statusSentinel(code)
		if !statusSpeaks && !refusal {
			want = dripcel.ErrNotFromDripcel
		}
		if code == 404 && refusal && !speaksOfSale(apiErr.Message) {
			want = nil // Dripcel's router: a wrong path, not a refusal
		}
		if success && refusal { // a 2xx refusal matches by Dripcel's message
			switch strings.ToLower(strings.TrimSpace(apiErr.Message)) {
			case "campaign not found", "send not found", "click not found":
				want = dripcel.ErrCampaignNotFound
			case "duplicate sale":
				want = dripcel.ErrDuplicateSale
			}
		}
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != errors.Is(s, want) {
				t.Fatalf("%d %q: errors.Is(err, %v) = %v", code, body, s, got)
			}
		}
		msg := err.Error()
		if len(msg) > 1024 || strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
			t.Fatalf("%d %q: error is %d bytes, or not one valid line: %q", code, body, len(msg), msg)
		}
		if strings.Contains(msg, leakMark) || strings.Contains(msg, leakCell) {
			t.Fatalf("error leaks the key or the cell: %q", msg)
		}
	})
}

// FuzzToInternational: no panic; a result is international digits only,
// and converting it again, with its region or with a "+" and none, gives it
// back unchanged.
func FuzzToInternational(f *testing.F) {
	f.Fuzz(func(t *testing.T, cell, region string) {
		out, err := dripcel.ToInternational(cell, region)
		if err != nil {
			if out != "" {
				t.Fatalf("ToInternational(%q, %q) = %q with error %v", cell, region, out, err)
			}
			return
		}
		if len(out) < 2 || len(out) > 15 || strings.Trim(out, "0123456789") != "" || out[0] == '0' {
			t.Fatalf("ToInternational(%q, %q) = %q: not international digits", cell, region, out)
		}
		for _, in := range []struct{ cell, region string }{{out, region}, {"+" + out, ""}} {
			if again, err := dripcel.ToInternational(in.cell, in.region); err != nil || again != out {
				t.Fatalf("ToInternational(%q, %q) = %q; ToInternational(%q, %q) = %q, %v",
					cell, region, out, in.cell, in.region, again, err)
			}
		}
	})
}

// jsonString is s as encoding/json decodes what the client sent for it:
// every byte of invalid UTF-8 becomes U+FFFD.
func jsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// wireSale is a sale as a server decodes it; nil is a field not sent.
type wireSale struct {
	CampaignID, SendID, ClickID, Cell, SoldAt, SaleValue *string
}

// fields maps each wire name to its field in w.
func (w *wireSale) fields() map[string]**string {
	return map[string]**string{"campaign_id": &w.CampaignID, "send_id": &w.SendID, "click_id": &w.ClickID,
		"cell": &w.Cell, "soldAt": &w.SoldAt, "saleValue": &w.SaleValue}
}

func (w wireSale) get(name string) *string { return *w.fields()[name] }

// fromQuery reads a postback query with url.ParseQuery.
func fromQuery(t *testing.T, raw string) wireSale {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("query %q: %v", raw, err)
	}
	if len(q["key"]) != 1 || q.Get("key") != leakKey {
		t.Fatalf("query %q: key parameter %q", raw, q["key"])
	}
	var w wireSale
	for name, p := range w.fields() {
		if vs, ok := q[name]; ok {
			if len(vs) != 1 {
				t.Fatalf("query %q: %s sent %d times", raw, name, len(vs))
			}
			*p = &vs[0]
		}
	}
	if len(q) > 7 {
		t.Fatalf("query %q has unknown parameters", raw)
	}
	return w
}

// fromJSON reads an upload body of one sale with encoding/json.
func fromJSON(t *testing.T, body []byte) wireSale {
	t.Helper()
	var sales []map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&sales); err != nil || len(sales) != 1 {
		t.Fatalf("body %q: %v", body, err)
	}
	var w wireSale
	fields := w.fields()
	for name, raw := range sales[0] {
		p, ok := fields[name]
		if !ok {
			t.Fatalf("body %q: unknown field %q", body, name)
		}
		s := string(raw) // saleValue is a number
		if name != "saleValue" {
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("body %q: %s: %v", body, name, err)
			}
		}
		*p = &s
	}
	return w
}

// FuzzSaleEncoding: any valid sale, sent either way, decodes back with the
// standard library to exactly its fields; an invalid one is refused before
// anything is sent.
func FuzzSaleEncoding(f *testing.F) {
	zone := time.FixedZone("SAST", 2*60*60)
	f.Fuzz(func(t *testing.T, campaignID, sendID, clickID, cell string, soldAt int64, value float64, hasValue bool) {
		s := dripcel.Sale{CampaignID: campaignID, SendID: sendID, ClickID: clickID, Cell: cell}
		if soldAt != 0 {
			s.SoldAt = time.Unix(soldAt, 0).In(zone)
		}
		if hasValue {
			s.SaleValue = dripcel.Value(value)
		}
		var sent []*http.Request
		var bodies [][]byte
		c := fuzzClient(t, func(req *http.Request) (*http.Response, error) {
			var b []byte
			if req.Body != nil {
				b, _ = io.ReadAll(req.Body)
			}
			sent, bodies = append(sent, req), append(bodies, b)
			return &http.Response{StatusCode: http.StatusOK, Request: req, Header: http.Header{},
				Body: io.NopCloser(strings.NewReader(`{"ok":true}`))}, nil
		})
		errPost := c.Postback(context.Background(), s)
		errUp := c.UploadSales(context.Background(), []dripcel.Sale{s})

		year := s.SoldAt.Year()
		ids := 0
		for _, id := range []string{campaignID, sendID, clickID} {
			if strings.TrimSpace(id) != "" {
				ids++
			}
		}
		valid := ids == 1 && strings.TrimSpace(cell) != "" &&
			(!hasValue || !math.IsNaN(value) && !math.IsInf(value, 0)) &&
			(s.SoldAt.IsZero() || year >= 1 && year <= 9999)
		if !valid {
			if !errors.Is(errPost, dripcel.ErrInvalidSale) || !errors.Is(errUp, dripcel.ErrInvalidSale) || len(sent) != 0 {
				t.Fatalf("invalid sale %+v: Postback %v, UploadSales %v, %d requests", s, errPost, errUp, len(sent))
			}
			return
		}
		if errPost != nil || errUp != nil || len(sent) != 2 {
			t.Fatalf("sale %+v: Postback %v, UploadSales %v, %d requests", s, errPost, errUp, len(sent))
		}
		if got := sent[1].Header.Get("Authorization"); got != "Bearer "+leakKey {
			t.Fatalf("upload Authorization = %q", got)
		}
		checkWire(t, s, fromQuery(t, sent[0].URL.RawQuery), func(s string) string { return s })
		checkWire(t, s, fromJSON(t, bodies[1]), jsonString)
	})
}

// checkWire compares what a server decoded with the sale sent; text maps a
// string to what the encoding can carry of it. Of the identifiers, only the
// one that is not blank is sent, without the spaces around it.
func checkWire(t *testing.T, s dripcel.Sale, w wireSale, text func(string) string) {
	t.Helper()
	for name, want := range map[string]string{"campaign_id": strings.TrimSpace(s.CampaignID), "send_id": strings.TrimSpace(s.SendID),
		"click_id": strings.TrimSpace(s.ClickID), "cell": s.Cell} {
		got := w.get(name)
		blank := strings.TrimSpace(want) == ""
		switch {
		case got == nil && !blank:
			t.Fatalf("%s not sent, want %q", name, want)
		case got != nil && blank:
			t.Fatalf("blank %s sent as %q", name, *got)
		case got != nil && *got != text(want):
			t.Fatalf("%s = %q, want %q", name, *got, text(want))
		}
	}
	if (w.SoldAt != nil) == s.SoldAt.IsZero() {
		t.Fatalf("soldAt = %v for %v", w.SoldAt, s.SoldAt)
	}
	if w.SoldAt != nil {
		got, err := time.ParseInLocation("2006-01-02 15:04:05", *w.SoldAt, s.SoldAt.Location())
		if err != nil {
			got, err = time.ParseInLocation("2006-01-02", *w.SoldAt, s.SoldAt.Location())
		}
		if err != nil || !got.Equal(s.SoldAt) {
			t.Fatalf("soldAt %q reads as %v (%v), want %v", *w.SoldAt, got, err, s.SoldAt)
		}
	}
	if (w.SaleValue != nil) != (s.SaleValue != nil) {
		t.Fatalf("saleValue = %v for %v", w.SaleValue, s.SaleValue)
	}
	if w.SaleValue != nil {
		if v, err := strconv.ParseFloat(*w.SaleValue, 64); err != nil || v != *s.SaleValue {
			t.Fatalf("saleValue %q reads as %v (%v), want %v", *w.SaleValue, v, err, *s.SaleValue)
		}
	}
}
