package dripcel_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jarcoal/httpmock"
)

func TestPostbackWireFormat(t *testing.T) {
	c, mt := mockClient(t)
	var req *http.Request
	mt.RegisterResponder(http.MethodGet, "https://dripcel.test/prefix/sales/create", func(r *http.Request) (*http.Response, error) {
		req = r
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})

	s := dripcel.Sale{
		Cell: "27112223333", ClickID: "a&b=c d",
		SoldAt:    time.Date(2025, 10, 14, 9, 2, 51, 0, time.UTC),
		SaleValue: dripcel.Value(1e6),
	}
	if err := c.Postback(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	raw := req.URL.RawQuery
	if !strings.Contains(raw, "soldAt=2025-10-14%2009%3A02%3A51") {
		t.Errorf("soldAt not encoded as in Dripcel's example: %s", raw)
	}
	if strings.Contains(raw, "+") {
		t.Errorf("query uses '+' for spaces: %s", raw)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"key": {canaryKey}, "cell": {"27112223333"},
		"click_id": {"a&b=c d"}, "soldAt": {"2025-10-14 09:02:51"}, "saleValue": {"1000000"},
	}
	if q.Encode() != want.Encode() {
		t.Errorf("query\n got %v\nwant %v", q, want)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("postback sends an Authorization header")
	}
	if req.Body != nil && req.ContentLength > 0 {
		t.Error("postback sends a body")
	}
}

func TestPostbackOmitsEmptyFieldsAndSendsZeroValue(t *testing.T) {
	c, mt := mockClient(t)
	var q url.Values
	mt.RegisterResponder(http.MethodGet, "https://dripcel.test/prefix/sales/create", func(r *http.Request) (*http.Response, error) {
		q = r.URL.Query()
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})
	if err := c.Postback(context.Background(), dripcel.Sale{CampaignID: "c", Cell: "27631231234",
		SoldAt: time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC), SaleValue: dripcel.Value(0)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"send_id", "click_id"} {
		if q.Has(k) {
			t.Errorf("empty %s sent", k)
		}
	}
	if q.Get("saleValue") != "0" || q.Get("soldAt") != "2025-10-14" {
		t.Errorf("saleValue %q soldAt %q", q.Get("saleValue"), q.Get("soldAt"))
	}
	if err := c.Postback(context.Background(), dripcel.Sale{CampaignID: "c", Cell: "27631231234"}); err != nil {
		t.Fatal(err)
	}
	if q.Has("saleValue") || q.Has("soldAt") {
		t.Errorf("unset saleValue or soldAt sent: %v", q)
	}
}

func TestPostbackValidation(t *testing.T) {
	c, mt := mockClient(t)
	err := c.Postback(context.Background(), dripcel.Sale{CampaignID: "c"})
	if !errors.Is(err, dripcel.ErrInvalidSale) || !strings.Contains(err.Error(), "cell is required") {
		t.Errorf("err = %v", err)
	}
	var ve *dripcel.ValidationError
	if !errors.As(err, &ve) || ve.Index != -1 || ve.Field != "cell" {
		t.Errorf("ValidationError = %+v", ve)
	}
	if mt.GetTotalCallCount() != 0 {
		t.Error("invalid postback was sent")
	}
}

// With WithCellRegion, a cell too short for a mobile number of the region
// is refused before anything is sent, though phonenumbers calls it valid.
func TestPostbackRefusesShortCell(t *testing.T) {
	c, mt := mockClient(t, dripcel.WithCellRegion("ZA"))
	for _, cell := range []string{"0821234", "082 123 456", "27821234"} {
		err := c.Postback(context.Background(), dripcel.Sale{CampaignID: "c", Cell: cell})
		if !errors.Is(err, dripcel.ErrInvalidSale) || !errors.Is(err, dripcel.ErrInvalidCell) {
			t.Errorf("cell %q: err = %v, want ErrInvalidSale and ErrInvalidCell", cell, err)
			continue
		}
		if want := `cell "` + cell + `" is not a valid ZA number: too short for a mobile number in ZA`; !strings.Contains(err.Error(), want) {
			t.Errorf("cell %q: err = %q, want it to contain %q", cell, err, want)
		}
		if verr := c.Validate(dripcel.Sale{CampaignID: "c", Cell: cell}); !errors.Is(verr, dripcel.ErrInvalidCell) {
			t.Errorf("Validate(cell %q) = %v, want ErrInvalidCell", cell, verr)
		}
	}
	if mt.GetTotalCallCount() != 0 {
		t.Error("a sale with a short cell was sent")
	}
}
