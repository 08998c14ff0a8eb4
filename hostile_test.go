package dripcel_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// hostileValues are strings that break naive query building, header
// building or JSON: separators, escapes, line breaks, a forged key
// parameter, non-ASCII text and a 10 KB value.
func hostileValues() []string {
	long := strings.Repeat("&=#%\n🙂", 1138) // 9 bytes a unit: just over 10 KB
	return []string{
		"a&b=c",
		"x&key=forged",
		"#fragment",
		"100%",
		"%2541%zz",
		"+27 63 123 1234",
		"line\nbreak\r\nX-Injected: yes",
		"tab\tand \"quotes\" and \\backslash",
		"ünïcödé 日本語 🙂 \u2028\u2029",
		"\x00\x01\x1f\x7f",
		" padded ",
		long,
	}
}

// decoded is one sale as the server reads it back with the standard
// library: encoding/json for uploads, url.ParseQuery for postbacks.
type decoded struct {
	CampaignID string `json:"campaign_id"`
	SendID     string `json:"send_id"`
	ClickID    string `json:"click_id"`
	Cell       string `json:"cell"`
}

// decodingServer records each sale it receives, and fails the test on any
// sign of injection: a second key, an unknown parameter, a stray header.
func decodingServer(t *testing.T) (*httptest.Server, func() []decoded) {
	t.Helper()
	var mu sync.Mutex
	var got []decoded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sales []decoded
		switch r.Method {
		case http.MethodPost:
			if err := json.NewDecoder(r.Body).Decode(&sales); err != nil {
				t.Errorf("upload body: %v", err)
			}
			if r.Header.Get("Authorization") != "Bearer "+leakKey || r.URL.RawQuery != "" {
				t.Errorf("upload: Authorization %q, query %q", r.Header.Get("Authorization"), r.URL.RawQuery)
			}
		default:
			q, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil {
				t.Errorf("postback query: %v", err)
			}
			if !slices.Equal(q["key"], []string{leakKey}) {
				t.Errorf("key parameter = %q", q["key"])
			}
			for name, vs := range q {
				if len(vs) != 1 || !slices.Contains([]string{"key", "campaign_id", "send_id", "click_id", "cell"}, name) {
					t.Errorf("query parameter %q = %q", name, vs)
				}
			}
			sales = []decoded{{q.Get("campaign_id"), q.Get("send_id"), q.Get("click_id"), q.Get("cell")}}
		}
		if r.Header.Get("X-Injected") != "" {
			t.Error("a header was injected")
		}
		mu.Lock()
		got = append(got, sales...)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []decoded {
		mu.Lock()
		defer mu.Unlock()
		return append([]decoded(nil), got...)
	}
}

// Hostile campaign IDs, send IDs, click IDs and cells arrive as given
// (identifiers without the spaces around them), through both encodings.
func TestHostileInputsRoundTrip(t *testing.T) {
	t.Parallel()
	var sales []dripcel.Sale
	for _, v := range hostileValues() {
		sales = append(sales,
			dripcel.Sale{CampaignID: v, Cell: "0631231234"},
			dripcel.Sale{SendID: v, Cell: v},
			dripcel.Sale{ClickID: v + "!", Cell: v})
	}
	t.Run("UploadSales", func(t *testing.T) {
		t.Parallel()
		srv, got := decodingServer(t)
		r := newRig(t, srv.URL, dripcel.WithBatchSize(3))
		if err := r.client.UploadSales(context.Background(), sales); err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, sales, got())
	})
	t.Run("Postback", func(t *testing.T) {
		t.Parallel()
		srv, got := decodingServer(t)
		r := newRig(t, srv.URL)
		for _, s := range sales {
			if err := r.client.Postback(context.Background(), s); err != nil {
				t.Fatal(err)
			}
		}
		checkRoundTrip(t, sales, got())
	})
}

func checkRoundTrip(t *testing.T, sent []dripcel.Sale, got []decoded) {
	t.Helper()
	if len(got) != len(sent) {
		t.Fatalf("server decoded %d sales, want %d", len(got), len(sent))
	}
	for i, s := range sent {
		// Identifiers go without the spaces around them; the rest of
		// them, and cells, exactly as given.
		want := decoded{strings.TrimSpace(s.CampaignID), strings.TrimSpace(s.SendID), strings.TrimSpace(s.ClickID), s.Cell}
		if got[i] != want {
			t.Errorf("sale %d arrived as\n%q\nwant\n%q", i, got[i], want)
		}
	}
}

// Defect fixed: a SoldAt outside years 1-9999 was sent as "10000-01-01",
// which is not the YYYY-MM-DD Dripcel reads. It is now refused unsent.
func TestSoldAtYearOutOfRange(t *testing.T) {
	t.Parallel()
	srv, got := decodingServer(t)
	r := newRig(t, srv.URL)
	for _, at := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)} {
		s := dripcel.Sale{CampaignID: "camp-1", Cell: "0631231234", SoldAt: at}
		for _, err := range []error{r.client.Postback(context.Background(), s), r.client.UploadSales(context.Background(), []dripcel.Sale{s})} {
			var ve *dripcel.ValidationError
			if !errors.As(err, &ve) || ve.Field != "soldAt" {
				t.Errorf("SoldAt %v: err = %v, want a ValidationError for soldAt", at, err)
			}
		}
	}
	if n := len(got()); n != 0 {
		t.Errorf("%d sales sent", n)
	}
}
