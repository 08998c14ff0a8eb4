package dripcel

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Test for them with errors.Is; the error returned carries
// the detail (an *APIError, a *ValidationError or an *UploadError), reachable
// with errors.As.
var (
	// ErrCampaignNotFound: Dripcel answered 404 about what the sale refers
	// to: "Campaign not found", or "Send not found" or "Click not found" for
	// a sale matched by its send or click (APIError.Message says which). The
	// identifier is wrong or belongs to another organisation. Not retried.
	// A 404 whose message names no campaign, send or click ("Not found")
	// is Dripcel's router saying the base URL or path is wrong: it does not
	// match this error, and leaves the sales NotDelivered.
	ErrCampaignNotFound = errors.New("dripcel: campaign not found")

	// ErrDuplicateSale: Dripcel answered 409, "Duplicate sale": it already
	// has a sale with the same cell, campaign_id and soldAt date. The sale is
	// recorded, so most callers treat this as success. After a retried
	// request it usually means the earlier attempt got through.
	ErrDuplicateSale = errors.New("dripcel: duplicate sale")

	// ErrUnauthorized: Dripcel answered 401 or 403. The key is wrong, revoked
	// or lacks the "sale.create" permission. Not retried; an upload stops.
	ErrUnauthorized = errors.New("dripcel: unauthorized")

	// ErrRateLimited: Dripcel answered 429 and either the retries ran out or
	// it asked for a wait longer than the client will hold a call open (see
	// APIError.RetryAfter for when to try again). When the wait would end
	// after the context's deadline, the call fails at once and the error
	// also matches context.DeadlineExceeded.
	ErrRateLimited = errors.New("dripcel: rate limited")

	// ErrNotFromDripcel: the answer was not Dripcel's own. Dripcel always
	// answers with its JSON envelope; this answer was a page from something
	// in between (a proxy, a firewall, a wrong path in WithBaseURL): HTML or
	// text, an empty body, 204, JSON without a boolean "ok", or a redirect
	// (redirects are never followed). It says nothing about the sales sent,
	// which are NotDelivered and safe to send again. Such answers are
	// retried like a 5xx. The *APIError gives the status, the content type,
	// an excerpt of the body and, for a redirect, the Location without its
	// query.
	ErrNotFromDripcel = errors.New("dripcel: answer not from Dripcel")

	// ErrInvalidSale: a sale failed validation before anything was sent.
	// The *ValidationError names the sale and the field.
	ErrInvalidSale = errors.New("dripcel: invalid sale")

	// ErrInvalidCell: a cell number could not be read as a valid phone number
	// for its region. Errors matching it from a client also match
	// ErrInvalidSale.
	ErrInvalidCell = errors.New("dripcel: invalid cell number")
)

// APIError is an answer that was not a success: a non-2xx status, a 2xx
// whose body said {"ok": false}, or an answer that was not Dripcel's JSON
// envelope at all (see ErrNotFromDripcel).
type APIError struct {
	// StatusCode is the HTTP status of the last attempt.
	StatusCode int
	// Message is the server's error message ("Duplicate sale"), or the
	// status text when the body did not carry one.
	Message string
	// Code is the error code when the server sent {"code", "message"}.
	Code string
	// Body is a short excerpt of a body that was not Dripcel's JSON envelope
	// (an HTML error page from a proxy, say), for diagnosis.
	Body string
	// Method and URL name the request. URL never includes the query.
	Method, URL string
	// Attempts is how many requests were made, retries included.
	Attempts int
	// RetryAfter is the wait the server asked for with Retry-After, if any,
	// as it gave it (a date read against the clock): not cut to the waits
	// the client takes itself, only to the longest Duration (about 292
	// years). After a 429 without one it is the budget's window.
	RetryAfter time.Duration
	// FromDripcel reports whether the body was Dripcel's JSON envelope,
	// consistent with the status. Only such an answer refuses a sale: a 404
	// or 409 without it is a proxy's page and matches ErrNotFromDripcel,
	// not ErrCampaignNotFound or ErrDuplicateSale.
	FromDripcel bool
	// ContentType and Location describe an answer that was not Dripcel's:
	// its Content-Type header and, for a redirect, where it pointed (without
	// query, fragment or user information).
	ContentType, Location string
}

// Error renders the error without the API key or any query string.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("dripcel: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.URL + ": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Message != "" {
		b.WriteString(" " + e.Message)
	}
	if e.verdict() == verdictWrongPath {
		b.WriteString(" (no such route at Dripcel: the base URL or path looks wrong; the sales were not delivered)")
	}
	if e.verdict() == verdictForeign {
		b.WriteString(" (not an answer from Dripcel")
		if e.ContentType != "" {
			b.WriteString("; " + e.ContentType)
		}
		if e.Location != "" {
			b.WriteString("; redirect to " + e.Location)
		}
		b.WriteString(")")
	}
	if e.Code != "" {
		b.WriteString(" (code " + e.Code + ")")
	}
	if e.Body != "" {
		b.WriteString(": " + strconv.Quote(e.Body))
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Is matches the sentinel for the status: 404 ErrCampaignNotFound (when its
// message names a campaign, send or click), 409 ErrDuplicateSale, 401 and
// 403 ErrUnauthorized, 429 ErrRateLimited. A 2xx with {"ok": false} matches
// by the message Dripcel uses for 404 and 409. A 404 naming nothing a sale
// refers to (a wrong base URL or path) matches none of them.
// An answer that was not Dripcel's envelope where only the envelope could
// refuse a sale (any 2xx, 3xx or 4xx but 401, 403, 408, 413 and 429)
// matches ErrNotFromDripcel and nothing else.
func (e *APIError) Is(target error) bool {
	switch e.verdict() {
	case verdictForeign:
		return target == ErrNotFromDripcel
	case verdictWrongPath:
		return false
	}
	switch e.StatusCode {
	case http.StatusNotFound:
		return target == ErrCampaignNotFound
	case http.StatusConflict:
		return target == ErrDuplicateSale
	case http.StatusUnauthorized, http.StatusForbidden:
		return target == ErrUnauthorized
	case http.StatusTooManyRequests:
		return target == ErrRateLimited
	}
	if e.StatusCode >= 200 && e.StatusCode < 300 {
		switch strings.ToLower(strings.TrimSpace(e.Message)) {
		case "campaign not found", "send not found", "click not found":
			return target == ErrCampaignNotFound
		case "duplicate sale":
			return target == ErrDuplicateSale
		}
	}
	return false
}

// ValidationError is a sale refused before anything was sent.
type ValidationError struct {
	// Index is the sale's position in the slice given to UploadSales, or -1
	// for Postback.
	Index int
	// Field is the wire name of the field at fault ("cell", "campaign_id").
	Field string
	// Reason says what is wrong, in words.
	Reason string
	// Err is ErrInvalidCell for cells that could not be converted, else nil.
	Err error
}

// Error reads like "dripcel: sale 37: cell is required".
func (e *ValidationError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("dripcel: sale %d: %s %s", e.Index, e.Field, e.Reason)
	}
	return fmt.Sprintf("dripcel: sale: %s %s", e.Field, e.Reason)
}

// Is matches ErrInvalidSale. errors.Is also matches ErrInvalidCell, through
// Unwrap, when the cell was at fault.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidSale }

// Unwrap returns the underlying cause, such as ErrInvalidCell.
func (e *ValidationError) Unwrap() error { return e.Err }

// BatchError is a run of consecutive sales of an upload (by index) that
// share one outcome other than Recorded, and its cause. It is not a request:
// the name is historical. A run may be the sales of a request that was not
// sent or not answered by Dripcel, or one sale Dripcel refused, or one it
// already had; one request's sales can end in several runs, and a run can
// span requests. UploadError.Outcomes reads the same information sale by
// sale.
type BatchError struct {
	// First and Last are the indexes (inclusive) of the sales: in the slice
	// given to UploadSales, or in the order UploadSalesSeq read them.
	First, Last int
	// Sent is false for sales never sent because the upload stopped early
	// (an auth failure, retries exhausted, a cancelled context).
	Sent bool
	// Fate is what became of these sales: AlreadyRecorded, Refused or
	// NotDelivered.
	Fate Fate
	// Err is why: an *APIError, a transport error or a context error.
	Err error
}

// Error names the sales and the cause.
func (e *BatchError) Error() string {
	verb := e.Fate.String()
	if e.Fate == NotDelivered && !e.Sent {
		verb = "not sent"
	}
	if e.First == e.Last {
		return fmt.Sprintf("sale %d %s: %v", e.First, verb, e.Err)
	}
	return fmt.Sprintf("sales %d-%d %s: %v", e.First, e.Last, verb, e.Err)
}

// Unwrap returns the cause, so errors.Is sees its sentinel.
func (e *BatchError) Unwrap() error { return e.Err }

// UploadError is returned by UploadSales and UploadSalesSeq when any sale
// was not Recorded by the call. It gives every sale its own Outcome: read
// them with Outcome, Outcomes and Count.
//
// A batch Dripcel refuses for its content is sent again in smaller requests
// until each of its sales has Dripcel's own answer, so a sale is Refused or
// AlreadyRecorded only on an answer about it alone, whichever way Dripcel
// treats a batch holding a bad sale.
type UploadError struct {
	// Total is the number of sales given to UploadSales, or read by
	// UploadSalesSeq.
	Total int
	// Batches are the runs of sales not Recorded, in order and not
	// overlapping: every sale outside them was Recorded.
	Batches []*BatchError
}

// Error counts the sales of each fate; the first few runs are spelled out.
func (e *UploadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dripcel: %d of %d sales not recorded by this upload", e.NotAccepted(), e.Total)
	sep := " ("
	for _, f := range []Fate{AlreadyRecorded, Refused, NotDelivered} {
		if n := e.Count(f); n > 0 {
			fmt.Fprintf(&b, "%s%d %s", sep, n, f)
			sep = ", "
		}
	}
	if sep != " (" {
		b.WriteString(")")
	}
	const shown = 3
	for i, be := range e.Batches {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(e.Batches)-shown)
			// Where an upload stopped matters most: name the sales it
			// never sent.
			if last := e.Batches[len(e.Batches)-1]; !last.Sent && last.Fate == NotDelivered {
				b.WriteString(", the last: " + last.Error())
			}
			break
		}
		b.WriteString("; ")
		b.WriteString(be.Error())
	}
	return b.String()
}

// Unwrap returns the batch errors, so errors.Is and errors.As look at them.
// When some sale is not in Dripcel (Refused or NotDelivered), the runs that
// are AlreadyRecorded are left out: errors.Is(err, ErrDuplicateSale), which
// a single call reads as "Dripcel has it", then holds for an upload only
// when every one of its sales is in Dripcel, and a sale still to be
// delivered is never dropped on its account. Outcomes gives each sale's
// own fate.
func (e *UploadError) Unwrap() []error {
	inDripcel := true
	for _, be := range e.Batches {
		if be.Fate != AlreadyRecorded {
			inDripcel = false
			break
		}
	}
	errs := make([]error, 0, len(e.Batches))
	for _, be := range e.Batches {
		if inDripcel || be.Fate != AlreadyRecorded {
			errs = append(errs, be)
		}
	}
	return errs
}

// Outcome returns the outcome of sale i (0 <= i < Total).
func (e *UploadError) Outcome(i int) Outcome {
	k, found := slices.BinarySearchFunc(e.Batches, i, func(be *BatchError, i int) int {
		switch {
		case be.Last < i:
			return -1
		case be.First > i:
			return 1
		}
		return 0
	})
	if !found {
		return Outcome{Fate: Recorded}
	}
	return Outcome{Fate: e.Batches[k].Fate, Err: e.Batches[k].Err}
}

// Outcomes yields the outcome of every sale, by index from 0 to Total-1.
func (e *UploadError) Outcomes() iter.Seq2[int, Outcome] {
	return func(yield func(int, Outcome) bool) {
		next := 0
		for _, be := range e.Batches {
			for ; next < be.First; next++ {
				if !yield(next, Outcome{Fate: Recorded}) {
					return
				}
			}
			for ; next <= be.Last; next++ {
				if !yield(next, Outcome{Fate: be.Fate, Err: be.Err}) {
					return
				}
			}
		}
		for ; next < e.Total; next++ {
			if !yield(next, Outcome{Fate: Recorded}) {
				return
			}
		}
	}
}

// Count returns how many sales have fate f.
func (e *UploadError) Count(f Fate) int {
	if f == Recorded {
		return e.Total - e.NotAccepted()
	}
	n := 0
	for _, be := range e.Batches {
		if be.Fate == f {
			n += be.Last - be.First + 1
		}
	}
	return n
}

// NotAccepted is the number of sales not Recorded by the call: already
// recorded, refused or not delivered.
func (e *UploadError) NotAccepted() int {
	n := 0
	for _, be := range e.Batches {
		n += be.Last - be.First + 1
	}
	return n
}

// Failed returns, in order, the indexes of every sale not Recorded by the
// call. Those that are NotDelivered are the ones to send again; see
// Outcomes.
func (e *UploadError) Failed() []int {
	idx := make([]int, 0, e.NotAccepted())
	for _, be := range e.Batches {
		for i := be.First; i <= be.Last; i++ {
			idx = append(idx, i)
		}
	}
	return idx
}
