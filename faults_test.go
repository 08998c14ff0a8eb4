package dripcel_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// The fault matrix: every fault Dripcel, a proxy or the network can produce,
// run against both UploadSales and Postback, with the key and the customer's
// cell checked for in every error and log line of every row. Faults that
// HTTP cannot express are in faults_tcp_test.go.

// answer is one scripted response.
type answer struct {
	status int
	header map[string]string
	body   string
}

func envelope(msg string) string { return `{"ok":false,"error":"` + msg + `"}` }

// seen is one request as the scripted server received it.
type seen struct {
	at       time.Time
	method   string
	path     string
	rawQuery string
	header   http.Header
	body     []byte
}

// script is a server that gives the i-th request answers[i], repeating the
// last answer once they run out, and records every request.
type script struct {
	mu      sync.Mutex
	answers []answer
	got     []seen
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	a := s.answers[min(len(s.got), len(s.answers)-1)]
	s.got = append(s.got, seen{at: time.Now(), method: r.Method, path: r.URL.Path,
		rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: body})
	s.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if _, ok := a.header["Content-Type"]; !ok {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (s *script) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.got...)
}

// serveScript starts a scripted server, closed when the test ends.
func serveScript(t *testing.T, answers ...answer) (*httptest.Server, *script) {
	t.Helper()
	s := &script{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, s
}

// outcome is what a row expects of a call.
type outcome struct {
	ok         bool          // the call returns nil
	requests   int           // exactly this many reach the server
	status     int           // the *APIError's status
	sentinel   error         // the one sentinel matched, or none
	message    string        // APIError.Message
	code       string        // APIError.Code
	body       string        // APIError.Body holds this
	retryAfter time.Duration // APIError.RetryAfter
	minGap     time.Duration // at least this long between the first two requests
	location   string        // APIError.Location ends with this
}

// fate is the Fate the call's error must have under FateOf.
func (want outcome) fate() dripcel.Fate {
	switch {
	case want.ok:
		return dripcel.Recorded
	case errors.Is(want.sentinel, dripcel.ErrDuplicateSale):
		return dripcel.AlreadyRecorded
	case errors.Is(want.sentinel, dripcel.ErrCampaignNotFound),
		want.sentinel == nil && want.status != 0 && want.status < 500:
		return dripcel.Refused
	}
	return dripcel.NotDelivered
}

// check compares a call's result with want. It works for both calls: an
// upload of one sale fails as an *UploadError whose one batch wraps the
// error Postback would return.
func (want outcome) check(t *testing.T, err error, got []seen) {
	t.Helper()
	if len(got) != want.requests {
		t.Errorf("server got %d requests, want %d", len(got), want.requests)
	}
	if want.minGap > 0 && len(got) >= 2 {
		if gap := got[1].at.Sub(got[0].at); gap < want.minGap {
			t.Errorf("second request came %s after the first; Retry-After asked for %s", gap, want.minGap)
		}
	}
	if f := dripcel.FateOf(err); f != want.fate() {
		t.Errorf("FateOf(err) = %v, want %v", f, want.fate())
	}
	if !expectErr(t, err, want.ok) {
		return
	}
	checkSentinel(t, err, want.sentinel)
	var ue *dripcel.UploadError
	if errors.As(err, &ue) {
		if f := ue.Failed(); len(f) != 1 || f[0] != 0 || !ue.Batches[0].Sent {
			t.Errorf("UploadError = %+v, want sale 0 sent and not accepted", ue.Batches)
		}
	}
	var apiErr *dripcel.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an *APIError", err)
	}
	// An HTTP-date Retry-After is read against the clock, to the second.
	// The rows are built before they run, on a machine that may be busy.
	driftOK := apiErr.RetryAfter <= want.retryAfter && apiErr.RetryAfter > want.retryAfter-time.Minute
	if apiErr.StatusCode != want.status || apiErr.Message != want.message || apiErr.Code != want.code ||
		!driftOK || !strings.Contains(apiErr.Body, want.body) {
		t.Errorf("APIError = %+v\nwant status %d, message %q, code %q, body holding %q, RetryAfter %s",
			*apiErr, want.status, want.message, want.code, want.body, want.retryAfter)
	}
	if !strings.HasSuffix(apiErr.Location, want.location) || (want.location == "") != (apiErr.Location == "") {
		t.Errorf("APIError.Location = %q, want it to end with %q", apiErr.Location, want.location)
	}
	if apiErr.Attempts != want.requests {
		t.Errorf("APIError.Attempts = %d, want %d", apiErr.Attempts, want.requests)
	}
	if len(err.Error()) > 600 || strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("error string is %d bytes or spans lines: %q", len(err.Error()), err)
	}
}

type faultRow struct {
	name    string
	answers []answer
	want    outcome
}

func okAnswer() answer { return answer{status: 200, body: `{"ok":true}`} }

// htmlPage is a page from something between the client and Dripcel.
func htmlPage(code int, body string) answer {
	return answer{status: code, header: map[string]string{"Content-Type": "text/html"}, body: body}
}

func statusAnswer(code int) answer {
	return answer{status: code, body: envelope(http.StatusText(code))}
}

func rateLimit(retryAfter string) answer {
	return answer{status: 429, header: map[string]string{"Retry-After": retryAfter}, body: envelope("Too Many Requests")}
}

// faultRows are the rows HTTP can express. With the default 3 retries a
// call makes at most 4 requests.
func faultRows() []faultRow {
	var rows []faultRow
	for _, code := range []int{500, 502, 503, 504} {
		text := http.StatusText(code)
		rows = append(rows,
			faultRow{text + " once", []answer{statusAnswer(code), okAnswer()}, outcome{ok: true, requests: 2}},
			faultRow{text + " persistently", []answer{statusAnswer(code)},
				outcome{requests: 4, status: code, message: text}},
		)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	limited := outcome{status: 429, sentinel: dripcel.ErrRateLimited, message: "Too Many Requests"}
	with := func(o outcome, requests int, retryAfter time.Duration) outcome {
		o.requests, o.retryAfter = requests, retryAfter
		return o
	}
	rows = append(rows,
		faultRow{"429 Retry-After 0 once", []answer{rateLimit("0"), okAnswer()}, outcome{ok: true, requests: 2}},
		faultRow{"429 Retry-After 0 persistently", []answer{rateLimit("0")}, with(limited, 1+dripcel.DefaultMaxRateLimitWaits, 0)},
		faultRow{"429 Retry-After 1 is honoured", []answer{rateLimit("1"), okAnswer()},
			outcome{ok: true, requests: 2, minGap: time.Second}},
		faultRow{"429 Retry-After past HTTP date", []answer{rateLimit(past), okAnswer()}, outcome{ok: true, requests: 2}},
		faultRow{"429 Retry-After 3600 fails fast", []answer{rateLimit("3600")}, with(limited, 1, time.Hour)},
		faultRow{"429 Retry-After HTTP date 2h ahead fails fast", []answer{rateLimit(future)}, with(limited, 1, 2*time.Hour)},
		faultRow{"429 Retry-After garbage uses the backoff", []answer{rateLimit("soon, maybe"), okAnswer()},
			outcome{ok: true, requests: 2}},
		// The rig's budget has a window of a millisecond: the wait without
		// a usable Retry-After, and the one the error says to keep.
		faultRow{"429 Retry-After garbage persistently", []answer{rateLimit("soon, maybe")},
			with(limited, 1+dripcel.DefaultMaxRateLimitWaits, time.Millisecond)},
		faultRow{"503 Retry-After 3600 fails fast",
			[]answer{{status: 503, header: map[string]string{"Retry-After": "3600"}, body: envelope("Service Unavailable")}},
			outcome{requests: 1, status: 503, message: "Service Unavailable", retryAfter: time.Hour}},

		// Answers not from Dripcel: only its JSON envelope settles a sale.
		// Each is retried like a 5xx and then reported as ErrNotFromDripcel,
		// never as a success or a refusal.
		faultRow{"200 truncated JSON", []answer{{status: 200, body: `{"ok":tr`}},
			outcome{requests: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel, message: "OK", body: `{"ok":tr`}},
		faultRow{"200 cut off false", []answer{{status: 200, body: `{"ok":fa`}},
			outcome{requests: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel, message: "OK", body: `{"ok":fa`}},
		faultRow{"200 ok as a string", []answer{{status: 200, body: `{"ok":"false"}`}},
			outcome{requests: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel, message: "OK", body: `{"ok":"false"}`}},
		faultRow{"200 HTML page", []answer{htmlPage(200, "<html><body>Welcome</body></html>")},
			outcome{requests: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel, message: "OK", body: "<html><body>Welcome"}},
		faultRow{"200 HTML page once", []answer{htmlPage(200, "<html>maintenance</html>"), okAnswer()},
			outcome{ok: true, requests: 2}},
		faultRow{"302 to a login page", []answer{{status: 302, header: map[string]string{"Location": "/login?next=%2Fsales"}}},
			outcome{requests: 4, status: 302, sentinel: dripcel.ErrNotFromDripcel, message: "Found", location: "/login"}},
		faultRow{"302 once", []answer{{status: 302, header: map[string]string{"Location": "/login"}}, okAnswer()},
			outcome{ok: true, requests: 2}},
		faultRow{"404 HTML page", []answer{htmlPage(404, "<html><center>nginx</center></html>")},
			outcome{requests: 4, status: 404, sentinel: dripcel.ErrNotFromDripcel, message: "Not Found", body: "<html><center>nginx"}},
		faultRow{"405 HTML page", []answer{htmlPage(405, "<html>Method Not Allowed</html>")},
			outcome{requests: 4, status: 405, sentinel: dripcel.ErrNotFromDripcel, message: "Method Not Allowed", body: "<html>Method"}},
		faultRow{"409 HTML page", []answer{htmlPage(409, "<html>Conflict</html>")},
			outcome{requests: 4, status: 409, sentinel: dripcel.ErrNotFromDripcel, message: "Conflict", body: "<html>Conflict"}},
		faultRow{"410 HTML page", []answer{htmlPage(410, "<html>Gone</html>")},
			outcome{requests: 4, status: 410, sentinel: dripcel.ErrNotFromDripcel, message: "Gone", body: "<html>Gone"}},
		faultRow{"404 truncated JSON", []answer{{status: 404, body: `{"ok":false,"error":"Campaign not fo`}},
			outcome{requests: 4, status: 404, sentinel: dripcel.ErrNotFromDripcel, message: "Not Found",
				body: `{"ok":false,"error":"Campaign not fo`}},
		faultRow{"500 HTML page", []answer{{status: 500, header: map[string]string{"Content-Type": "text/html"},
			body: "<html>\n<body><h1>500 Internal Server Error</h1></body>\n</html>"}},
			outcome{requests: 4, status: 500, message: "Internal Server Error", body: "<html> <body><h1>500"}},
		faultRow{"400 HTML page", []answer{{status: 400, header: map[string]string{"Content-Type": "text/html"},
			body: "<html><body>Bad Request</body></html>"}},
			outcome{requests: 4, status: 400, sentinel: dripcel.ErrNotFromDripcel, message: "Bad Request", body: "<html><body>Bad Request"}},
		faultRow{"200 empty body", []answer{{status: 200}}, outcome{requests: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel, message: "OK"}},
		faultRow{"409 empty body", []answer{{status: 409}},
			outcome{requests: 4, status: 409, sentinel: dripcel.ErrNotFromDripcel, message: "Conflict"}},
		faultRow{"409 as text/plain", []answer{{status: 409, header: map[string]string{"Content-Type": "text/plain"},
			body: envelope("Duplicate sale")}},
			outcome{requests: 1, status: 409, sentinel: dripcel.ErrDuplicateSale, message: "Duplicate sale"}},
		faultRow{"200 as text/html", []answer{{status: 200, header: map[string]string{"Content-Type": "text/html"},
			body: `{"ok":true}`}}, outcome{ok: true, requests: 1}},
		faultRow{"200 null", []answer{{status: 200, body: "null"}}, outcome{requests: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel, message: "OK", body: "null"}},
		faultRow{"400 null", []answer{{status: 400, body: "null"}},
			outcome{requests: 4, status: 400, sentinel: dripcel.ErrNotFromDripcel, message: "Bad Request", body: "null"}},
		faultRow{"201", []answer{{status: 201, body: `{"ok":true}`}}, outcome{ok: true, requests: 1}},
		faultRow{"201 empty", []answer{{status: 201}}, outcome{requests: 4, status: 201, sentinel: dripcel.ErrNotFromDripcel, message: "Created"}},
		faultRow{"204", []answer{{status: 204}}, outcome{requests: 4, status: 204, sentinel: dripcel.ErrNotFromDripcel, message: "No Content"}},
		faultRow{"200 ok:false duplicate", []answer{{status: 200, body: envelope("Duplicate sale")}},
			outcome{requests: 1, status: 200, sentinel: dripcel.ErrDuplicateSale, message: "Duplicate sale"}},
		faultRow{"200 ok:false error object", []answer{{status: 200,
			body: `{"ok":false,"error":{"code":"E42","message":"quota exceeded"}}`}},
			outcome{requests: 1, status: 200, message: "quota exceeded", code: "E42"}},
		faultRow{"404 message of 57 KB over many lines", []answer{{status: 404,
			body: envelope(strings.Repeat(`Campaign\nnot found\r\n`, 2500))}},
			outcome{requests: 1, status: 404, sentinel: dripcel.ErrCampaignNotFound,
				message: strings.Repeat("Campaign not found  ", 10) + "…"}},
		faultRow{"400 never retried", []answer{statusAnswer(400)}, outcome{requests: 1, status: 400, message: "Bad Request"}},
		faultRow{"404 never retried", []answer{{status: 404, body: envelope("Campaign not found")}},
			outcome{requests: 1, status: 404, sentinel: dripcel.ErrCampaignNotFound, message: "Campaign not found"}},
		faultRow{"409 never retried", []answer{{status: 409, body: envelope("Duplicate sale")}},
			outcome{requests: 1, status: 409, sentinel: dripcel.ErrDuplicateSale, message: "Duplicate sale"}},
		faultRow{"401 never retried", []answer{statusAnswer(401)},
			outcome{requests: 1, status: 401, sentinel: dripcel.ErrUnauthorized, message: "Unauthorized"}},
		faultRow{"403 never retried", []answer{statusAnswer(403)},
			outcome{requests: 1, status: 403, sentinel: dripcel.ErrUnauthorized, message: "Forbidden"}},
		faultRow{"501 never retried", []answer{statusAnswer(501)}, outcome{requests: 1, status: 501, message: "Not Implemented"}},
	)
	return rows
}

func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, row := range faultRows() {
		for _, call := range faultCalls {
			t.Run(row.name+"/"+call.name, func(t *testing.T) {
				t.Parallel()
				srv, s := serveScript(t, row.answers...)
				r := newRig(t, srv.URL)
				err := call.run(context.Background(), r.client)
				got := s.requests()
				row.want.check(t, err, got)
				if n := int(r.attempts.n.Load()); n != len(got) {
					t.Errorf("client made %d attempts, server saw %d requests", n, len(got))
				}
				r.checkSecrets(t, err)
			})
		}
	}
}
