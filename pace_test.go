package dripcel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
	"golang.org/x/time/rate"
)

// The server's limit is Dripcel's scaled down in time, 20 requests a second
// instead of 50 a minute, so the test runs in about half a second. Its burst
// of 4 absorbs the scheduling jitter of a loaded machine: a client spaced at
// the rate never needs more than 2.
const (
	pacePerSecond = 20
	paceBurst     = 4
	paceBatches   = 12
)

func pacedUpload(t *testing.T, opts ...dripcel.Option) (*dripceltest.Server, error) {
	t.Helper()
	srv := streamServer(t, dripceltest.WithRateLimit(pacePerSecond*60, paceBurst))
	c := streamClient(t, srv, append([]dripcel.Option{dripcel.WithBatchSize(1)}, opts...)...)
	sales := make([]dripcel.Sale, paceBatches)
	for i := range sales {
		sales[i] = streamSale(i)
	}
	return srv, c.UploadSales(context.Background(), sales)
}

func TestRateLimitedUploadProvokesNo429(t *testing.T) {
	srv, err := pacedUpload(t, dripcel.WithRateLimit(pacePerSecond, time.Second))
	if err != nil {
		t.Fatalf("paced upload failed: %v", err)
	}
	if n := srv.RateLimited(); n != 0 {
		t.Errorf("server answered 429 %d times to a paced upload", n)
	}
	if got := len(srv.Sales()); got != paceBatches {
		t.Errorf("server stored %d sales, want %d", got, paceBatches)
	}
}

// Without the client's pacing the same upload runs into the server's
// limit: this shows the test above can fail. The 429s are waited out.
func TestUnpacedUploadIsRateLimited(t *testing.T) {
	srv, err := pacedUpload(t, dripcel.WithoutPacing())
	if err != nil {
		t.Fatalf("upload failed: %v", err)
	}
	if srv.RateLimited() == 0 {
		t.Error("server never answered 429")
	}
}

func TestRateLimitWaitPastDeadlineFailsAtOnce(t *testing.T) {
	srv := streamServer(t)
	c := streamClient(t, srv, dripcel.WithRateLimit(1, time.Hour))
	if err := c.Postback(context.Background(), streamSale(1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.Postback(ctx, streamSale(2))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if ctx.Err() != nil {
		t.Error("the call waited for the deadline instead of failing at once")
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestRateLimitWaitEndsWithContext(t *testing.T) {
	srv := streamServer(t)
	lim := rate.NewLimiter(rate.Every(time.Hour), 1)
	lim.Allow() // use up the only token
	c := streamClient(t, srv, dripcel.WithRateLimiter(lim))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.UploadSales(ctx, []dripcel.Sale{streamSale(1)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestWithRateLimitRejectsNonsense(t *testing.T) {
	for _, opt := range []dripcel.Option{
		dripcel.WithRateLimit(0, time.Minute),
		dripcel.WithRateLimit(50, 0),
		dripcel.WithMaxRateLimitWaits(-1),
		dripcel.WithRateLimiter(nil),
	} {
		if _, err := dripcel.NewClient("key", opt); err == nil {
			t.Error("option accepted")
		}
	}
}
