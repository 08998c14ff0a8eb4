package dripceltest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// These tests speak raw HTTP: the client refuses a sale without exactly one
// identifier before sending it, and (for now) one without a campaign_id.

// TestSalesMatchedBySendOrClick: a sale naming only its send or its click
// is stored for that send's or click's campaign, whose country reads its
// local cell and whose default fills its blank value; the send and click
// IDs are kept as sent.
func TestSalesMatchedBySendOrClick(t *testing.T) {
	srv := start(t,
		dripceltest.WithSends(dripceltest.Send{ID: "s-za", CampaignID: "za"}),
		dripceltest.WithClicks(dripceltest.Click{ID: "k-gb", CampaignID: "gb"}))
	// A British local cell, which only the click's campaign reads right
	// (in ZA it is not a valid number at all).
	body := batch(
		`{"send_id":"s-za","cell":"0631231234","soldAt":"2025-05-05"}`,
		`{"click_id":"k-gb","cell":"07911 123456","soldAt":"2025-05-05 10:00:00","saleValue":12.5}`,
		// A blank or spaces-only identifier is absent.
		`{"campaign_id":"  ","send_id":"","click_id":"k-gb","cell":"07911 123457"}`,
		`{"campaign_id":"za","send_id":" \t","click_id":null,"cell":"0821234567"}`)
	if got := postSales(t, srv, body); got.status != 200 || got.body != `{"ok":true}` {
		t.Fatalf("upload: %d %s", got.status, got.body)
	}
	q := url.Values{"click_id": {"k-gb"}, "campaign_id": {" "}, "cell": {"447911123456"}, "soldAt": {"2025-05-06"}}
	if got := getPostback(t, srv, q); got.status != 200 {
		t.Fatalf("postback: %d %s", got.status, got.body)
	}
	want := []dripceltest.Sale{
		{CampaignID: "za", SendID: "s-za", Cell: "27631231234", RawCell: "0631231234", SoldAt: "2025-05-05",
			SaleValue: 50, DefaultValue: true, Via: "upload"},
		{CampaignID: "gb", ClickID: "k-gb", Cell: "447911123456", RawCell: "07911 123456", SoldAt: "2025-05-05 10:00:00",
			SaleValue: 12.5, Via: "upload"},
		{CampaignID: "gb", ClickID: "k-gb", Cell: "447911123457", RawCell: "07911 123457", SoldAt: "2026-03-02 00:30:00",
			SaleValue: 7.5, DefaultValue: true, Via: "upload"},
		{CampaignID: "za", SendID: " \t", Cell: "27821234567", RawCell: "0821234567", SoldAt: "2026-03-02 00:30:00",
			SaleValue: 50, DefaultValue: true, Via: "upload"},
		{CampaignID: "gb", ClickID: "k-gb", Cell: "447911123456", RawCell: "447911123456", SoldAt: "2025-05-06",
			SaleValue: 7.5, DefaultValue: true, Via: "postback"},
	}
	wantSales(t, srv, want)
}

// TestAddSendAndClick: sends and clicks added while the server runs count
// at once; one added again with the same ID replaces the first; a send's
// campaign is looked up when its sale arrives, so it may come later.
func TestAddSendAndClick(t *testing.T) {
	srv := start(t)
	sale := func(field, id, cell string) answer {
		return getPostback(t, srv, url.Values{field: {id}, "cell": {cell}, "soldAt": {"2025-05-05"}})
	}
	if got := sale("click_id", "k1", "27631231234"); got.status != 404 || got.body != errorBody("Click not found") {
		t.Errorf("before AddClick: %d %s", got.status, got.body)
	}
	srv.AddClick(dripceltest.Click{ID: "k1", CampaignID: "za"})
	srv.AddSend(dripceltest.Send{ID: "s1", CampaignID: "later"})
	if got := sale("click_id", "k1", "27631231234"); got.status != 200 {
		t.Errorf("after AddClick: %d %s", got.status, got.body)
	}
	if got := sale("send_id", "s1", "27821234567"); got.status != 404 || got.body != errorBody("Campaign not found") {
		t.Errorf("send of a campaign not yet added: %d %s", got.status, got.body)
	}
	srv.AddCampaign(dripceltest.Campaign{ID: "later", Country: "ZA", DefaultSaleValue: 3})
	if got := sale("send_id", "s1", "27821234567"); got.status != 200 {
		t.Errorf("after AddCampaign: %d %s", got.status, got.body)
	}
	srv.AddClick(dripceltest.Click{ID: "k1", CampaignID: "gb"})
	if got := sale("click_id", "k1", "447911123456"); got.status != 200 {
		t.Errorf("after the click moved: %d %s", got.status, got.body)
	}
	want := []dripceltest.Sale{
		{CampaignID: "za", ClickID: "k1", Cell: "27631231234", RawCell: "27631231234", SoldAt: "2025-05-05",
			SaleValue: 50, DefaultValue: true, Via: "postback"},
		{CampaignID: "later", SendID: "s1", Cell: "27821234567", RawCell: "27821234567", SoldAt: "2025-05-05",
			SaleValue: 3, DefaultValue: true, Via: "postback"},
		{CampaignID: "gb", ClickID: "k1", Cell: "447911123456", RawCell: "447911123456", SoldAt: "2025-05-05",
			SaleValue: 7.5, DefaultValue: true, Via: "postback"},
	}
	wantSales(t, srv, want)
}

// TestDuplicateAcrossIdentifiers: the duplicate rule (cell, campaign,
// soldAt date) reads the campaign a sale resolved to, however it named it.
func TestDuplicateAcrossIdentifiers(t *testing.T) {
	srv := start(t,
		dripceltest.WithSends(dripceltest.Send{ID: "s-za", CampaignID: "za"}),
		dripceltest.WithClicks(dripceltest.Click{ID: "k-za", CampaignID: "za"}, dripceltest.Click{ID: "k-gb", CampaignID: "gb"}))
	steps := []struct {
		what string
		body string
		want int
	}{
		{"by click", batch(`{"click_id":"k-za","cell":"0631231234","soldAt":"2025-05-05 09:00:00"}`), 200},
		{"by campaign, same cell, campaign and date", batch(`{"campaign_id":"za","cell":"27631231234","soldAt":"2025-05-05 17:00:00"}`), 409},
		{"by send, same cell, campaign and date", batch(saleBy("send_id", "s-za", "27631231234")), 409},
		{"by campaign, the next day", batch(`{"campaign_id":"za","cell":"27631231234","soldAt":"2025-05-06"}`), 200},
		{"by click, the next day", batch(`{"click_id":"k-za","cell":"27631231234","soldAt":"2025-05-06"}`), 409},
		// The same cell and date for another campaign is another sale.
		{"by another campaign's click", batch(`{"click_id":"k-gb","cell":"+27631231234","soldAt":"2025-05-05"}`), 200},
		// Inside one batch too.
		{"by send then by campaign in one batch",
			batch(saleBy("send_id", "s-za", "27821234567"), saleBy("campaign_id", "za", "0821234567")), 409},
	}
	for _, st := range steps {
		got := postSales(t, srv, st.body)
		wantEnvelope(t, got, st.want)
		if st.want == 409 && got.body != errorBody("Duplicate sale") {
			t.Errorf("%s: body %s", st.what, got.body)
		}
		if got.status != st.want {
			t.Errorf("%s: %d %s, want %d", st.what, got.status, got.body, st.want)
		}
	}
	// The postback follows the same rule.
	q := url.Values{"campaign_id": {"gb"}, "cell": {"27631231234"}, "soldAt": {"2025-05-05"}}
	if got := getPostback(t, srv, q); got.status != 409 || got.body != errorBody("Duplicate sale") {
		t.Errorf("postback by campaign after a sale by its click: %d %s", got.status, got.body)
	}
	var got []string
	for _, s := range srv.Sales() {
		got = append(got, s.CampaignID+" "+s.Cell+" "+s.SoldAt)
	}
	want := []string{"za 27631231234 2025-05-05 09:00:00", "za 27631231234 2025-05-06",
		"gb 27631231234 2025-05-05", "za 27821234567 2025-05-05"}
	if len(got) != len(want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sale %d stored as %q, want %q", i, got[i], want[i])
		}
	}
}

// TestExactlyOneIdentifier: a sale naming none of campaign_id, send_id and
// click_id, or more than one, is malformed: 400 before any lookup, the
// whole upload refused in every batch mode.
func TestExactlyOneIdentifier(t *testing.T) {
	const msg = "exactly one of campaign_id, send_id or click_id is required"
	good := saleJSON("za", "27631231234")
	uploads := []struct {
		name, sale, msg string
	}{
		{"campaign and click", `{"campaign_id":"za","click_id":"k-za","cell":"27821234567"}`, msg},
		{"campaign and send", `{"campaign_id":"za","send_id":"s-za","cell":"27821234567"}`, msg},
		{"send and click", `{"send_id":"s-za","click_id":"k-za","cell":"27821234567"}`, msg},
		{"all three", `{"campaign_id":"za","send_id":"s-za","click_id":"k-za","cell":"27821234567"}`, msg},
		// Two identifiers are malformed even when one of them is unknown:
		// no lookup decides it.
		{"campaign and unknown send", `{"campaign_id":"za","send_id":"nope","cell":"27821234567"}`, msg},
		{"none", `{"cell":"27821234567","soldAt":"2025-05-05"}`, msg},
		{"none but blanks", `{"campaign_id":"","send_id":"   ","click_id":"\t","cell":"27821234567"}`, msg},
		{"none but null", `{"campaign_id":null,"cell":"27821234567"}`, msg},
		{"no cell", `{"click_id":"k-za","soldAt":"2025-05-05"}`, "cell is required"},
	}
	for _, mode := range []dripceltest.BatchMode{dripceltest.BatchPartial, dripceltest.BatchAtomic, dripceltest.BatchPrefix} {
		srv := start(t, dripceltest.WithBatchMode(mode),
			dripceltest.WithSends(dripceltest.Send{ID: "s-za", CampaignID: "za"}),
			dripceltest.WithClicks(dripceltest.Click{ID: "k-za", CampaignID: "za"}))
		for _, tc := range uploads {
			// The bad sale is the third, after a good one and one of an
			// unknown campaign: neither is stored, and the 400 wins.
			got := postSales(t, srv, batch(good, saleJSON("nope", "27721234567"), tc.sale))
			wantEnvelope(t, got, http.StatusBadRequest)
			if want := errorBody("Sale 2: " + tc.msg); got.body != want {
				t.Errorf("%v: upload %s: body %s, want %s", mode, tc.name, got.body, want)
			}
			reqs := srv.Requests()
			if last := reqs[len(reqs)-1]; last.Status != 400 || last.Sales != 3 || last.Stored != 0 {
				t.Errorf("%v: upload %s recorded as %+v", mode, tc.name, last)
			}
		}
		if n := len(srv.Sales()); n != 0 {
			t.Errorf("%v: %d sales stored from refused uploads", mode, n)
		}
	}

	srv := start(t,
		dripceltest.WithSends(dripceltest.Send{ID: "s-za", CampaignID: "za"}),
		dripceltest.WithClicks(dripceltest.Click{ID: "k-za", CampaignID: "za"}))
	postbacks := []struct {
		name string
		q    url.Values
		msg  string
	}{
		{"campaign and click", url.Values{"campaign_id": {"za"}, "click_id": {"k-za"}, "cell": {"27821234567"}}, msg},
		{"send and click", url.Values{"send_id": {"s-za"}, "click_id": {"k-za"}, "cell": {"27821234567"}}, msg},
		{"all three", url.Values{"campaign_id": {"za"}, "send_id": {"s-za"}, "click_id": {"k-za"}, "cell": {"27821234567"}}, msg},
		{"none", url.Values{"cell": {"27821234567"}}, msg},
		{"none but blanks", url.Values{"campaign_id": {""}, "send_id": {"  "}, "cell": {"27821234567"}}, msg},
		{"no cell", url.Values{"send_id": {"s-za"}}, "cell is required"},
	}
	for _, tc := range postbacks {
		got := getPostback(t, srv, tc.q)
		wantEnvelope(t, got, http.StatusBadRequest)
		if want := errorBody(tc.msg); got.body != want {
			t.Errorf("postback %s: body %s, want %s", tc.name, got.body, want)
		}
	}
	if n := len(srv.Sales()); n != 0 {
		t.Errorf("%d sales stored from refused postbacks", n)
	}
}

// wantSales checks the stored sales against want, in order.
func wantSales(t *testing.T, srv *dripceltest.Server, want []dripceltest.Sale) {
	t.Helper()
	got := srv.Sales()
	if len(got) != len(want) {
		t.Fatalf("stored %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sale %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
