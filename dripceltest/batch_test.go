package dripceltest_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// TestBatchModes sends batches holding bad sales (duplicates of a stored
// sale or of each other, unknown campaigns, sends or clicks, several kinds)
// under each mode, and checks what is stored and the answer: always the
// first bad sale's refusal, whatever the mode.
func TestBatchModes(t *testing.T) {
	const (
		stored = "27831234567" // stored before each batch
		a, b   = "27631231234", "27821234567"
	)
	good := func(cell string) string { return saleJSON("za", cell) }
	var (
		dup     = good(stored)
		unknown = saleJSON("nope", "27721234567")
		// The server knows send s-za and click k-za of campaign za, and
		// click k-gone of a campaign it does not know.
		unknownSend  = saleBy("send_id", "nope", "27721234567")
		unknownClick = saleBy("click_id", "nope", "27721234567")
		orphanClick  = saleBy("click_id", "k-gone", "27721234567")
		dupByClick   = saleBy("click_id", "k-za", stored)
	)
	const (
		partial = dripceltest.BatchPartial
		atomic  = dripceltest.BatchAtomic
		prefix  = dripceltest.BatchPrefix
	)
	cases := []struct {
		name  string
		body  string
		want  int
		msg   string
		store map[dripceltest.BatchMode][]string // what the batch stores, by mode
	}{
		{"all good", batch(good(a), good(b)), 200, "",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: {a, b}, prefix: {a, b}}},
		{"duplicate in the middle", batch(good(a), dup, good(b)), 409, "Duplicate sale",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"duplicate first", batch(dup, good(a)), 409, "Duplicate sale",
			map[dripceltest.BatchMode][]string{partial: {a}, atomic: nil, prefix: nil}},
		{"repeat inside the batch", batch(good(a), good(b), good(a)), 409, "Duplicate sale",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a, b}}},
		{"unknown campaign in the middle", batch(good(a), unknown, good(b)), 404, "Campaign not found",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"duplicate before unknown campaign", batch(good(a), dup, unknown, good(b)), 409, "Duplicate sale",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"unknown campaign before duplicate", batch(good(a), unknown, dup, good(b)), 404, "Campaign not found",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"malformed sale refuses all", batch(good(a), unknown, `{"campaign_id":"za","cell":"123"}`, good(b)), 400, "Invalid cell",
			map[dripceltest.BatchMode][]string{partial: nil, atomic: nil, prefix: nil}},
		{"through a send and a click", batch(saleBy("send_id", "s-za", a), saleBy("click_id", "k-za", b)), 200, "",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: {a, b}, prefix: {a, b}}},
		{"unknown send in the middle", batch(good(a), unknownSend, good(b)), 404, "Send not found",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"unknown click first", batch(unknownClick, good(a)), 404, "Click not found",
			map[dripceltest.BatchMode][]string{partial: {a}, atomic: nil, prefix: nil}},
		{"click of an unknown campaign", batch(good(a), orphanClick, good(b)), 404, "Campaign not found",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"unknown click before duplicate", batch(good(a), unknownClick, dup, good(b)), 404, "Click not found",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"duplicate before unknown send", batch(good(a), dup, unknownSend, good(b)), 409, "Duplicate sale",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"duplicate through a click", batch(good(a), dupByClick, good(b)), 409, "Duplicate sale",
			map[dripceltest.BatchMode][]string{partial: {a, b}, atomic: nil, prefix: {a}}},
		{"two identifiers refuse all", batch(good(a), unknownSend, `{"campaign_id":"za","click_id":"k-za","cell":"27721234567"}`, good(b)),
			400, "Sale 2: exactly one of campaign_id, send_id or click_id is required",
			map[dripceltest.BatchMode][]string{partial: nil, atomic: nil, prefix: nil}},
	}
	for _, tc := range cases {
		for _, mode := range []dripceltest.BatchMode{partial, atomic, prefix} {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				srv := start(t, dripceltest.WithBatchMode(mode),
					dripceltest.WithSends(dripceltest.Send{ID: "s-za", CampaignID: "za"}),
					dripceltest.WithClicks(dripceltest.Click{ID: "k-za", CampaignID: "za"},
						dripceltest.Click{ID: "k-gone", CampaignID: "gone"}))
				if r := postSales(t, srv, batch(good(stored))); r.status != 200 {
					t.Fatalf("earlier sale: %d %s", r.status, r.body)
				}
				got := postSales(t, srv, tc.body)
				wantEnvelope(t, got, tc.want)
				if tc.msg != "" && got.body != errorBody(tc.msg) {
					t.Errorf("body %s, want the error %q", got.body, tc.msg)
				}
				want := append([]string{stored}, tc.store[mode]...)
				if cells := storedCells(srv); !slices.Equal(cells, want) {
					t.Errorf("stored %v, want %v", cells, want)
				}
				reqs := srv.Requests()
				if last := reqs[len(reqs)-1]; last.Status != tc.want || last.Stored != len(tc.store[mode]) {
					t.Errorf("request recorded as %+v, want status %d, %d stored", last, tc.want, len(tc.store[mode]))
				}
			})
		}
	}
}

// TestBatchModesPostback: a postback is a batch of one, the same in every
// mode.
func TestBatchModesPostback(t *testing.T) {
	for _, mode := range []dripceltest.BatchMode{dripceltest.BatchPartial, dripceltest.BatchAtomic, dripceltest.BatchPrefix} {
		srv := start(t, dripceltest.WithBatchMode(mode),
			dripceltest.WithClicks(dripceltest.Click{ID: "k-gone", CampaignID: "gone"}))
		q := url.Values{"campaign_id": {"za"}, "cell": {"27631231234"}, "soldAt": {"2025-05-05"}}
		wantEnvelope(t, getPostback(t, srv, q), http.StatusOK)
		wantEnvelope(t, getPostback(t, srv, q), http.StatusConflict)
		q.Set("campaign_id", "nope")
		wantEnvelope(t, getPostback(t, srv, q), http.StatusNotFound)
		for _, tc := range []struct{ field, id, msg string }{
			{"send_id", "nope", "Send not found"},
			{"click_id", "nope", "Click not found"},
			{"click_id", "k-gone", "Campaign not found"},
		} {
			q := url.Values{tc.field: {tc.id}, "cell": {"27821234567"}, "soldAt": {"2025-05-05"}}
			got := getPostback(t, srv, q)
			wantEnvelope(t, got, http.StatusNotFound)
			if got.body != errorBody(tc.msg) {
				t.Errorf("%v: %s=%s: body %s, want the error %q", mode, tc.field, tc.id, got.body, tc.msg)
			}
		}
		if n := len(srv.Sales()); n != 1 {
			t.Errorf("%v: %d sales stored, want 1", mode, n)
		}
	}
}

func TestBatchModeString(t *testing.T) {
	for m, want := range map[dripceltest.BatchMode]string{
		dripceltest.BatchPartial: "partial", dripceltest.BatchAtomic: "atomic",
		dripceltest.BatchPrefix: "prefix", 7: "BatchMode(7)",
	} {
		if got := m.String(); got != want {
			t.Errorf("%d: %q, want %q", int(m), got, want)
		}
	}
}
