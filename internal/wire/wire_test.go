package wire

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te`, `back\slash`, "new\nline\r\t", "\x00\x01\x1f\x7f",
		"ünïcødé 🎉", "\u2028\u2029", "bad \xff\xfe utf8", "<script>&amp;", strings.Repeat("x", 10000)} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendString(%q) = %s: not JSON: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("AppendString(%q) decodes to %q, encoding/json round-trips to %q", s, back, wantBack)
		}
	}
}

func TestSoldAtForms(t *testing.T) {
	jhb := time.FixedZone("SAST", 2*3600)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, ""},
		{time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC), "2025-10-14"},
		{time.Date(2025, 10, 14, 9, 2, 51, 0, time.UTC), "2025-10-14 09:02:51"},
		{time.Date(2025, 10, 14, 0, 0, 0, 1, time.UTC), "2025-10-14 00:00:00"},
		// The value's own location is used: 23:30 UTC is the next day in SAST.
		{time.Date(2025, 10, 14, 23, 30, 0, 0, time.UTC).In(jhb), "2025-10-15 01:30:00"},
	}
	for _, tt := range tests {
		if got := FormatSoldAt(tt.t); got != tt.want {
			t.Errorf("FormatSoldAt(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	for in, want := range map[*float64]string{nil: "", v(0): "0", v(100): "100", v(99.95): "99.95",
		v(1e6): "1000000", v(1e21): "1000000000000000000000", v(-5.5): "-5.5", v(0.000001): "0.000001"} {
		if got := FormatValue(in); got != want {
			t.Errorf("FormatValue = %q, want %q", got, want)
		}
	}
}

// TestQueryForms pins the query: sorted names, optional ones left out when
// empty, saleValue never in exponent form, soldAt never RFC 3339, a space
// as %20 and a '+' as %2B.
func TestQueryForms(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	for _, tc := range []struct {
		f    Fields
		want string
	}{
		{Fields{CampaignID: "c1", Cell: "27631231234"}, "campaign_id=c1&cell=27631231234"},
		{Fields{CampaignID: "c1", Cell: "27631231234", ClickID: "k", SendID: "a b+c", SaleValue: v(1e6),
			SoldAt: time.Date(2025, 10, 14, 9, 2, 51, 0, time.UTC)},
			"campaign_id=c1&cell=27631231234&click_id=k&saleValue=1000000&send_id=a%20b%2Bc&soldAt=2025-10-14%2009%3A02%3A51"},
		{Fields{CampaignID: "c1", Cell: "1", SaleValue: v(0), SoldAt: time.Date(2025, 10, 14, 0, 0, 0, 0, time.FixedZone("SAST", 7200))},
			"campaign_id=c1&cell=1&saleValue=0&soldAt=2025-10-14"},
		{Fields{CampaignID: "c1", Cell: "1", SaleValue: v(1e21)}, "campaign_id=c1&cell=1&saleValue=1000000000000000000000"},
		{Fields{CampaignID: "c1", Cell: "1", SaleValue: v(0.000001)}, "campaign_id=c1&cell=1&saleValue=0.000001"},
	} {
		if got := Query(&tc.f); got != tc.want {
			t.Errorf("Query(%+v)\n got %s\nwant %s", tc.f, got, tc.want)
		}
	}
}

func TestQueryRoundTripsHostileValues(t *testing.T) {
	hostile := "a&b=c#d%e\nf+g ü " + strings.Repeat("z", 10<<10)
	f := Fields{CampaignID: hostile, SendID: "s=1&key=evil", ClickID: "#frag", Cell: "+27 63"}
	got, err := url.ParseQuery(Query(&f))
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("campaign_id") != hostile || got.Get("send_id") != "s=1&key=evil" || got.Get("click_id") != "#frag" || got.Get("cell") != "+27 63" {
		t.Errorf("query did not round-trip: %v", got)
	}
	if got.Has("key") {
		t.Error("a field injected a key parameter")
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		body string
		want Reply
	}{
		{`{"ok":true}`, Reply{Envelope: true, OK: true}},
		{` {"ok":true,"data":[1,2]} `, Reply{Envelope: true, OK: true}},
		{`{"ok":false,"error":"Duplicate sale"}`, Reply{Envelope: true, Message: "Duplicate sale"}},
		{`{"ok":false,"error":{"code":"E1","message":"m"}}`, Reply{Envelope: true, Message: "m", Code: "E1"}},
		{`{"ok":false,"error":{"code":42,"message":"m"}}`, Reply{Envelope: true, Message: "m", Code: "42"}},
		{`{"ok":false,"error":null}`, Reply{Envelope: true}},
		{`{"ok":false,"error":17}`, Reply{Envelope: true, Message: "17"}},
		{`{"error":"no ok field"}`, Reply{}},
		{`null`, Reply{}},
		{`[]`, Reply{}},
		{`<html>`, Reply{}},
		{`{"ok":fal`, Reply{}},
		{``, Reply{}},
	}
	for _, tt := range tests {
		if got := Decode([]byte(tt.body)); got != tt.want {
			t.Errorf("Decode(%q) = %+v, want %+v", tt.body, got, tt.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	if got := Excerpt([]byte("  line one\nline\ttwo\x00 "), 100); got != "line one line two" {
		t.Errorf("Excerpt = %q", got)
	}
	long := strings.Repeat("é", 300) // 2 bytes each
	got := Excerpt([]byte(long), 201)
	if !strings.HasSuffix(got, "…") || strings.ContainsRune(got, '\uFFFD') || len(got) > 204 {
		t.Errorf("Excerpt of a long body = %q (%d bytes)", got, len(got))
	}
}
