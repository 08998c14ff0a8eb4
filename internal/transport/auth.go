// Package transport holds the http.RoundTripper that puts the API key on
// requests, and the helpers that keep the key and query strings out of
// errors and logs.
//
// The key is added here, below go-retryablehttp, because that library writes
// full request URLs into its logs and errors. Requests above this layer never
// carry the key, so nothing above it can leak it.
package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Placement says where a request carries the key.
type Placement int

const (
	// Header sends "Authorization: Bearer <key>" (the bulk upload).
	Header Placement = iota
	// Query sends the key as the "key" query parameter (the GET postback).
	Query
)

type placementKey struct{}

// WithPlacement marks ctx so that requests made with it carry the key in p.
func WithPlacement(ctx context.Context, p Placement) context.Context {
	return context.WithValue(ctx, placementKey{}, p)
}

// PlacementOf is where requests made with ctx carry the key: Header
// unless WithPlacement said otherwise.
func PlacementOf(ctx context.Context) Placement {
	p, _ := ctx.Value(placementKey{}).(Placement)
	return p
}

// Auth adds the API key to requests bound for the configured origin and to
// no other: a redirect to another host, or from https to http, is sent
// without it.
type Auth struct {
	Base   http.RoundTripper
	Key    string
	Scheme string
	Host   string
	// Timeout bounds each request, reading its response body included
	// (0 for no bound), as http.Client.Timeout would.
	Timeout time.Duration

	// The header value and the query parameter, built once.
	once   sync.Once
	bearer []string
	query  string
}

func (a *Auth) init() {
	a.bearer = []string{"Bearer " + a.Key}
	a.query = "key=" + url.QueryEscape(a.Key)
}

// RoundTrip implements http.RoundTripper. It does not change req: it sends a
// copy that carries the key, and the deadline of Timeout.
func (a *Auth) RoundTrip(req *http.Request) (*http.Response, error) {
	var cancel context.CancelFunc
	out := req
	if a.Timeout > 0 {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), a.Timeout)
		out = req.WithContext(ctx)
	}
	if !strings.EqualFold(req.URL.Scheme, a.Scheme) || !strings.EqualFold(req.URL.Host, a.Host) {
		// net/http sets Referer on a redirect to the URL it came from, and
		// a postback URL holds the customer's cell: another host gets neither.
		if req.Header.Get("Referer") != "" {
			out = out.Clone(out.Context())
			out.Header.Del("Referer")
		}
		return a.roundTrip(out, cancel)
	}
	// A shallow copy, not req.Clone: only the part that changes (the URL or
	// the header map) is copied, which halves what a request allocates here.
	// Header values are shared, never modified.
	a.once.Do(a.init)
	if out == req {
		cp := *req
		out = &cp
	}
	if p, _ := req.Context().Value(placementKey{}).(Placement); p == Query {
		u := *req.URL
		u.RawQuery = a.query
		if req.URL.RawQuery != "" {
			u.RawQuery += "&" + req.URL.RawQuery
		}
		out.URL = &u
	} else {
		h := make(http.Header, len(req.Header)+1)
		for k, v := range req.Header {
			h[k] = v
		}
		h["Authorization"] = a.bearer // shared, never modified
		out.Header = h
	}
	return a.roundTrip(out, cancel)
}

// roundTrip sends req; cancel, when not nil, ends its deadline once the
// response body is closed, or at once on an error.
func (a *Auth) roundTrip(req *http.Request, cancel context.CancelFunc) (*http.Response, error) {
	resp, err := a.Base.RoundTrip(req)
	if cancel != nil {
		if err != nil || resp == nil {
			cancel()
		} else {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}
	}
	if err != nil {
		// A transport error may quote what the server sent, and a server
		// that echoes the request line sends back the query: the key and
		// the customer's cell.
		err = Redact(err, a.Key, req.URL.RawQuery)
	}
	return resp, err
}

// Redact returns err unchanged when its message holds none of secrets (each
// raw or query-escaped). Otherwise it returns an error with them replaced
// that keeps only what callers test for: timeouts and context errors. The
// original is dropped from the chain on purpose, since unwrapping it would
// give the secrets back.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg, changed := Scrub(err.Error(), secrets...)
	if !changed {
		return err
	}
	r := &redacted{msg: msg}
	var ne net.Error
	if errors.As(err, &ne) {
		r.timeout = ne.Timeout()
	}
	switch {
	case errors.Is(err, context.Canceled):
		r.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		r.cause = context.DeadlineExceeded
	}
	return r
}

// Scrub replaces every occurrence of secrets in s, in any of the forms
// secretForms gives, with "REDACTED", and reports whether it replaced any.
// Longer forms are replaced first, so a query string that holds the key
// goes as a whole.
func Scrub(s string, secrets ...string) (string, bool) {
	var forms []string
	for _, secret := range secrets {
		for _, f := range secretForms(secret) {
			if strings.Contains(s, f) {
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return s, false
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, "REDACTED")
	}
	return s, true
}

// minValueLen is the shortest query value scrubbed on its own. Shorter ones
// ("c1", a sale value of "0") identify no one, and replacing every copy of
// them would leave nothing of a page to read.
const minValueLen = 8

// secretForms are the ways secret can show in what a server sends back: as
// is, query- or path-escaped, and query-escaped twice, as in a login page's
// return address (/login?next=%2Fsales%2Fcreate%3Fkey%3D...) that carries
// the request's URL. A secret holding '=' may be a query string: each of
// its values of minValueLen bytes or more is a secret too, since a page may
// quote one parameter, such as the customer's cell, on its own.
func secretForms(secret string) []string {
	if secret == "" {
		return nil
	}
	escapings := func(v string) []string {
		q := url.QueryEscape(v)
		return []string{v, q, url.PathEscape(v), url.QueryEscape(q)}
	}
	forms := escapings(secret)
	if strings.Contains(secret, "=") {
		// A key that is not a query parses into fragments of itself,
		// harmless to scrub; a parse error still leaves the values read.
		q, _ := url.ParseQuery(secret)
		for _, vs := range q {
			for _, v := range vs {
				if len(v) >= minValueLen {
					forms = append(forms, escapings(v)...)
				}
			}
		}
	}
	return forms
}

type redacted struct {
	msg     string
	timeout bool
	cause   error
}

func (e *redacted) Error() string   { return e.msg }
func (e *redacted) Timeout() bool   { return e.timeout }
func (e *redacted) Temporary() bool { return e.timeout }
func (e *redacted) Unwrap() error   { return e.cause }

// cancelOnClose ends a request's deadline when its response body is closed:
// the deadline bounds reading the body too.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
