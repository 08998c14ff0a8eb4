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
//   - A sale names exactly one of campaign_id, send_id or click_id, the
//     identifier that matches it to its campaign (Dripcel's integration
//     guide: "if you use more than one of these IDs your upload will
//     fail"). Sends and clicks belong to campaigns (WithSends, WithClicks).
//     Field cell is required; soldAt (YYYY-MM-DD, optionally with HH:MM:SS)
//     and saleValue are optional.
//   - Success is 200 {"ok":true}; an unknown campaign is 404
//     {"ok":false,"error":"Campaign not found"}; a sale with the same cell,
//     campaign_id and soldAt date as a stored one is 409
//     {"ok":false,"error":"Duplicate sale"}.
//   - A local cell is read with the campaign's country; a blank soldAt is
//     "now"; a blank saleValue is the campaign's default.
//   - About 50 requests a minute per organisation, 429 beyond (only with
//     WithFixedWindow or WithRateLimit; no limit by default).
//
// What Dripcel does not document, and this server assumes:
//   - A wrong or missing key is 401 {"ok":false,"error":"Unauthorized"}.
//   - A malformed body, a missing cell, an unreadable cell, date or value
//     is 400 with Dripcel's envelope, and refuses the whole request.
//   - So is a sale naming none of campaign_id, send_id and click_id, or
//     more than one: 400 {"ok":false,"error":"Sale 3: exactly one of
//     campaign_id, send_id or click_id is required"} for an upload (sales
//     counted from 0), the same without "Sale 3: " for a postback. A field
//     that is blank or only spaces counts as absent; one that is not is
//     looked up exactly as sent.
//   - An unknown send is 404 {"ok":false,"error":"Send not found"}, an
//     unknown click 404 {"ok":false,"error":"Click not found"}, and a send
//     or click whose campaign is unknown 404 "Campaign not found".
//   - A sale matched by its send or click counts for that campaign, as if it
//     had named it: the campaign's country reads its cell, its default
//     fills a blank saleValue, and it is a duplicate of a sale with the same
//     cell, campaign and soldAt date, however either named the campaign.
//   - An upload body over 102,400 bytes (an Express service's default JSON
//     limit; WithMaxBodyBytes sets another) is 413 with Express's own HTML
//     error page, not Dripcel's envelope, checked before the key as an
//     app-wide body parser would.
//   - A path or method the API does not have is 404 with Express's HTML
//     "Cannot GET /path" page, not Dripcel's envelope.
//   - A batch holding a bad sale (a duplicate, an unknown campaign, send
//     or click, or a sale WithSaleCheck refuses) is answered with the first bad sale's refusal, and stores
//     the good sales (BatchPartial, the default), none (BatchAtomic), or
//     those before the first bad one (BatchPrefix). See BatchMode.
//   - A 429 for the rate limit carries Dripcel's envelope; WithFixedWindow
//     sends no Retry-After, as Dripcel documents none, unless
//     WithFixedWindowRetryAfter asks for express-rate-limit's.
//   - "Now" and the date of a blank soldAt are in South African time.
//
// Faults are injected with Fail, FailWithBody, Respond, Redirect, RateLimit,
// Delay, Pass and Drop. Each queues behind the ones before it and applies to
// the next n requests in arrival order; n = UntilCleared makes an outage
// that lasts until ClearFaults. A fault answers without looking at the
// request, so a faulted request stores nothing. Respond and Redirect give
// answers that are not from Dripcel (a proxy's HTML page, an empty 200, a
// cut-off body, a redirect to a login page): code under test must not take
// them for Dripcel's verdict.
package dripceltest

import (
	"bytes"
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

// MaxBodyBytes is the largest upload body the server accepts unless
// WithMaxBodyBytes says otherwise: an Express service's default JSON limit,
// "100kb", which Express counts as 102,400 bytes (a body of 102,401 bytes
// gets the 413; measured on a real Express server).
const MaxBodyBytes = 102_400

// southAfrica is SAST, UTC+2 all year.
var southAfrica = time.FixedZone("SAST", 2*60*60)

// TB is the part of testing.TB the server uses, so that programs that are
// not tests (examples, demos) can pass their own.
type TB interface {
	Helper()
	Cleanup(func())
}

// Campaign is a campaign the server knows.
type Campaign struct {
	ID string
	// Country is the ISO 3166 region local cells are read in, e.g. "ZA".
	Country string
	// DefaultSaleValue is used for sales sent without a saleValue.
	DefaultSaleValue float64
}

// Send is a send of a campaign (one message to its audience) that the
// server knows. A sale matched to its campaign by send_id counts for the
// send's campaign.
type Send struct {
	ID string
	// CampaignID is the campaign the send belongs to. The server looks it
	// up when a sale arrives, so it may be registered before or after the
	// send; a sale through a send whose campaign it does not know is 404
	// "Campaign not found".
	CampaignID string
}

// Click is a click on a campaign's tracked link that the server knows: a
// checkout that kept it reports the sale by click_id alone, and the sale
// counts for the click's campaign.
type Click struct {
	ID string
	// CampaignID is the campaign the click belongs to; see Send.CampaignID.
	CampaignID string
}

// Sale is a sale as the server stored it.
type Sale struct {
	// CampaignID is the campaign the sale counts for: its campaign_id, or
	// the campaign of the send or click it named.
	CampaignID string
	// SendID and ClickID are as sent: blank unless the sale was matched by
	// them.
	SendID  string
	ClickID string
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
	// Sales is how many sales the request carried: 0 when it was answered
	// before its body was read (a fault, the rate limit, a 413).
	Sales int
	// Stored is how many of them the server stored.
	Stored int
	// At is when the request arrived, on the rate clock (WithRateClock).
	At time.Time
	// Bytes is the size of the upload body read: 0 when it was answered
	// before its body was read, and for a postback.
	Bytes int
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

// WithSends registers sends at start; see Server.AddSend.
func WithSends(ss ...Send) Option {
	return func(s *Server) {
		for _, x := range ss {
			s.sends[x.ID] = x
		}
	}
}

// WithClicks registers clicks at start; see Server.AddClick.
func WithClicks(cs ...Click) Option {
	return func(s *Server) {
		for _, x := range cs {
			s.clicks[x.ID] = x
		}
	}
}

// WithBatchMode sets how uploads holding a duplicate, or a sale whose
// campaign, send or click is unknown, are treated.
func WithBatchMode(m BatchMode) Option { return func(s *Server) { s.batchMode = m } }

// WithClock sets the clock used for blank soldAt values. The rate limit
// does not use it (see WithRateClock).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSaleCheck refuses each sale for which check returns an error, with
// 400 and the error's text in Dripcel's envelope, as Dripcel might refuse a
// value or a date it does not accept. Unlike a malformed sale, which refuses
// its whole request, such a sale is a bad sale of its batch, treated as the
// batch mode says (BatchPartial stores the others). check sees the sale as
// it would be stored, and must be safe for concurrent use.
func WithSaleCheck(check func(Sale) error) Option { return func(s *Server) { s.check = check } }

// WithMaxBodyBytes sets the largest upload body the server accepts, in
// bytes; larger bodies are answered 413. The default is MaxBodyBytes.
func WithMaxBodyBytes(n int) Option { return func(s *Server) { s.maxBody = n } }

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
	sends     map[string]Send
	clicks    map[string]Click
	sales     []Sale
	seen      map[dedupeKey]bool
	requests  []Request
	faults    []*fault
	cleared   chan struct{} // closed and replaced by ClearFaults
	held      int           // requests Delay holds now
	batchMode BatchMode
	now       func() time.Time
	maxBody   int
	check     func(Sale) error // WithSaleCheck; nil for none
	limiter   *rate.Limiter    // WithRateLimit; nil for no limit
	window    fixedWindow      // WithFixedWindow; limit 0 for no limit
}

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
		sends:     map[string]Send{},
		clicks:    map[string]Click{},
		seen:      map[dedupeKey]bool{},
		cleared:   make(chan struct{}),
		now:       time.Now,
		maxBody:   MaxBodyBytes,
		window:    fixedWindow{now: time.Now},
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

// AddSend registers a send, or replaces one with the same ID (moving it to
// another campaign, say). Sales sent after it count for its campaign.
func (s *Server) AddSend(x Send) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends[x.ID] = x
}

// AddClick registers a click, or replaces one with the same ID. Sales sent
// after it count for its campaign.
func (s *Server) AddClick(x Click) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clicks[x.ID] = x
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
	rec := Request{Method: r.Method, Path: r.URL.Path, At: s.window.now()}
	if s.rateLimited(w, &rec) {
		return
	}
	if f, cleared := s.nextFault(); f != nil {
		if s.applyFault(w, r, f, cleared, &rec) {
			return
		}
	}
	var rep reply
	switch {
	case r.URL.Path == "/sales" && r.Method == http.MethodPost:
		body, ok := s.readBody(w, r, &rec)
		if !ok {
			return
		}
		rep = s.upload(r, body, &rec)
	case r.URL.Path == "/sales/create" && r.Method == http.MethodGet:
		rep = s.postback(r, &rec)
	default:
		// Express answers a route it does not have with its own page.
		s.writePage(w, &rec, http.StatusNotFound, expressPage("Cannot "+r.Method+" "+r.URL.EscapedPath()))
		return
	}
	s.write(w, &rec, rep)
}

func (s *Server) write(w http.ResponseWriter, rec *Request, rep reply) {
	rec.Status = rep.status
	s.record(rec)
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

// wireSale is a sale as it arrives in an upload body. The identifiers are
// plain strings because a missing one, a null and a blank one all count as
// absent.
type wireSale struct {
	CampaignID string       `json:"campaign_id"`
	SendID     string       `json:"send_id"`
	ClickID    string       `json:"click_id"`
	Cell       *string      `json:"cell"`
	SoldAt     string       `json:"soldAt"`
	SaleValue  *json.Number `json:"saleValue"`
}

func (s *Server) upload(r *http.Request, body []byte, rec *Request) reply {
	if r.Header.Get("Authorization") != "Bearer "+s.Key {
		return reply{http.StatusUnauthorized, "Unauthorized"}
	}
	var in []wireSale
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return reply{http.StatusBadRequest, "Body must be a JSON array of sales"}
	}
	rec.Sales = len(in)
	cands := make([]candidate, len(in))
	for i, ws := range in {
		id := identifiers{ws.CampaignID, ws.SendID, ws.ClickID}
		if !id.exactlyOne() {
			return reply{http.StatusBadRequest, fmt.Sprintf("Sale %d: %s", i, oneIdentifier)}
		}
		if ws.Cell == nil {
			return reply{http.StatusBadRequest, fmt.Sprintf("Sale %d: %s", i, cellRequired)}
		}
		value := ""
		if ws.SaleValue != nil {
			value = ws.SaleValue.String()
		}
		c, rep := s.build(id, *ws.Cell, ws.SoldAt, value, "upload")
		if rep.status != 0 {
			return rep
		}
		cands[i] = c
	}
	return s.store(cands, rec)
}

func (s *Server) postback(r *http.Request, rec *Request) reply {
	q := r.URL.Query()
	if q.Get("key") != s.Key {
		return reply{http.StatusUnauthorized, "Unauthorized"}
	}
	rec.Sales = 1
	id := identifiers{q.Get("campaign_id"), q.Get("send_id"), q.Get("click_id")}
	if !id.exactlyOne() {
		return reply{http.StatusBadRequest, oneIdentifier}
	}
	if !q.Has("cell") {
		return reply{http.StatusBadRequest, cellRequired}
	}
	c, rep := s.build(id, q.Get("cell"), q.Get("soldAt"), q.Get("saleValue"), "postback")
	if rep.status != 0 {
		return rep
	}
	return s.store([]candidate{c}, rec)
}

// The 400 messages for a sale missing what Dripcel needs. An upload puts
// "Sale N: " before them.
const (
	oneIdentifier = "exactly one of campaign_id, send_id or click_id is required"
	cellRequired  = "cell is required"
)

// identifiers are the fields that match a sale to its campaign, as sent.
type identifiers struct{ campaign, send, click string }

// exactlyOne reports whether the sale names exactly one identifier, as
// Dripcel requires. A blank one counts as absent, as a spreadsheet's empty
// column or a form's empty field would send it.
func (id identifiers) exactlyOne() bool {
	n := 0
	for _, v := range []string{id.campaign, id.send, id.click} {
		if strings.TrimSpace(v) != "" {
			n++
		}
	}
	return n == 1
}

// resolve finds the campaign a sale counts for: the one it names, or the
// campaign of the send or click it names. It returns the refusal when
// there is none. id must name exactly one identifier, and s.mu be held.
func (s *Server) resolve(id identifiers) (Campaign, string) {
	campaignID := id.campaign
	switch {
	case strings.TrimSpace(id.send) != "":
		x, ok := s.sends[id.send]
		if !ok {
			return Campaign{}, "Send not found"
		}
		campaignID = x.CampaignID
	case strings.TrimSpace(id.click) != "":
		x, ok := s.clicks[id.click]
		if !ok {
			return Campaign{}, "Click not found"
		}
		campaignID = x.CampaignID
	}
	c, ok := s.campaigns[campaignID]
	if !ok {
		return Campaign{}, "Campaign not found"
	}
	return c, ""
}

// build checks one sale and fills in what Dripcel fills in. A malformed
// sale is refused at once (the reply), which refuses its whole request; an
// unknown campaign, send or click only marks the candidate, which the batch
// mode then treats like a duplicate. The lookup comes first, as a 404 is
// what Dripcel documents and the campaign's country is needed to read the
// cell.
func (s *Server) build(id identifiers, cell, soldAt, value, via string) (candidate, reply) {
	s.mu.Lock()
	c, refusal := s.resolve(id)
	now := s.now
	s.mu.Unlock()
	sale := Sale{CampaignID: c.ID, SendID: id.send, ClickID: id.click, RawCell: cell, Via: via}
	if refusal != "" {
		sale.CampaignID = id.campaign
		return candidate{sale, reply{http.StatusNotFound, refusal}}, reply{}
	}
	intl, err := dripcel.ToInternational(cell, c.Country)
	if err != nil {
		return candidate{}, reply{http.StatusBadRequest, "Invalid cell"}
	}
	sale.Cell = intl
	switch soldAt = strings.TrimSpace(soldAt); {
	case soldAt == "":
		sale.SoldAt = now().In(southAfrica).Format("2006-01-02 15:04:05")
	case validTime("2006-01-02", soldAt) || validTime("2006-01-02 15:04:05", soldAt):
		sale.SoldAt = soldAt
	default:
		return candidate{}, reply{http.StatusBadRequest, "soldAt must be YYYY-MM-DD"}
	}
	if value = strings.TrimSpace(value); value == "" {
		sale.SaleValue, sale.DefaultValue = c.DefaultSaleValue, true
	} else {
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return candidate{}, reply{http.StatusBadRequest, "saleValue must be a number"}
		}
		sale.SaleValue = v
	}
	if s.check != nil {
		if err := s.check(sale); err != nil {
			return candidate{sale, reply{http.StatusBadRequest, err.Error()}}, reply{}
		}
	}
	return candidate{sale: sale}, reply{}
}

func validTime(layout, v string) bool {
	_, err := time.Parse(layout, v)
	return err == nil
}

// waitOrDone waits d, or until the faults are cleared, or until the
// request or the server ends.
func (s *Server) waitOrDone(ctx context.Context, d time.Duration, cleared <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-cleared:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errors.New("server closed")
	}
}
