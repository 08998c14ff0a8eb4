package dripcel

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Test for them with errors.Is; the error returned carries
// the detail (an *APIError, a *ValidationError or an *UploadError), reachable
// with errors.As.
var (
	// ErrCampaignNotFound: Dripcel answered 404, "Campaign not found". The
	// campaign_id is wrong or belongs to another organisation. Not retried.
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

	// ErrInvalidSale: a sale failed validation before anything was sent.
	// The *ValidationError names the sale and the field.
	ErrInvalidSale = errors.New("dripcel: invalid sale")

	// ErrInvalidCell: a cell number could not be read as a valid phone number
	// for its region. Errors matching it from a client also match
	// ErrInvalidSale.
	ErrInvalidCell = errors.New("dripcel: invalid cell number")
)

// APIError is a response from Dripcel that was not a success: a non-2xx
// status, or a 2xx whose body said {"ok": false}.
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
	// RetryAfter is the wait the server asked for with Retry-After, if any.
	RetryAfter time.Duration
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

// Is matches the sentinel for the status: 404 ErrCampaignNotFound, 409
// ErrDuplicateSale, 401 and 403 ErrUnauthorized, 429 ErrRateLimited. A 2xx
// with {"ok": false} matches by the message Dripcel uses for 404 and 409.
func (e *APIError) Is(target error) bool {
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
		switch strings.ToLower(e.Message) {
		case "campaign not found":
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

// BatchError is one batch of an upload that was not accepted.
type BatchError struct {
	// First and Last are the indexes (inclusive) of the sales this batch
	// held: in the slice given to UploadSales, or in the order
	// UploadSalesSeq read them.
	First, Last int
	// Sent is false for sales never sent because the upload stopped early
	// (an auth failure, retries exhausted, a cancelled context).
	Sent bool
	// Err is why: an *APIError, a transport error or a context error.
	Err error
}

// Error names the sales and the cause.
func (e *BatchError) Error() string {
	verb := "not accepted"
	if !e.Sent {
		verb = "not sent"
	}
	return fmt.Sprintf("sales %d-%d %s: %v", e.First, e.Last, verb, e.Err)
}

// Unwrap returns the cause, so errors.Is sees its sentinel.
func (e *BatchError) Unwrap() error { return e.Err }

// UploadError is returned by UploadSales and UploadSalesSeq when any batch
// was not accepted. It says exactly which sales Dripcel did not take: every
// sale not covered by one of Batches was accepted.
type UploadError struct {
	// Total is the number of sales given to UploadSales, or read by
	// UploadSalesSeq.
	Total int
	// Batches are the batches not accepted, in order.
	Batches []*BatchError
}

// Error summarises the failed batches; the first few are spelled out.
func (e *UploadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dripcel: %d of %d sales not accepted", e.NotAccepted(), e.Total)
	const shown = 3
	for i, be := range e.Batches {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more batches", len(e.Batches)-shown)
			break
		}
		b.WriteString("; ")
		b.WriteString(be.Error())
	}
	return b.String()
}

// Unwrap returns every batch error, so errors.Is and errors.As look at all
// of them.
func (e *UploadError) Unwrap() []error {
	errs := make([]error, len(e.Batches))
	for i, be := range e.Batches {
		errs[i] = be
	}
	return errs
}

// NotAccepted is the number of sales in failed or unsent batches.
func (e *UploadError) NotAccepted() int {
	n := 0
	for _, be := range e.Batches {
		n += be.Last - be.First + 1
	}
	return n
}

// Failed returns, in order, the indexes of every sale that was not accepted.
func (e *UploadError) Failed() []int {
	idx := make([]int, 0, e.NotAccepted())
	for _, be := range e.Batches {
		for i := be.First; i <= be.Last; i++ {
			idx = append(idx, i)
		}
	}
	return idx
}
