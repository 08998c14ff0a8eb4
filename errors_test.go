package dripcel_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// call is one of the two API calls, so each status is tested on both.
type call struct {
	name string
	do   func(context.Context, *dripcel.Client) error
}

var calls = []call{
	{"UploadSales", func(ctx context.Context, c *dripcel.Client) error { return c.UploadSales(ctx, salesN(1)) }},
	{"Postback", func(ctx context.Context, c *dripcel.Client) error { return c.Postback(ctx, sale(1)) }},
}

func TestResponseMapping(t *testing.T) {
	tests := []struct {
		name     string
		reply    func(http.ResponseWriter)
		wantErr  bool
		sentinel error
		status   int
		message  string
		requests int
	}{
		{"200 ok", status(200, `{"ok":true}`), false, nil, 0, "", 1},
		{"200 ok with data", status(200, `{"ok":true,"data":{"inserted":1}}`), false, nil, 0, "", 1},
		// Only Dripcel's envelope is a verdict: any other page is retried
		// and then reported as not from Dripcel, never as a success or a
		// refusal.
		{"200 empty body", status(200, ``), true, dripcel.ErrNotFromDripcel, 200, "OK", 4},
		{"201 not JSON", status(201, `created`), true, dripcel.ErrNotFromDripcel, 201, "Created", 4},
		{"204", status(204, ``), true, dripcel.ErrNotFromDripcel, 204, "No Content", 4},
		{"200 HTML", status(200, `<html>login</html>`), true, dripcel.ErrNotFromDripcel, 200, "OK", 4},
		{"200 cut off", status(200, `{"ok":fa`), true, dripcel.ErrNotFromDripcel, 200, "OK", 4},
		{"200 ok as a string", status(200, `{"ok":"false"}`), true, dripcel.ErrNotFromDripcel, 200, "OK", 4},
		{"200 JSON without ok", status(200, `{"data":1}`), true, dripcel.ErrNotFromDripcel, 200, "OK", 4},
		{"404 ok true", status(404, `{"ok":true}`), true, dripcel.ErrNotFromDripcel, 404, "Not Found", 4},
		{"200 ok false", status(200, `{"ok":false,"error":"Something odd"}`), true, nil, 200, "Something odd", 1},
		{"200 ok false duplicate", status(200, `{"ok":false,"error":"Duplicate sale"}`), true, dripcel.ErrDuplicateSale, 200, "Duplicate sale", 1},
		{"404", status(404, `{"ok":false,"error":"Campaign not found"}`), true, dripcel.ErrCampaignNotFound, 404, "Campaign not found", 1},
		{"409", status(409, `{"ok":false,"error":"Duplicate sale"}`), true, dripcel.ErrDuplicateSale, 409, "Duplicate sale", 1},
		{"409 error object", status(409, `{"ok":false,"error":{"code":"DUPLICATE","message":"Duplicate sale"}}`), true, dripcel.ErrDuplicateSale, 409, "Duplicate sale", 1},
		{"401 object numeric code", status(401, `{"ok":false,"error":{"code":401,"message":"Invalid key"}}`), true, dripcel.ErrUnauthorized, 401, "Invalid key", 1},
		{"403 text", status(403, `Forbidden`), true, dripcel.ErrUnauthorized, 403, "Forbidden", 1},
		{"404 HTML", status(404, `<html><body>nginx</body></html>`), true, dripcel.ErrNotFromDripcel, 404, "Not Found", 4},
		{"405 HTML", status(405, `<html>Method Not Allowed</html>`), true, dripcel.ErrNotFromDripcel, 405, "Method Not Allowed", 4},
		{"410 HTML", status(410, `<html>Gone</html>`), true, dripcel.ErrNotFromDripcel, 410, "Gone", 4},
		{"400 HTML", status(400, `<html>Bad Request</html>`), true, dripcel.ErrNotFromDripcel, 400, "Bad Request", 4},
		{"409 empty", status(409, ``), true, dripcel.ErrNotFromDripcel, 409, "Conflict", 4},
		{"409 truncated JSON", status(409, `{"ok":false,"err`), true, dripcel.ErrNotFromDripcel, 409, "Conflict", 4},
		{"400", status(400, `{"ok":false,"error":"cell is invalid"}`), true, nil, 400, "cell is invalid", 1},
		{"501 not retried", status(501, `{"ok":false,"error":"Not implemented"}`), true, nil, 501, "Not implemented", 1},
		{"500 retried then kept", status(500, `oops`), true, nil, 500, "Internal Server Error", 4},
		{"429 retried then rate limited", status(429, `{"ok":false,"error":"Too many requests"}`), true, dripcel.ErrRateLimited, 429, "Too many requests", 1 + dripcel.DefaultMaxRateLimitWaits},
	}
	for _, cl := range calls {
		for _, tt := range tests {
			t.Run(cl.name+"/"+tt.name, func(t *testing.T) {
				srv := newRecordingServer(t, tt.reply)
				var logs logBuffer
				c, err := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), fastRetries, dripcel.WithLogger(logs.logger()))
				if err != nil {
					t.Fatal(err)
				}
				err = cl.do(context.Background(), c)
				assertNoKey(t, err, logs.String())
				if got := len(srv.requests()); got != tt.requests {
					t.Errorf("%d requests, want %d", got, tt.requests)
				}
				if !tt.wantErr {
					if err != nil {
						t.Fatalf("err = %v, want nil", err)
					}
					if f := dripcel.FateOf(err); f != dripcel.Recorded {
						t.Errorf("FateOf = %v, want recorded", f)
					}
					return
				}
				// The one classifier agrees with the sentinel.
				want := dripcel.NotDelivered
				switch {
				case errors.Is(tt.sentinel, dripcel.ErrDuplicateSale):
					want = dripcel.AlreadyRecorded
				case errors.Is(tt.sentinel, dripcel.ErrCampaignNotFound), tt.sentinel == nil && (tt.status == 200 || tt.status == 400):
					want = dripcel.Refused
				}
				if f := dripcel.FateOf(err); f != want {
					t.Errorf("FateOf = %v, want %v", f, want)
				}
				var apiErr *dripcel.APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v, want an *APIError", err)
				}
				if apiErr.StatusCode != tt.status || apiErr.Message != tt.message || apiErr.Attempts != tt.requests {
					t.Errorf("APIError status %d message %q attempts %d, want %d %q %d",
						apiErr.StatusCode, apiErr.Message, apiErr.Attempts, tt.status, tt.message, tt.requests)
				}
				for _, s := range []error{dripcel.ErrCampaignNotFound, dripcel.ErrDuplicateSale, dripcel.ErrUnauthorized, dripcel.ErrRateLimited, dripcel.ErrInvalidSale, dripcel.ErrNotFromDripcel} {
					if got := errors.Is(err, s); got != errors.Is(tt.sentinel, s) {
						t.Errorf("errors.Is(err, %v) = %v", s, got)
					}
				}
			})
		}
	}
}

func TestHugeErrorBodyIsNotHeld(t *testing.T) {
	huge := strings.Repeat("<p>error</p>", 20<<20/12)
	for _, cl := range calls {
		t.Run(cl.name, func(t *testing.T) {
			srv := newRecordingServer(t, status(400, huge))
			c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL(srv.URL), testBudget)
			err := cl.do(context.Background(), c)
			var apiErr *dripcel.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
				t.Fatalf("err = %v", err)
			}
			if n := len(err.Error()); n > 1024 {
				t.Errorf("error string is %d bytes", n)
			}
			if !strings.HasPrefix(apiErr.Body, "<p>error</p>") {
				t.Errorf("Body excerpt = %q", apiErr.Body)
			}
		})
	}
}

func TestAPIErrorMessage(t *testing.T) {
	e := &dripcel.APIError{StatusCode: 429, Message: "Too many requests", Method: "POST",
		URL: "https://api.dripcel.com/sales", Attempts: 4, RetryAfter: 120e9}
	want := "dripcel: POST https://api.dripcel.com/sales: 429 Too many requests after 4 attempts (retry after 2m0s)"
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant %q", e.Error(), want)
	}
}

func TestValidationErrorMatchesCellSentinelOnlyForCells(t *testing.T) {
	cellErr := &dripcel.ValidationError{Index: 3, Field: "cell", Reason: "bad", Err: dripcel.ErrInvalidCell}
	if !errors.Is(cellErr, dripcel.ErrInvalidSale) || !errors.Is(cellErr, dripcel.ErrInvalidCell) {
		t.Error("cell validation error does not match both sentinels")
	}
	other := &dripcel.ValidationError{Index: 3, Field: "campaign_id", Reason: "is required"}
	if errors.Is(other, dripcel.ErrInvalidCell) {
		t.Error("campaign_id error matches ErrInvalidCell")
	}
}
