package dripcel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// today is a soldAt date within any retention.
func today() time.Time {
	y, m, d := time.Now().Date()
	return time.Date(y, m, d, 9, 30, 0, 0, time.UTC)
}

// datedSales are n sales with a soldAt, which the ledger can hold.
func datedSales(n int) []dripcel.Sale {
	sales := salesN(n)
	for i := range sales {
		sales[i].SoldAt = today()
	}
	return sales
}

func ledgerServer(t *testing.T, opts ...dripceltest.Option) *dripceltest.Server {
	t.Helper()
	opts = append([]dripceltest.Option{dripceltest.WithKey(canaryKey),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"})}, opts...)
	return dripceltest.NewServer(t, opts...)
}

func openLedger(t *testing.T, opts ...dripcel.FileLedgerOption) *dripcel.FileLedger {
	t.Helper()
	l, err := dripcel.OpenFileLedger(filepath.Join(t.TempDir(), "ledger.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func ledgerClient(t *testing.T, url string, l dripcel.Ledger, opts ...dripcel.Option) *dripcel.Client {
	t.Helper()
	opts = append([]dripcel.Option{dripcel.WithBaseURL(url), fastRetries, dripcel.WithLedger(l)}, opts...)
	c, err := dripcel.NewClient(canaryKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requestsDuring counts the requests srv answers while fn runs.
func requestsDuring(srv *dripceltest.Server, fn func()) int {
	before := len(srv.Requests())
	fn()
	return len(srv.Requests()) - before
}

// wantAllKnown checks that err settles every one of n sales from the
// ledger.
func wantAllKnown(t *testing.T, err error, n int) {
	t.Helper()
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want an *UploadError", err)
	}
	if ue.Total != n || ue.Count(dripcel.AlreadyRecorded) != n {
		t.Fatalf("%d of %d sales already recorded, want all %d: %v", ue.Count(dripcel.AlreadyRecorded), ue.Total, n, err)
	}
	if !errors.Is(err, dripcel.ErrKnownFromLedger) || !errors.Is(err, dripcel.ErrDuplicateSale) {
		t.Errorf("err = %v, want it to match ErrKnownFromLedger and ErrDuplicateSale", err)
	}
	for i, o := range ue.Outcomes() {
		if !errors.Is(o.Err, dripcel.ErrKnownFromLedger) {
			t.Fatalf("sale %d: %v, want known from the ledger", i, o.Err)
		}
	}
}

// The same upload a second time costs no request: every sale is settled
// from the ledger, with an error that says so. Both upload paths, one batch
// at a time and four.
func TestLedgerUploadAgainCostsNothing(t *testing.T) {
	for _, tc := range []struct {
		stream      bool
		concurrency int
	}{{false, 1}, {true, 1}, {false, 4}, {true, 4}} {
		stream := tc.stream
		t.Run(fmt.Sprintf("stream=%v/concurrency=%d", stream, tc.concurrency), func(t *testing.T) {
			srv := ledgerServer(t)
			l := openLedger(t)
			c := ledgerClient(t, srv.URL, l, dripcel.WithConcurrency(tc.concurrency))
			sales := datedSales(5000)
			upload := func() error {
				if stream {
					return c.UploadSalesSeq(context.Background(), func(yield func(dripcel.Sale, error) bool) {
						for _, s := range sales {
							if !yield(s, nil) {
								return
							}
						}
					})
				}
				return c.UploadSales(context.Background(), sales)
			}
			if err := upload(); err != nil {
				t.Fatal(err)
			}
			if n, _ := l.Len(); n != len(sales) {
				t.Fatalf("ledger holds %d sales, want %d", n, len(sales))
			}
			var err error
			if n := requestsDuring(srv, func() { err = upload() }); n != 0 {
				t.Errorf("second upload sent %d requests, want 0", n)
			}
			wantAllKnown(t, err, len(sales))
			if len(srv.Sales()) != len(sales) {
				t.Errorf("server holds %d sales, want %d", len(srv.Sales()), len(sales))
			}
		})
	}
}

// Part of an upload known: only the rest is sent, and each sale has its
// own outcome at its own index, with repeats within the upload settled too.
func TestLedgerPartKnown(t *testing.T) {
	srv := ledgerServer(t)
	c := ledgerClient(t, srv.URL, openLedger(t))
	sales := datedSales(3000)
	var odd []dripcel.Sale
	for i := 1; i < len(sales); i += 2 {
		odd = append(odd, sales[i])
	}
	if err := c.UploadSales(context.Background(), odd); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(sales), sales[1], sales[2]) // 3000 repeats a known sale, 3001 a new one
	err := c.UploadSales(context.Background(), all)
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	for i, o := range ue.Outcomes() {
		switch {
		case i < 3000 && i%2 == 1:
			if !errors.Is(o.Err, dripcel.ErrKnownFromLedger) {
				t.Fatalf("sale %d: %v %v, want known from the ledger", i, o.Fate, o.Err)
			}
		case i < 3000:
			if o.Fate != dripcel.Recorded {
				t.Fatalf("sale %d: %v %v, want recorded", i, o.Fate, o.Err)
			}
		default:
			if o.Fate != dripcel.AlreadyRecorded {
				t.Fatalf("sale %d (a repeat): %v, want already recorded", i, o.Fate)
			}
		}
	}
	if len(srv.Sales()) != len(sales) {
		t.Errorf("server holds %d sales, want %d", len(srv.Sales()), len(sales))
	}
}

// An upload stopped early (a 401) reports known sales as known, the others
// after the stop as not sent.
func TestLedgerKnownSalesOfAStoppedUpload(t *testing.T) {
	srv := ledgerServer(t)
	c := ledgerClient(t, srv.URL, openLedger(t), dripcel.WithMaxBatchBytes(2000))
	sales := datedSales(60)
	if err := c.UploadSales(context.Background(), []dripcel.Sale{sales[40], sales[41], sales[50]}); err != nil {
		t.Fatal(err)
	}
	srv.Fail(1, 401)
	err := c.UploadSales(context.Background(), sales)
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || !errors.Is(err, dripcel.ErrUnauthorized) {
		t.Fatalf("err = %v, want an upload stopped by a 401", err)
	}
	for i, o := range ue.Outcomes() {
		known := i == 40 || i == 41 || i == 50
		if known != errors.Is(o.Err, dripcel.ErrKnownFromLedger) || !known && o.Fate != dripcel.NotDelivered {
			t.Errorf("sale %d: %v %v", i, o.Fate, o.Err)
		}
	}
}

// Postback consults the ledger and records Dripcel's answers: recorded, and
// already recorded.
func TestLedgerPostback(t *testing.T) {
	srv := ledgerServer(t)
	l := openLedger(t)
	c := ledgerClient(t, srv.URL, l)
	s := datedSales(2)
	ctx := context.Background()
	if err := c.Postback(ctx, s[0]); err != nil {
		t.Fatal(err)
	}
	var err error
	if n := requestsDuring(srv, func() { err = c.Postback(ctx, s[0]) }); n != 0 {
		t.Errorf("postback of a known sale sent %d requests", n)
	}
	if !errors.Is(err, dripcel.ErrKnownFromLedger) || !errors.Is(err, dripcel.ErrDuplicateSale) || dripcel.FateOf(err) != dripcel.AlreadyRecorded {
		t.Errorf("postback of a known sale: %v (fate %v)", err, dripcel.FateOf(err))
	}
	// Dripcel has s[1] from another client: its 409 is remembered.
	other := ledgerClient(t, srv.URL, openLedger(t))
	if err := other.Postback(ctx, s[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.Postback(ctx, s[1]); dripcel.FateOf(err) != dripcel.AlreadyRecorded || errors.Is(err, dripcel.ErrKnownFromLedger) {
		t.Fatalf("postback of a sale Dripcel has: %v, want Dripcel's own 409", err)
	}
	if n := requestsDuring(srv, func() { err = c.UploadSales(ctx, s) }); n != 0 {
		t.Errorf("upload of sales known from postbacks sent %d requests", n)
	}
	wantAllKnown(t, err, 2)
}

// A Reporter's client with a ledger settles known sales without sending
// them, and counts them as duplicates.
func TestLedgerReporter(t *testing.T) {
	srv := ledgerServer(t)
	l := openLedger(t)
	c := ledgerClient(t, srv.URL, l)
	sales := datedSales(500)
	if err := c.UploadSales(context.Background(), sales[:300]); err != nil {
		t.Fatal(err)
	}
	r, err := dripcel.NewReporter(c, dripcel.WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 10*time.Second)
	before := len(srv.Requests())
	for _, s := range sales {
		if err := r.Report(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Sent != 200 || st.Duplicates != 300 {
		t.Errorf("sent %d, duplicates %d; want 200 and 300", st.Sent, st.Duplicates)
	}
	// The Reporter's first claim may come before every Report: the new
	// sales can go in more than one request, but the known ones in none.
	sent := 0
	for _, q := range srv.Requests()[before:] {
		sent += q.Sales
		if q.Status == http.StatusConflict {
			t.Errorf("a request answered 409: a sale the ledger holds was sent")
		}
	}
	if sent != 200 {
		t.Errorf("%d sales sent, want the 200 the ledger does not hold", sent)
	}
	if n, _ := l.Len(); n != 500 {
		t.Errorf("ledger holds %d sales, want 500", n)
	}
}

// One ledger file serves several organisations, and a test server beside
// the real one: a sale is known only to the key and base URL that had it
// confirmed. The file holds neither the key nor a cell.
func TestLedgerScopedByOrganisation(t *testing.T) {
	l := openLedger(t)
	srv := ledgerServer(t)
	other := ledgerServer(t, dripceltest.WithKey("another-organisation-key"))
	sales := datedSales(100)
	ctx := context.Background()
	if err := ledgerClient(t, srv.URL, l).UploadSales(ctx, sales); err != nil {
		t.Fatal(err)
	}
	c2, err := dripcel.NewClient("another-organisation-key", dripcel.WithBaseURL(other.URL), fastRetries, dripcel.WithLedger(l))
	if err != nil {
		t.Fatal(err)
	}
	if n := requestsDuring(other, func() { err = c2.UploadSales(ctx, sales) }); err != nil || n == 0 {
		t.Fatalf("another organisation's upload: %d requests, %v; want its sales sent", n, err)
	}
	// The same key at another base URL is another scope; a trailing slash
	// names the same base URL.
	k := mustKey(t, ledgerClient(t, srv.URL, l), sales[0])
	if mustKey(t, ledgerClient(t, srv.URL+"/", l), sales[0]) != k {
		t.Error("a trailing slash changed the ledger key")
	}
	if mustKey(t, ledgerClient(t, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), l), sales[0]) == k {
		t.Error("two base URLs share a ledger key")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{canaryKey, "another-organisation-key", sales[0].Cell, sales[99].Cell, "camp-1"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the ledger file holds %q", secret)
		}
	}
}

func mustKey(t *testing.T, c *dripcel.Client, s dripcel.Sale) dripcel.LedgerKey {
	t.Helper()
	k, ok := c.LedgerKey(s)
	if !ok {
		t.Fatalf("no ledger key for %+v", s)
	}
	return k
}

// The key is Dripcel's duplicate rule: the identifier and its kind, the
// cell as sent, the soldAt date (not its clock).
func TestLedgerKeyFollowsTheDuplicateRule(t *testing.T) {
	c := ledgerClient(t, "http://127.0.0.1:1", openLedger(t), dripcel.WithCellRegion("ZA"))
	base := dripcel.Sale{CampaignID: "camp-1", Cell: "0631231234", SoldAt: time.Date(2025, 10, 14, 9, 0, 0, 0, time.UTC), SaleValue: dripcel.Value(5)}
	k := mustKey(t, c, base)
	same := base
	same.Cell, same.SoldAt, same.SaleValue, same.Ref = "27631231234", base.SoldAt.Add(3*time.Hour), nil, "order-9"
	if mustKey(t, c, same) != k {
		t.Error("the same cell as sent, date and campaign give another key")
	}
	for name, s := range map[string]dripcel.Sale{
		"other day":      {CampaignID: "camp-1", Cell: base.Cell, SoldAt: base.SoldAt.AddDate(0, 0, 1)},
		"other campaign": {CampaignID: "camp-2", Cell: base.Cell, SoldAt: base.SoldAt},
		"send, same id":  {SendID: "camp-1", Cell: base.Cell, SoldAt: base.SoldAt},
		"other cell":     {CampaignID: "camp-1", Cell: "0631231235", SoldAt: base.SoldAt},
	} {
		if mustKey(t, c, s) == k {
			t.Errorf("%s: same key", name)
		}
	}
	if _, ok := c.LedgerKey(dripcel.Sale{CampaignID: "camp-1", Cell: base.Cell}); ok {
		t.Error("a sale without soldAt has a ledger key")
	}
}

// A sale without a soldAt is never settled from the ledger: Dripcel stamps
// it with its own "now", so it is sent every time.
func TestLedgerSaleWithoutSoldAtIsSent(t *testing.T) {
	srv := ledgerServer(t)
	l := openLedger(t)
	c := ledgerClient(t, srv.URL, l)
	sales := salesN(10)
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Len(); n != 0 {
		t.Errorf("ledger holds %d sales without soldAt", n)
	}
	var err error
	if n := requestsDuring(srv, func() { err = c.UploadSales(context.Background(), sales) }); n == 0 {
		t.Error("sales without soldAt were not sent again")
	}
	if errors.Is(err, dripcel.ErrKnownFromLedger) {
		t.Errorf("err = %v, want Dripcel's own answers", err)
	}
}

// WithLedgerResend sends the sales the ledger holds, and still records what
// Dripcel answers.
func TestLedgerResend(t *testing.T) {
	srv := ledgerServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic))
	l := openLedger(t)
	sales := datedSales(20)
	if err := ledgerClient(t, srv.URL, l).UploadSales(context.Background(), sales[:10]); err != nil {
		t.Fatal(err)
	}
	c := ledgerClient(t, srv.URL, l, dripcel.WithLedgerResend())
	var err error
	if n := requestsDuring(srv, func() { err = c.UploadSales(context.Background(), sales) }); n == 0 {
		t.Fatal("nothing sent")
	}
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || ue.Count(dripcel.AlreadyRecorded) != 10 || errors.Is(err, dripcel.ErrKnownFromLedger) {
		t.Fatalf("err = %v, want 10 sales answered 409 by Dripcel", err)
	}
	if n, _ := l.Len(); n != 20 {
		t.Errorf("ledger holds %d sales, want 20", n)
	}
}

// faultyLedger wraps a ledger: it fails reads while failHas is set, and
// drops the writes crash says to, as a process killed between Dripcel's
// answer and the write would.
type faultyLedger struct {
	dripcel.Ledger
	mu      sync.Mutex
	failHas bool
	crash   func(call int) bool
	adds    int
}

func (f *faultyLedger) Has(ctx context.Context, keys []dripcel.LedgerKey) ([]bool, error) {
	f.mu.Lock()
	fail := f.failHas
	f.mu.Unlock()
	if fail {
		return nil, errors.New("disk on fire")
	}
	return f.Ledger.Has(ctx, keys)
}

func (f *faultyLedger) Add(ctx context.Context, keys []dripcel.LedgerKey) error {
	f.mu.Lock()
	f.adds++
	drop := f.crash != nil && f.crash(f.adds)
	f.mu.Unlock()
	if drop {
		return errors.New("the process died before the write")
	}
	return f.Ledger.Add(ctx, keys)
}

// A crash between Dripcel's answer and the ledger's write costs the
// requests in flight and nothing else: sent again, those sales are answered
// 409, settled AlreadyRecorded and then remembered. Nothing is stored
// twice, and nothing is lost.
func TestLedgerCrashBetweenAnswerAndWrite(t *testing.T) {
	srv := ledgerServer(t)
	var logs logBuffer
	fl := &faultyLedger{Ledger: openLedger(t), crash: func(call int) bool { return call == 3 }}
	c := ledgerClient(t, srv.URL, fl, dripcel.WithMaxBatchBytes(10_000), dripcel.WithLogger(logs.logger()))
	sales := datedSales(300) // 5 requests of at most 10,000 bytes
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	first := len(srv.Requests())
	if !strings.Contains(logs.String(), "writing to the ledger failed") {
		t.Errorf("the failed write was not logged:\n%s", logs.String())
	}
	// The third request's sales are not in the ledger: only they are sent,
	// in one request answered 409, then settled one by one.
	err := c.UploadSales(context.Background(), sales)
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || ue.Count(dripcel.AlreadyRecorded) != len(sales) || ue.Count(dripcel.NotDelivered) != 0 {
		t.Fatalf("err = %v, want every sale already recorded", err)
	}
	lost := len(sales) - countKnown(ue)
	reqs := srv.Requests()[first:]
	if lost == 0 || lost > len(sales)/2 || reqs[0].Status != 409 || reqs[0].Sales != lost {
		t.Fatalf("%d sales not known after the crash; first request %+v", lost, reqs[0])
	}
	if n := requestsDuring(srv, func() { err = c.UploadSales(context.Background(), sales) }); n != 0 {
		t.Errorf("third upload sent %d requests, want 0", n)
	}
	wantAllKnown(t, err, len(sales))
	if len(srv.Sales()) != len(sales) {
		t.Errorf("server holds %d sales, want %d", len(srv.Sales()), len(sales))
	}
	assertNoKey(t, err, logs.String())
}

func countKnown(ue *dripcel.UploadError) int {
	n := 0
	for _, o := range ue.Outcomes() {
		if errors.Is(o.Err, dripcel.ErrKnownFromLedger) {
			n++
		}
	}
	return n
}

// A ledger that cannot be read costs requests, never a sale: the sales are
// sent and Dripcel's 409 settles them.
func TestLedgerReadFailureSends(t *testing.T) {
	srv := ledgerServer(t)
	var logs logBuffer
	fl := &faultyLedger{Ledger: openLedger(t)}
	c := ledgerClient(t, srv.URL, fl, dripcel.WithLogger(logs.logger()))
	sales := datedSales(50)
	if err := c.UploadSales(context.Background(), sales); err != nil {
		t.Fatal(err)
	}
	fl.mu.Lock()
	fl.failHas = true
	fl.mu.Unlock()
	err := c.UploadSales(context.Background(), sales)
	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || ue.Count(dripcel.AlreadyRecorded) != len(sales) || errors.Is(err, dripcel.ErrKnownFromLedger) {
		t.Fatalf("err = %v, want Dripcel's 409 for every sale", err)
	}
	if !strings.Contains(logs.String(), "reading the ledger failed") {
		t.Errorf("the failed read was not logged:\n%s", logs.String())
	}
	if err := c.Postback(context.Background(), sales[0]); dripcel.FateOf(err) != dripcel.AlreadyRecorded || errors.Is(err, dripcel.ErrKnownFromLedger) {
		t.Errorf("postback: %v, want Dripcel's 409", err)
	}
}

// Entries expire by soldAt date: a sale dated before the retention is
// neither found nor written, and old entries are deleted as the ledger is
// written to.
func TestLedgerExpiry(t *testing.T) {
	l := openLedger(t, dripcel.WithRetention(30*24*time.Hour))
	now := time.Now()
	var mu sync.Mutex
	dripcel.SetLedgerClock(l, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	srv := ledgerServer(t)
	c := ledgerClient(t, srv.URL, l)
	ctx := context.Background()

	old := datedSales(10)
	for i := range old {
		old[i].SoldAt = old[i].SoldAt.AddDate(0, 0, -40)
	}
	if err := c.UploadSales(ctx, old); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Len(); n != 0 {
		t.Errorf("ledger holds %d sales dated before its retention", n)
	}
	if l.Remembers(old[0].SoldAt) || l.Remembers(time.Time{}) {
		t.Error("Remembers says the ledger keeps a sale dated before its retention, or one without a date")
	}
	recent := datedSales(20)[10:]
	if !l.Remembers(recent[0].SoldAt) {
		t.Errorf("Remembers(%s) = false for a sale within the retention", recent[0].SoldAt)
	}
	if err := c.UploadSales(ctx, recent); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Len(); n != 10 {
		t.Fatalf("ledger holds %d sales, want 10", n)
	}
	// 31 days later the recent sales are past the retention: not found,
	// and deleted at the next write.
	mu.Lock()
	now = now.AddDate(0, 0, 31)
	mu.Unlock()
	keys := make([]dripcel.LedgerKey, len(recent))
	for i := range recent {
		keys[i] = mustKey(t, c, recent[i])
	}
	held, err := l.Has(ctx, keys)
	if err != nil || slices.Contains(held, true) {
		t.Errorf("expired sales found: %v %v", held, err)
	}
	if l.Remembers(recent[0].SoldAt) {
		t.Error("Remembers says the ledger keeps a sale now past its retention")
	}
	fresh := datedSales(21)[20:]
	fresh[0].SoldAt = now
	if err := l.Add(ctx, []dripcel.LedgerKey{mustKey(t, c, fresh[0])}); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Len(); n != 1 {
		t.Errorf("ledger holds %d sales after pruning, want 1", n)
	}
}

// A ledger file is one process's at a time, and a file that is not a
// ledger is refused untouched.
func TestFileLedgerRefuses(t *testing.T) {
	dir := t.TempDir()
	l, err := dripcel.OpenFileLedger(filepath.Join(dir, "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dripcel.OpenFileLedger(filepath.Join(dir, "l.db")); err == nil {
		t.Error("a ledger in use was opened twice")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "l.db"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("ledger file mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	l, err = dripcel.OpenFileLedger(filepath.Join(dir, "l.db"))
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	_ = l.Close()
	foreign := filepath.Join(dir, "notes.txt")
	content := bytes.Repeat([]byte("not a ledger\n"), 1000)
	if err := os.WriteFile(foreign, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dripcel.OpenFileLedger(foreign); err == nil {
		t.Error("a text file was opened as a ledger")
	}
	if got, _ := os.ReadFile(foreign); !bytes.Equal(got, content) {
		t.Error("the refused file was changed")
	}
	// A spool is bbolt too, but not a ledger.
	spool := filepath.Join(dir, "spool.db")
	c, _ := dripcel.NewClient(canaryKey, dripcel.WithBaseURL("http://127.0.0.1:1"))
	r, err := dripcel.NewReporter(c, dripcel.WithSpool(spool))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := dripcel.OpenFileLedger(spool); err == nil {
		t.Error("a spool was opened as a ledger")
	}
	if _, err := dripcel.NewClient(canaryKey, dripcel.WithLedger(nil)); err == nil {
		t.Error("WithLedger(nil) accepted")
	}
	var never *dripcel.FileLedger // a typed nil, as a ledger variable never opened is
	var ledger dripcel.Ledger = never
	if _, err := dripcel.NewClient(canaryKey, dripcel.WithLedger(ledger)); err == nil {
		t.Error("WithLedger of a nil *FileLedger accepted")
	}
	if _, err := dripcel.OpenFileLedger(filepath.Join(dir, "x.db"), dripcel.WithRetention(0)); err == nil {
		t.Error("WithRetention(0) accepted")
	}
}
