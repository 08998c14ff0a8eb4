package dripcel_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jarcoal/httpmock"
)

func TestUploadSalesWireFormat(t *testing.T) {
	c, mt := mockClient(t, dripcel.WithUserAgent("shop/2.1"))
	var body []byte
	var header http.Header
	var rawURL string
	mt.RegisterResponder(http.MethodPost, "https://dripcel.test/prefix/sales", func(req *http.Request) (*http.Response, error) {
		body, _ = io.ReadAll(req.Body)
		header = req.Header.Clone()
		rawURL = req.URL.String()
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})

	jhb := time.FixedZone("SAST", 2*60*60)
	sales := []dripcel.Sale{
		{CampaignID: "c1", Cell: "0111111111"},
		{SendID: "s1", Cell: "27111111112",
			SoldAt: time.Date(2023, 2, 14, 0, 0, 0, 0, time.UTC), SaleValue: dripcel.Value(100)},
		{CampaignID: "c1", Cell: "27111111113", SoldAt: time.Date(2025, 10, 14, 9, 2, 51, 0, jhb), SaleValue: dripcel.Value(1e6)},
		{CampaignID: "c1", Cell: "27111111114", SaleValue: dripcel.Value(0)},
		{CampaignID: "c1", Cell: "27111111115", SaleValue: dripcel.Value(99.95)},
	}
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}

	want := `[{"campaign_id":"c1","cell":"0111111111"},` +
		`{"send_id":"s1","cell":"27111111112","soldAt":"2023-02-14","saleValue":100},` +
		`{"campaign_id":"c1","cell":"27111111113","soldAt":"2025-10-14 09:02:51","saleValue":1000000},` +
		`{"campaign_id":"c1","cell":"27111111114","saleValue":0},` +
		`{"campaign_id":"c1","cell":"27111111115","saleValue":99.95}]`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if got := header.Get("Authorization"); got != "Bearer "+canaryKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if ua := header.Get("User-Agent"); !strings.Contains(ua, "dripcel-go/"+dripcel.Version) || !strings.HasSuffix(ua, " shop/2.1") {
		t.Errorf("User-Agent = %q", ua)
	}
	if strings.Contains(rawURL, canaryKey) || strings.Contains(rawURL, "?") {
		t.Errorf("upload URL carries a query: %s", rawURL)
	}
}

func TestUploadSalesEmptySendsNothing(t *testing.T) {
	c, mt := mockClient(t)
	for _, sales := range [][]dripcel.Sale{nil, {}} {
		if err := c.UploadSales(context.Background(), sales); err != nil {
			t.Errorf("UploadSales(%v) = %v", sales, err)
		}
	}
	if n := mt.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests sent for an empty upload", n)
	}
}

func TestUploadSalesValidation(t *testing.T) {
	tests := []struct {
		name    string
		bad     dripcel.Sale
		wantMsg string
		cell    bool
	}{
		{"no identifier", dripcel.Sale{Cell: "27631231234"}, "sale 37: campaign_id, send_id or click_id is required: set exactly one", false},
		{"blank identifiers", dripcel.Sale{CampaignID: "  ", SendID: "\t", ClickID: " \n", Cell: "27631231234"},
			"sale 37: campaign_id, send_id or click_id is required", false},
		{"campaign and click", dripcel.Sale{CampaignID: "c", ClickID: "k", Cell: "27631231234"},
			"sale 37: campaign_id, send_id or click_id must be exactly one, not campaign_id and click_id: Dripcel refuses a sale naming more than one", false},
		{"send and click", dripcel.Sale{SendID: "s", ClickID: "k", Cell: "27631231234"},
			"must be exactly one, not send_id and click_id", false},
		{"all three", dripcel.Sale{CampaignID: "c", SendID: "s", ClickID: "k", Cell: "27631231234"},
			"must be exactly one, not all three", false},
		{"no cell", dripcel.Sale{CampaignID: "c"}, "sale 37: cell is required", false},
		{"NaN value", dripcel.Sale{CampaignID: "c", Cell: "27631231234", SaleValue: dripcel.Value(math.NaN())}, "sale 37: saleValue must be a finite number", false},
		{"Inf value", dripcel.Sale{CampaignID: "c", Cell: "27631231234", SaleValue: dripcel.Value(math.Inf(-1))}, "sale 37: saleValue must be a finite number", false},
		{"bad cell with region", dripcel.Sale{CampaignID: "c", Cell: "12345"}, `sale 37: cell "12345" is not a valid ZA number`, true},
		// phonenumbers takes it for a valid ZA mobile; ZA cells have 9 digits.
		{"short cell with region", dripcel.Sale{CampaignID: "c", Cell: "082 123 456"},
			`sale 37: cell "082 123 456" is not a valid ZA number: too short for a mobile number in ZA`, true},
		{"short international cell with region", dripcel.Sale{CampaignID: "c", Cell: "+27821234"},
			`sale 37: cell "+27821234" is not a valid international number: too short for a mobile number in ZA`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mt := mockClient(t, dripcel.WithCellRegion("ZA"))
			sales := salesN(50)
			sales[37] = tt.bad
			err := c.UploadSales(context.Background(), sales)
			if !errors.Is(err, dripcel.ErrInvalidSale) {
				t.Fatalf("err = %v, want ErrInvalidSale", err)
			}
			if errors.Is(err, dripcel.ErrInvalidCell) != tt.cell {
				t.Errorf("errors.Is(err, ErrInvalidCell) = %v, want %v", !tt.cell, tt.cell)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			var ve *dripcel.ValidationError
			if !errors.As(err, &ve) || ve.Index != 37 {
				t.Errorf("ValidationError = %+v, want index 37", ve)
			}
			if n := mt.GetTotalCallCount(); n != 0 {
				t.Errorf("%d requests sent despite an invalid sale", n)
			}
		})
	}
}

func TestUploadSalesReportsEveryInvalidSale(t *testing.T) {
	c, _ := mockClient(t)
	sales := salesN(10)
	sales[2].Cell = ""
	sales[7].CampaignID = ""
	err := c.UploadSales(context.Background(), sales)
	for _, want := range []string{"sale 2: cell is required", "sale 7: campaign_id, send_id or click_id is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
}

func TestUploadSalesValidationErrorIsBounded(t *testing.T) {
	c, mt := mockClient(t)
	sales := salesN(100000)
	for i := range sales {
		sales[i].Cell = ""
	}
	err := c.UploadSales(context.Background(), sales)
	if !errors.Is(err, dripcel.ErrInvalidSale) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "sale 0: cell is required") || !strings.Contains(msg, "sale 99: cell is required") ||
		strings.Contains(msg, "sale 100:") || !strings.Contains(msg, "and 99900 more invalid sales") {
		t.Errorf("error does not name the first 100 and count the rest: %.300s … %s", msg, msg[max(0, len(msg)-100):])
	}
	if len(msg) > 10000 {
		t.Errorf("error text is %d bytes for 100000 bad sales", len(msg))
	}
	if mt.GetTotalCallCount() != 0 {
		t.Error("sales were sent")
	}
}

func TestUploadSalesBatchesInOrder(t *testing.T) {
	c, mt := mockClient(t, dripcel.WithBatchSize(200))
	var got [][]map[string]any
	mt.RegisterResponder(http.MethodPost, "https://dripcel.test/prefix/sales", func(req *http.Request) (*http.Response, error) {
		var batch []map[string]any
		if err := json.NewDecoder(req.Body).Decode(&batch); err != nil {
			t.Error(err)
		}
		got = append(got, batch)
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})
	sales := salesN(450)
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	sizes := []int{}
	next := 0
	for _, b := range got {
		sizes = append(sizes, len(b))
		for _, s := range b {
			if s["cell"] != sales[next].Cell {
				t.Fatalf("sale %d sent as %v, want cell %s", next, s, sales[next].Cell)
			}
			next++
		}
	}
	if len(sizes) != 3 || sizes[0] != 200 || sizes[1] != 200 || sizes[2] != 50 {
		t.Errorf("batch sizes %v, want [200 200 50]", sizes)
	}
}

func TestUploadSalesDefaultBatchesStayUnder100KB(t *testing.T) {
	c, mt := mockClient(t)
	var sizes []int
	mt.RegisterResponder(http.MethodPost, "https://dripcel.test/prefix/sales", func(req *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(req.Body)
		sizes = append(sizes, len(b))
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})
	// Long IDs: 200 of these would be about 330 KB in one body.
	sales := salesN(1000)
	for i := range sales {
		sales[i].CampaignID = ""
		sales[i].ClickID = strings.Repeat("k", 1600)
	}
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	for i, n := range sizes {
		if n > dripcel.DefaultMaxBatchBytes {
			t.Errorf("request %d body is %d bytes, over %d", i, n, dripcel.DefaultMaxBatchBytes)
		}
	}
	if len(sizes) < 1000*1600/dripcel.DefaultMaxBatchBytes {
		t.Errorf("%d requests for ~1.6 MB of sales: batches were not cut by size", len(sizes))
	}
}

// A batch refused for its content does not stop the upload, and is sent
// again in parts until each sale has its own answer: the server here refuses
// any request holding sale 2 (a duplicate) or sale 5 (an unknown campaign),
// and stores nothing of a refused request.
func TestUploadSalesPartialFailure(t *testing.T) {
	c, mt := mockClient(t, dripcel.WithBatchSize(2))
	dup, unknown := `"cell":"`+sale(2).Cell+`"`, `"cell":"`+sale(5).Cell+`"`
	var bodies []string
	mt.RegisterResponder(http.MethodPost, "https://dripcel.test/prefix/sales", func(req *http.Request) (*http.Response, error) {
		raw, _ := io.ReadAll(req.Body)
		body := string(raw)
		bodies = append(bodies, body)
		switch {
		case strings.Contains(body, dup):
			return httpmock.NewStringResponse(http.StatusConflict, `{"ok":false,"error":"Duplicate sale"}`), nil
		case strings.Contains(body, unknown):
			return httpmock.NewStringResponse(http.StatusNotFound, `{"ok":false,"error":"Campaign not found"}`), nil
		}
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})
	err := c.UploadSales(context.Background(), salesN(8))
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UploadError", err)
	}
	// Four batches, and two of them sent again as two requests each.
	if len(bodies) != 4+2+2 {
		t.Errorf("%d requests, want 8: content refusals must not stop the upload", len(bodies))
	}
	// A refused sale is not in Dripcel: the upload's error must not read
	// as "Dripcel has them all".
	if errors.Is(err, dripcel.ErrDuplicateSale) || !errors.Is(err, dripcel.ErrCampaignNotFound) {
		t.Errorf("err %v: matches ErrDuplicateSale %v (want false), ErrCampaignNotFound %v (want true)", err,
			errors.Is(err, dripcel.ErrDuplicateSale), errors.Is(err, dripcel.ErrCampaignNotFound))
	}
	if errors.Is(err, dripcel.ErrUnauthorized) || errors.Is(err, dripcel.ErrNotFromDripcel) {
		t.Error("err matches ErrUnauthorized or ErrNotFromDripcel")
	}
	if got := ue.Failed(); !slices.Equal(got, []int{2, 5}) {
		t.Errorf("Failed() = %v, want [2 5]", got)
	}
	for i, o := range ue.Outcomes() {
		want := dripcel.Recorded
		switch i {
		case 2:
			want = dripcel.AlreadyRecorded
		case 5:
			want = dripcel.Refused
		}
		if o.Fate != want || (o.Err == nil) != (want == dripcel.Recorded) {
			t.Errorf("sale %d: %v (%v), want %v", i, o.Fate, o.Err, want)
		}
	}
	if ue.Total != 8 || ue.Count(dripcel.Recorded) != 6 || ue.Count(dripcel.AlreadyRecorded) != 1 || ue.Count(dripcel.Refused) != 1 {
		t.Errorf("Total %d, counts %d %d %d", ue.Total, ue.Count(dripcel.Recorded), ue.Count(dripcel.AlreadyRecorded), ue.Count(dripcel.Refused))
	}
	var apiErr *dripcel.APIError
	if !errors.As(ue.Outcome(2).Err, &apiErr) || apiErr.StatusCode != http.StatusConflict || !apiErr.FromDripcel {
		t.Errorf("sale 2's APIError = %+v", apiErr)
	}
	if !strings.Contains(err.Error(), "2 of 8 sales not recorded by this upload (1 already recorded, 1 refused)") {
		t.Errorf("err = %q", err)
	}
}

func TestUploadSalesStopsOnAuthFailure(t *testing.T) {
	c, mt := mockClient(t, dripcel.WithBatchSize(3))
	n := 0
	mt.RegisterResponder(http.MethodPost, "https://dripcel.test/prefix/sales", func(req *http.Request) (*http.Response, error) {
		n++
		if n == 2 {
			return httpmock.NewStringResponse(http.StatusUnauthorized, `{"ok":false,"error":"Invalid API key"}`), nil
		}
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})
	err := c.UploadSales(context.Background(), salesN(10))
	if n != 2 {
		t.Errorf("%d requests after an auth failure, want 2", n)
	}
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if len(ue.Batches) != 2 {
		t.Fatalf("batches %+v", ue.Batches)
	}
	refused, unsent := ue.Batches[0], ue.Batches[1]
	if refused.First != 3 || refused.Last != 5 || !refused.Sent {
		t.Errorf("refused batch %+v", refused)
	}
	if unsent.First != 6 || unsent.Last != 9 || unsent.Sent {
		t.Errorf("unsent batch %+v", unsent)
	}
}

func TestUploadSalesStopsWhenRetriesRunOut(t *testing.T) {
	c, mt := mockClient(t, dripcel.WithBatchSize(1), dripcel.WithMaxRetries(2))
	mt.RegisterResponder(http.MethodPost, "https://dripcel.test/prefix/sales",
		httpmock.NewStringResponder(http.StatusServiceUnavailable, "down"))
	err := c.UploadSales(context.Background(), salesN(3))
	if got := mt.GetTotalCallCount(); got != 3 {
		t.Errorf("%d requests, want 3 (one batch, 1 + 2 retries)", got)
	}
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || ue.NotAccepted() != 3 || ue.Batches[len(ue.Batches)-1].Sent {
		t.Fatalf("err = %v", err)
	}
	var apiErr *dripcel.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Attempts != 3 {
		t.Errorf("APIError = %+v", apiErr)
	}
}

func TestUploadSalesCancelledContextSendsNothing(t *testing.T) {
	c, mt := mockClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.UploadSales(ctx, salesN(3))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := mt.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests after cancel", n)
	}
}

func TestCellRegionConvertsBeforeSending(t *testing.T) {
	c, mt := mockClient(t, dripcel.WithCellRegion("za"))
	var got []map[string]any
	mt.RegisterResponder(http.MethodPost, "https://dripcel.test/prefix/sales", func(req *http.Request) (*http.Response, error) {
		_ = json.NewDecoder(req.Body).Decode(&got)
		return httpmock.NewStringResponse(http.StatusOK, `{"ok":true}`), nil
	})
	sales := []dripcel.Sale{
		{CampaignID: "c", Cell: "063 123 1234"},
		{CampaignID: "c", Cell: "+27 82 123 4567"},
		{CampaignID: "c", Cell: "27721234567"},
	}
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"27631231234", "27821234567", "27721234567"} {
		if got[i]["cell"] != want {
			t.Errorf("sale %d cell = %v, want %s", i, got[i]["cell"], want)
		}
	}
	if sales[0].Cell != "063 123 1234" {
		t.Error("UploadSales modified the caller's slice")
	}
}
