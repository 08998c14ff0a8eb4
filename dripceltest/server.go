// Package dripceltest runs a fake Dripcel Sales API in process, for examples
// and for tests of code that reports sales. It speaks the same wire format as
// Dripcel, keeps what it is sent in memory, and can be told to fail.
//
//	srv := dripceltest.NewServer(t)
//	srv.AddCampaign(dripceltest.Campaign{ID: "c1", Country: "ZA", DefaultSaleValue: 50})
//	c, _ := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL))
//	// ... code under test reports sales through c ...
//	sales := srv.Sales()
//
// What Dripcel documents, and this server does:
//   - POST /sales takes a JSON array of sales with "Authorization: Bearer <key>";
//     GET /sales/create takes one sale in the query string with "key".
//   - Fields campaign_id and cell are required; send_id, click_id, soldAt
//     (YYYY-MM-DD, optionally with HH:MM:SS) and saleValue are optional.
//   - Success is 200 {"ok":true}; an unknown campaign is 404
//     {"ok":false,"error":"Campaign not found"}; a sale with the same cell,
//     campaign_id and soldAt date as a stored one is 409
//     {"ok":false,"error":"Duplicate sale"}.
//   - A local cell is read with the campaign's country; a blank soldAt is
//     "now"; a blank saleValue is the campaign's default.
//
// What Dripcel does not document, and this server assumes:
//   - A wrong or missing key is 401 {"ok":false,"error":"Unauthorized"}.
//   - A malformed body, a missing field, an unreadable cell or date is 400.
//   - A body over 100 KB is 413 (a common limit of Node services).
//   - In a batch, an unknown campaign or a malformed sale refuses the whole
//     batch. A batch holding duplicates stores the rest and answers 409
//     (BatchPartial, the default), or stores nothing (BatchAtomic).
//   - "Now" and the date of a blank soldAt are in South African time.
//
// Faults (errors, Retry-After, delays, dropped connections) are injected
// with Fail, RateLimit, Delay and Drop; each applies to the next requests in
// arrival order.
package dripceltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel"
	"golang.org/x/time/rate"
)

// DefaultKey is the API key a Server accepts unless WithKey says otherwise.
const DefaultKey = "dripceltest-key"

// MaxBodyBytes is the largest upload body the server accepts.
const MaxBodyBytes = 100 << 10

// southAfrica is SAST, UTC+2 all year.
var southAfrica = time.FixedZone("SAST", 2*60*60)

// TB is the part of testing.TB the server uses, so that programs that are
// not tests (examples, demos) can pass their own.
type TB interface {
	Helper()
	Cleanup(func())
}

// BatchMode is how the server treats an upload holding duplicates.
type BatchMode int

const (
	// BatchPartial stores the sales that are not duplicates and answers 409.
	BatchPartial BatchMode = iota
	// BatchAtomic stores nothing from a batch holding a duplicate.
	BatchAtomic
)

// Campaign is a campaign the server knows.
type Campaign struct {
	ID string
	// Country is the ISO 3166 region local cells are read in, e.g. "ZA".
	Country string
	// DefaultSaleValue is used for sales sent without a saleValue.
	DefaultSaleValue float64
}

// Sale is a sale as the server stored it.
type Sale struct {
	CampaignID string
	SendID     string
	ClickID    string
	// Cell is the stored cell in international digits; RawCell is as sent.
	Cell, RawCell string
	// SoldAt is the stored time, as sent or "now" when blank, in the form
	// Dripcel takes ("2025-10-14" or "2025-10-14 09:02:51").
	SoldAt string
	// SaleValue is the value sent, or the campaign default when none was.
	SaleValue float64
	// DefaultValue reports that no saleValue was sent.
	DefaultValue bool
	// Via is "upload" or "postback".
	Via string
}

// Request is one request the server answered.
type Request struct {
	Method string
	// Path is the request path; the query (and so the key) is left out.
	Path   string
	Status int
	// Sales is how many sales the request carried.
	Sales int
}

// Option configures a Server.
type Option func(*Server)

// WithKey sets the API key the server accepts.
func WithKey(key string) Option { return func(s *Server) { s.Key = key } }

// WithCampaigns registers campaigns at start.
func WithCampaigns(cs ...Campaign) Option {
	return func(s *Server) {
		for _, c := range cs {
			s.campaigns[c.ID] = c
		}
	}
}

// WithBatchMode sets how uploads holding duplicates are treated.
func WithBatchMode(m BatchMode) Option { return func(s *Server) { s.batchMode = m } }

// WithClock sets the clock used for blank soldAt values.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Server is a running fake Dripcel. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give dripcel.WithBaseURL.
	URL string
	// Key is the API key the server accepts.
	Key string

	srv       *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	campaigns map[string]Campaign
	sales     []Sale
	seen      map[dedupeKey]bool
	requests  []Request
	faults    []*fault
	batchMode BatchMode
	now       func() time.Time
	limiter   *rate.Limiter // WithRateLimit; nil for no limit
}

type dedupeKey struct{ campaign, cell, date string }

// NewServer starts a server and closes it when the test ends.
func NewServer(tb TB, opts ...Option) *Server {
	tb.Helper()
	s := Start(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server; the caller must Close it.
func Start(opts ...Option) *Server {
	s := &Server{
		Key:       DefaultKey,
		done:      make(chan struct{}),
		campaigns: map[string]Campaign{},
		seen:      map[dedupeKey]bool{},
		now:       time.Now,
	}
	for _, opt := range opts {
		opt(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close stops the server, ending any request held by Delay.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// AddCampaign registers a campaign, or replaces one with the same ID.
func (s *Server) AddCampaign(c Campaign) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.campaigns[c.ID] = c
}

// Sales returns a copy of the stored sales, in the order stored.
func (s *Server) Sales() []Sale {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sale(nil), s.sales...)
}

// Requests returns a copy of the requests answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

type reply struct {
	status int
	err    string
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path}
	if s.rateLimited(w, &rec) {
		return
	}
	if f := s.nextFault(); f != nil {
		if s.applyFault(w, r, f, &rec) {
			return
		}
	}
	var rep reply
	switch r.URL.Path {
	case "/sales":
		if r.Method != http.MethodPost {
			rep = reply{http.StatusMethodNotAllowed, "Method not allowed"}
			break
		}
		rep = s.upload(r, &rec)
	case "/sales/create":
		if r.Method != http.MethodGet {
			rep = reply{http.StatusMethodNotAllowed, "Method not allowed"}
			break
		}
		rep = s.postback(r, &rec)
	default:
		rep = reply{http.StatusNotFound, "Not found"}
	}
	s.write(w, &rec, rep)
}

func (s *Server) write(w http.ResponseWriter, rec *Request, rep reply) {
	rec.Status = rep.status
	s.mu.Lock()
	s.requests = append(s.requests, *rec)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	if rep.status == http.StatusOK {
		_, _ = io.WriteString(w, `{"ok":true}`)
		return
	}
	body, _ := json.Marshal(struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}{false, rep.err})
	_, _ = w.Write(body)
}

// wireSale is a sale as it arrives in an upload body.
type wireSale struct {
	CampaignID *string      `json:"campaign_id"`
	SendID     string       `json:"send_id"`
	ClickID    string       `json:"click_id"`
	Cell       *string      `json:"cell"`
	SoldAt     string       `json:"soldAt"`
	SaleValue  *json.Number `json:"saleValue"`
}

func (s *Server) upload(r *http.Request, rec *Request) reply {
	if r.Header.Get("Authorization") != "Bearer "+s.Key {
		return reply{http.StatusUnauthorized, "Unauthorized"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return reply{http.StatusBadRequest, "Could not read body"}
	}
	if len(body) > MaxBodyBytes {
		return reply{http.StatusRequestEntityTooLarge, "Request entity too large"}
	}
	var in []wireSale
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return reply{http.StatusBadRequest, "Body must be a JSON array of sales"}
	}
	rec.Sales = len(in)
	sales := make([]Sale, len(in))
	for i, ws := range in {
		if ws.CampaignID == nil || ws.Cell == nil {
			return reply{http.StatusBadRequest, fmt.Sprintf("Sale %d: campaign_id and cell are required", i)}
		}
		value := ""
		if ws.SaleValue != nil {
			value = ws.SaleValue.String()
		}
		sale, rep := s.build(*ws.CampaignID, ws.SendID, ws.ClickID, *ws.Cell, ws.SoldAt, value, "upload")
		if rep.status != 0 {
			return rep
		}
		sales[i] = sale
	}
	return s.store(sales)
}

func (s *Server) postback(r *http.Request, rec *Request) reply {
	q := r.URL.Query()
	if q.Get("key") != s.Key {
		return reply{http.StatusUnauthorized, "Unauthorized"}
	}
	rec.Sales = 1
	if !q.Has("campaign_id") || !q.Has("cell") {
		return reply{http.StatusBadRequest, "campaign_id and cell are required"}
	}
	sale, rep := s.build(q.Get("campaign_id"), q.Get("send_id"), q.Get("click_id"), q.Get("cell"),
		q.Get("soldAt"), q.Get("saleValue"), "postback")
	if rep.status != 0 {
		return rep
	}
	return s.store([]Sale{sale})
}

// build checks one sale and fills in what Dripcel fills in. The campaign
// lookup comes first, as a 404 is what Dripcel documents.
func (s *Server) build(campaignID, sendID, clickID, cell, soldAt, value, via string) (Sale, reply) {
	s.mu.Lock()
	c, ok := s.campaigns[campaignID]
	now := s.now
	s.mu.Unlock()
	if !ok {
		return Sale{}, reply{http.StatusNotFound, "Campaign not found"}
	}
	intl, err := dripcel.ToInternational(cell, c.Country)
	if err != nil {
		return Sale{}, reply{http.StatusBadRequest, "Invalid cell"}
	}
	sale := Sale{CampaignID: campaignID, SendID: sendID, ClickID: clickID, Cell: intl, RawCell: cell, Via: via}
	switch soldAt = strings.TrimSpace(soldAt); {
	case soldAt == "":
		sale.SoldAt = now().In(southAfrica).Format("2006-01-02 15:04:05")
	case validTime("2006-01-02", soldAt) || validTime("2006-01-02 15:04:05", soldAt):
		sale.SoldAt = soldAt
	default:
		return Sale{}, reply{http.StatusBadRequest, "soldAt must be YYYY-MM-DD"}
	}
	if value = strings.TrimSpace(value); value == "" {
		sale.SaleValue, sale.DefaultValue = c.DefaultSaleValue, true
	} else {
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return Sale{}, reply{http.StatusBadRequest, "saleValue must be a number"}
		}
		sale.SaleValue = v
	}
	return sale, reply{}
}

func validTime(layout, v string) bool {
	_, err := time.Parse(layout, v)
	return err == nil
}

// store records the sales that are not duplicates (of stored sales or of
// each other), or none of them in BatchAtomic mode when any is.
func (s *Server) store(sales []Sale) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := map[dedupeKey]bool{}
	var fresh []Sale
	dup := false
	for _, sale := range sales {
		k := dedupeKey{sale.CampaignID, sale.Cell, sale.SoldAt[:len("2006-01-02")]}
		if s.seen[k] || batch[k] {
			dup = true
			continue
		}
		batch[k] = true
		fresh = append(fresh, sale)
	}
	if dup && s.batchMode == BatchAtomic {
		return reply{http.StatusConflict, "Duplicate sale"}
	}
	for _, sale := range fresh {
		s.seen[dedupeKey{sale.CampaignID, sale.Cell, sale.SoldAt[:len("2006-01-02")]}] = true
		s.sales = append(s.sales, sale)
	}
	if dup {
		return reply{http.StatusConflict, "Duplicate sale"}
	}
	return reply{http.StatusOK, ""}
}

// waitOrDone waits d, or until the request or the server ends.
func (s *Server) waitOrDone(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errors.New("server closed")
	}
}
