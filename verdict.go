package dripcel

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/dripcel-go/dripcel/internal/transport"
	"github.com/dripcel-go/dripcel/internal/wire"
)

// verdict is what an answer says about the sales of its request. Dripcel
// always answers with its JSON envelope; a page from a proxy, a gateway or
// a wrong path says nothing about a sale, whatever its status.
type verdict int

const (
	// verdictRecorded: a 2xx with {"ok": true}.
	verdictRecorded verdict = iota + 1
	// verdictRefused: Dripcel's envelope with "ok": false on a 2xx or a
	// 4xx: the request's content was refused (404, 409, 400, …).
	verdictRefused
	// verdictForeign: not Dripcel's answer where only its answer could be
	// a verdict: any 2xx, 3xx or content 4xx without the envelope, or with
	// an envelope that contradicts its status.
	verdictForeign
	// verdictStatus: the status speaks whatever the body: 401 and 403 (the
	// key), 408, 413 (the body's size), 429 (the budget) and 5xx.
	verdictStatus
	// verdictWrongPath: a 404 in Dripcel's envelope that names nothing a
	// sale refers to ("Not found", "Route POST /v1/sales not found"): the
	// request reached Dripcel's router but no route, so the base URL or
	// path is wrong. It says nothing about the sales, like a proxy's page,
	// but unlike one it will not change if the request is tried again.
	verdictWrongPath
)

// readVerdict reads an answer's status and decoded body.
func readVerdict(status int, reply wire.Reply) verdict {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusRequestTimeout || status == http.StatusRequestEntityTooLarge ||
		status == http.StatusTooManyRequests || status >= 500:
		return verdictStatus
	case !reply.Envelope:
		return verdictForeign
	case status >= 200 && status < 300:
		if reply.OK {
			return verdictRecorded
		}
		return verdictRefused
	case status == http.StatusNotFound && !reply.OK && !namesSaleReference(reply.Message):
		return verdictWrongPath
	case status >= 400 && status < 500 && !reply.OK:
		return verdictRefused
	}
	return verdictForeign
}

// namesSaleReference reports whether a 404's message speaks of what a sale
// refers to: its campaign, send or click ("Campaign not found", "Send not
// found", "Click not found", "campaign_id not found"). Only such a 404 is
// a refusal of the sale.
func namesSaleReference(msg string) bool {
	if strings.ContainsRune(msg, '/') {
		// A path: the router's "Route POST /campaigns/sales not found",
		// whatever words the base URL holds.
		return false
	}
	word := func(r rune) bool { return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') }
	for _, w := range strings.FieldsFunc(msg, word) {
		switch strings.ToLower(w) {
		case "campaign", "campaigns", "send", "sends", "click", "clicks":
			return true
		}
	}
	return false
}

// verdict is what e says about the sales of its request. An error is never
// a success, so Dripcel's envelope on it says "ok": false.
func (e *APIError) verdict() verdict {
	return readVerdict(e.StatusCode, wire.Reply{Envelope: e.FromDripcel, Message: e.Message})
}

// refusedContent reports whether err is Dripcel refusing the content of a
// request, so that each sale of a refused batch must be asked about alone.
func refusedContent(err error) (*APIError, bool) {
	var apiErr *APIError
	ok := errors.As(err, &apiErr)
	return apiErr, ok && apiErr.verdict() == verdictRefused
}

// wrongPath reports whether err is Dripcel's router saying it has no such
// route (see verdictWrongPath).
func wrongPath(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.verdict() == verdictWrongPath
}

// checkRetry is the retry layer's CheckRetry. Before the client's retry
// policy looks at the status, it reads the body: an answer that is not
// Dripcel's is tried again like a 5xx, since it says nothing about the sale
// and resending is safe under Dripcel's duplicate rule. The body read is
// kept for do, which would otherwise read it again.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	a, _ := ctx.Value(attemptsKey{}).(*attempts)
	if a != nil {
		a.body = nil
	}
	if err == nil && resp != nil {
		raw := readReply(resp)
		_ = resp.Body.Close()
		resp.Body = http.NoBody
		if a != nil {
			a.body = raw
		}
		if readVerdict(resp.StatusCode, wire.Decode(raw)) == verdictForeign {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return c.policy.Fault(tally(ctx)), nil
		}
	}
	return c.decideRetry(ctx, resp, err)
}

// refuseRedirect is the inner client's CheckRedirect. Dripcel's API does not
// redirect, and following a redirect would take an upload's body, or a
// postback's key in its query, to another address. The 3xx is returned as
// it came and judged an answer that is not Dripcel's.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// location is a redirect's Location for an error message: without its query,
// fragment or user information, and with the key and the request's query
// cut out should the server have echoed them into the path.
func location(resp *http.Response, key, rawQuery string) string {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return ""
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(a Location that does not parse)"
	}
	s, _ := transport.Scrub(transport.URL(u), key, rawQuery)
	return wire.Excerpt([]byte(s), maxBodyExcerpt)
}
