package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// guideServer is a fake Dripcel as its integration guide describes it: a
// campaign with one send and one click, a sale matched by exactly one of
// them, and a sale with a negative value refused.
func guideServer(t *testing.T, mode dripceltest.BatchMode) *dripceltest.Server {
	t.Helper()
	return dripceltest.NewServer(t,
		dripceltest.WithBatchMode(mode),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA", DefaultSaleValue: 10}),
		dripceltest.WithSends(dripceltest.Send{ID: "send-1", CampaignID: "camp-1"}),
		dripceltest.WithClicks(dripceltest.Click{ID: "click-1", CampaignID: "camp-1"}),
		dripceltest.WithSaleCheck(func(s dripceltest.Sale) error {
			if s.SaleValue < 0 {
				return errors.New("saleValue must not be negative")
			}
			return nil
		}))
}

func guideClient(t *testing.T, srv *dripceltest.Server, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	c, err := dripcel.NewClient(srv.Key, append([]dripcel.Option{dripcel.WithBaseURL(srv.URL), fastRetries}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seqOf(sales []dripcel.Sale) iter.Seq2[dripcel.Sale, error] {
	return func(yield func(dripcel.Sale, error) bool) {
		for _, s := range sales {
			if !yield(s, nil) {
				return
			}
		}
	}
}

// TestEachIdentifierAlone: a sale named by its campaign, its send or its
// click is stored for the campaign through every path, and a blank (spaces
// only) identifier beside it is not sent: the guide's server refuses a sale
// naming two with 400.
func TestEachIdentifierAlone(t *testing.T) {
	day := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	sales := []dripcel.Sale{
		{CampaignID: "camp-1", Cell: "27821000001", SoldAt: day},
		{SendID: "send-1", Cell: "27821000002", SoldAt: day, ClickID: "  "},
		{ClickID: "click-1", Cell: "27821000003", SoldAt: day, CampaignID: "\t"},
	}
	paths := map[string]func(context.Context, *dripcel.Client, []dripcel.Sale) error{
		"UploadSales": func(ctx context.Context, c *dripcel.Client, s []dripcel.Sale) error { return c.UploadSales(ctx, s) },
		"UploadSalesSeq": func(ctx context.Context, c *dripcel.Client, s []dripcel.Sale) error {
			return c.UploadSalesSeq(ctx, seqOf(s))
		},
		"Postback": func(ctx context.Context, c *dripcel.Client, s []dripcel.Sale) error {
			for _, sale := range s {
				if err := c.Postback(ctx, sale); err != nil {
					return err
				}
			}
			return nil
		},
		"Reporter": func(ctx context.Context, c *dripcel.Client, s []dripcel.Sale) error {
			r, err := dripcel.NewReporter(c)
			if err != nil {
				return err
			}
			for _, sale := range s {
				if err := r.Report(ctx, sale); err != nil {
					return err
				}
			}
			return r.Close(ctx)
		},
	}
	for name, send := range paths {
		t.Run(name, func(t *testing.T) {
			srv := guideServer(t, dripceltest.BatchPartial)
			if err := send(within(t, 10*time.Second), guideClient(t, srv), sales); err != nil {
				t.Fatal(err)
			}
			stored := srv.Sales()
			if len(stored) != len(sales) {
				t.Fatalf("stored %d sales, want %d", len(stored), len(sales))
			}
			for i, s := range stored {
				if s.CampaignID != "camp-1" {
					t.Errorf("sale %d stored for campaign %q", i, s.CampaignID)
				}
			}
			if stored[1].SendID != "send-1" || stored[2].ClickID != "click-1" {
				t.Errorf("send and click arrived as %q and %q", stored[1].SendID, stored[2].ClickID)
			}
		})
	}
}

// TestNoneOrSeveralIdentifiersRefusedBeforeSending: every path refuses a
// sale naming no identifier or more than one with a ValidationError that
// names the fields and the rule, and sends nothing.
func TestNoneOrSeveralIdentifiersRefusedBeforeSending(t *testing.T) {
	bad := map[string]dripcel.Sale{
		"none":               {Cell: "27821000001"},
		"only spaces":        {CampaignID: " ", SendID: "\t", ClickID: "\n", Cell: "27821000001"},
		"campaign and click": {CampaignID: "camp-1", ClickID: "click-1", Cell: "27821000001"},
		"send and click":     {SendID: "send-1", ClickID: "click-1", Cell: "27821000001"},
		"all three":          {CampaignID: "camp-1", SendID: "send-1", ClickID: "click-1", Cell: "27821000001"},
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			srv := guideServer(t, dripceltest.BatchPartial)
			c := guideClient(t, srv)
			ctx := context.Background()
			good := dripcel.Sale{CampaignID: "camp-1", Cell: "27821000009"}
			errs := map[string]error{
				"Validate":       c.Validate(s),
				"Postback":       c.Postback(ctx, s),
				"UploadSales":    c.UploadSales(ctx, []dripcel.Sale{good, s}),
				"UploadSalesSeq": c.UploadSalesSeq(ctx, seqOf([]dripcel.Sale{s})),
			}
			r, err := dripcel.NewReporter(c)
			if err != nil {
				t.Fatal(err)
			}
			errs["Report"] = r.Report(ctx, s)
			if err := r.Close(within(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			for path, err := range errs {
				var ve *dripcel.ValidationError
				if !errors.Is(err, dripcel.ErrInvalidSale) || !errors.As(err, &ve) {
					t.Errorf("%s: err = %v, want a ValidationError", path, err)
					continue
				}
				if !strings.Contains(err.Error(), "campaign_id, send_id or click_id") || !strings.Contains(err.Error(), "exactly one") {
					t.Errorf("%s: %q does not name the fields and the rule", path, err)
				}
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

// TestRepeatOfARefusedSaleIsSentInItsOwnRight: sale a is refused for its
// value; b repeats it (same click, cell and date) with a value Dripcel
// takes. b must not inherit a's refusal: it is sent, alone, and recorded.
// A repeat of a sale refused for an unknown campaign shares that refusal
// without a request, and a repeat of a recorded sale is already recorded.
func TestRepeatOfARefusedSaleIsSentInItsOwnRight(t *testing.T) {
	day := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	sales := []dripcel.Sale{
		{ClickID: "click-1", Cell: "27821000001", SoldAt: day, SaleValue: dripcel.Value(-5)},   // 0 refused
		{CampaignID: "camp-1", Cell: "27821000002", SoldAt: day},                               // 1 recorded
		{ClickID: "click-1", Cell: "27821000001", SoldAt: day, SaleValue: dripcel.Value(250)},  // 2 repeats 0: sent
		{CampaignID: "nope", Cell: "27821000003", SoldAt: day},                                 // 3 campaign not found
		{CampaignID: "nope", Cell: "27821000003", SoldAt: day, SaleValue: dripcel.Value(1)},    // 4 repeats 3
		{CampaignID: "camp-1", Cell: "27821000002", SoldAt: day.Add(time.Hour)},                // 5 repeats 1
		{ClickID: "click-1", Cell: "27821000001", SoldAt: day, SaleValue: dripcel.Value(-1)},   // 6 repeats 0 and 2
		{ClickID: "click-1", Cell: "27821000004", SoldAt: day, SaleValue: dripcel.Value(-1)},   // 7 refused
		{ClickID: "click-1", Cell: "27821000004", SoldAt: day, SaleValue: dripcel.Value(-2)},   // 8 repeats 7: refused
		{ClickID: "click-1", Cell: "27821000004", SoldAt: day, SaleValue: dripcel.Value(3)},    // 9 repeats 7, 8: recorded
		{CampaignID: "camp-1", Cell: "27821000005", SoldAt: day, SaleValue: dripcel.Value(-1)}, // 10 refused
		{SendID: "send-1", Cell: "27821000005", SoldAt: day},                                   // 11 not a repeat of 10 here
	}
	want := []dripcel.Fate{dripcel.Refused, dripcel.Recorded, dripcel.Recorded, dripcel.Refused, dripcel.Refused,
		dripcel.AlreadyRecorded, dripcel.AlreadyRecorded, dripcel.Refused, dripcel.Refused, dripcel.Recorded,
		dripcel.Refused, dripcel.Recorded}
	for _, m := range batchModes {
		mode := m.mode
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/stream=%v", mode, stream), func(t *testing.T) {
				srv := guideServer(t, mode)
				c := guideClient(t, srv)
				var err error
				if stream {
					err = c.UploadSalesSeq(context.Background(), seqOf(sales))
				} else {
					err = c.UploadSales(context.Background(), sales)
				}
				var ue *dripcel.UploadError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want an *UploadError", err)
				}
				// A sale Dripcel stored from a refused batch (partial,
				// prefix) is answered 409 when asked about alone: in
				// Dripcel either way.
				inDripcel := func(f dripcel.Fate) bool { return f == dripcel.Recorded || f == dripcel.AlreadyRecorded }
				for i, o := range ue.Outcomes() {
					if o.Fate != want[i] && (!inDripcel(o.Fate) || !inDripcel(want[i])) {
						t.Errorf("sale %d: %v (%v), want %v", i, o.Fate, o.Err, want[i])
					}
				}
				stored := map[string]float64{}
				for _, s := range srv.Sales() {
					stored[s.Cell] = s.SaleValue
				}
				if v, ok := stored["27821000001"]; !ok || v != 250 {
					t.Errorf("the repeat with value 250 was not stored (stored: %v)", stored)
				}
				if v, ok := stored["27821000004"]; !ok || v != 3 {
					t.Errorf("the second repeat with value 3 was not stored (stored: %v)", stored)
				}
				if len(stored) != 4 {
					t.Errorf("stored %v, want 4 cells", stored)
				}
			})
		}
	}
}

// TestRepeatOfARefusedSaleThroughTheReporter: the Reporter hands the
// refused sale to OnRejected and delivers its repeat.
func TestRepeatOfARefusedSaleThroughTheReporter(t *testing.T) {
	day := time.Date(2025, 10, 14, 0, 0, 0, 0, time.UTC)
	srv := guideServer(t, dripceltest.BatchPartial)
	var rejected []string
	r := newReporter(t, guideClient(t, srv), dripcel.WithOnRejected(func(s dripcel.Sale, err error) {
		rejected = append(rejected, s.Ref)
	}))
	report(t, r,
		dripcel.Sale{ClickID: "click-1", Cell: "27821000001", SoldAt: day, SaleValue: dripcel.Value(-5), Ref: "a"},
		dripcel.Sale{ClickID: "click-1", Cell: "27821000001", SoldAt: day, SaleValue: dripcel.Value(250), Ref: "b"})
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 1 || rejected[0] != "a" {
		t.Errorf("rejected %v, want [a]", rejected)
	}
	if s := srv.Sales(); len(s) != 1 || s[0].SaleValue != 250 {
		t.Errorf("stored %+v, want sale b alone", s)
	}
}

// routeServer answers every request as Dripcel's router does a path it
// does not have: 404 in Dripcel's envelope, naming no campaign, send or
// click.
func routeServer(t *testing.T, msg string) (*dripcel.Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"ok":false,"error":%q}`, msg)
	}))
	t.Cleanup(srv.Close)
	c, err := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL+"/v1"), fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

// TestRouteNotFoundIsNotARefusal: a 404 whose message names nothing a sale
// refers to says the base URL or path is wrong. The upload stops after one
// request, without splitting; every sale is NotDelivered; the error does
// not match ErrCampaignNotFound and says what looks wrong. The same for a
// postback and for the Reporter, which keeps the sales queued.
func TestRouteNotFoundIsNotARefusal(t *testing.T) {
	for _, msg := range []string{"Not found", "Route POST /v1/sales not found", "Cannot find route", "Route POST /campaigns/sales not found"} {
		t.Run(msg, func(t *testing.T) {
			c, n := routeServer(t, msg)
			err := c.UploadSales(context.Background(), salesN(600))
			var ue *dripcel.UploadError
			if !errors.As(err, &ue) || ue.Count(dripcel.NotDelivered) != 600 {
				t.Fatalf("err = %v, want 600 sales not delivered", err)
			}
			if n.Load() != 1 {
				t.Errorf("%d requests, want 1: a wrong path is not split sale by sale", n.Load())
			}
			if errors.Is(err, dripcel.ErrCampaignNotFound) {
				t.Error("a 404 naming no campaign matches ErrCampaignNotFound")
			}
			if !strings.Contains(err.Error(), "base URL or path looks wrong") {
				t.Errorf("error %q does not say the base URL or path looks wrong", err)
			}

			err = c.Postback(context.Background(), sale(1))
			if dripcel.FateOf(err) != dripcel.NotDelivered || errors.Is(err, dripcel.ErrCampaignNotFound) {
				t.Errorf("Postback: %v is %v, want not delivered and not ErrCampaignNotFound", err, dripcel.FateOf(err))
			}

			var rejected atomic.Int64
			r := newReporter(t, c, dripcel.WithOnRejected(func(dripcel.Sale, error) { rejected.Add(1) }))
			report(t, r, sale(1), sale(2))
			flushErr := r.Flush(within(t, 200*time.Millisecond))
			if flushErr == nil {
				t.Error("Flush returned nil with every answer a 404 about the path")
			}
			if st := r.Stats(); st.Rejected != 0 || st.Queued != 2 || rejected.Load() != 0 {
				t.Errorf("Reporter: %d rejected (%d to OnRejected), %d queued; want 0, 0, 2", st.Rejected, rejected.Load(), st.Queued)
			}
		})
	}
	// The 404s that speak of what a sale refers to still refuse it.
	for _, msg := range []string{"Campaign not found", "Send not found", "Click not found", "campaign_id not found"} {
		c, _ := routeServer(t, msg)
		err := c.Postback(context.Background(), sale(1))
		if dripcel.FateOf(err) != dripcel.Refused || !errors.Is(err, dripcel.ErrCampaignNotFound) {
			t.Errorf("%q: %v is %v, want refused and ErrCampaignNotFound", msg, err, dripcel.FateOf(err))
		}
	}
}

// TestErrorTableLosesNothingOnMixedOutcomes follows the README's advice for
// an upload: an error matching ErrDuplicateSale means every sale is in
// Dripcel; otherwise the outcomes say which to send again. With sale 0
// already in Dripcel and sale 1 answered 503, the error must not read as
// "all in Dripcel", and sending the NotDelivered ones again stores both.
func TestErrorTableLosesNothingOnMixedOutcomes(t *testing.T) {
	for _, m := range batchModes {
		mode := m.mode
		t.Run(m.name, func(t *testing.T) {
			srv := guideServer(t, mode)
			c := guideClient(t, srv, dripcel.WithMaxRetries(0))
			ctx := context.Background()
			sales := []dripcel.Sale{sale(0), sale(1)}
			if err := c.Postback(ctx, sales[0]); err != nil {
				t.Fatal(err)
			}
			// The batch is refused for sale 0 (409); split, sale 0 is
			// answered 409 alone and sale 1 meets an outage.
			srv.Pass(2)
			srv.Fail(dripceltest.UntilCleared, http.StatusServiceUnavailable)
			err := c.UploadSales(ctx, sales)
			srv.ClearFaults()
			if errors.Is(err, dripcel.ErrDuplicateSale) {
				t.Fatalf("err %v matches ErrDuplicateSale while sale 1 is not delivered", err)
			}
			// The table's advice, followed literally.
			if !errors.Is(err, dripcel.ErrDuplicateSale) && err != nil {
				var ue *dripcel.UploadError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v", err)
				}
				var again []dripcel.Sale
				for i, o := range ue.Outcomes() {
					if o.Fate == dripcel.NotDelivered {
						again = append(again, sales[i])
					}
				}
				if err := c.UploadSales(ctx, again); err != nil && !errors.Is(err, dripcel.ErrDuplicateSale) {
					t.Fatal(err)
				}
			}
			if got := len(srv.Sales()); got != 2 {
				t.Errorf("Dripcel holds %d of the 2 sales", got)
			}
		})
	}
	// Every sale in Dripcel: the error matches ErrDuplicateSale.
	srv := guideServer(t, dripceltest.BatchAtomic)
	c := guideClient(t, srv)
	if err := c.UploadSales(context.Background(), salesN(3)); err != nil {
		t.Fatal(err)
	}
	if err := c.UploadSales(context.Background(), salesN(3)); !errors.Is(err, dripcel.ErrDuplicateSale) {
		t.Errorf("an upload of sales all in Dripcel: %v, want it to match ErrDuplicateSale", err)
	}
}
