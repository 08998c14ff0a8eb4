package dripcel_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jarcoal/httpmock"
)

// canaryKey is the API key every test uses; no error, log line or printed
// value may ever contain it.
const canaryKey = "canary-KEY-3f9a7c21"

// fastRetries keeps retry waits short so tests of retries run quickly, and
// sets testBudget.
var fastRetries = dripcel.JoinOptions(dripcel.WithRetryWait(time.Millisecond, 2*time.Millisecond), testBudget)

// testBudget is a rate budget no test reaches (a million requests a
// millisecond), for tests of the wire rather than of the pacing. Its window
// is a millisecond, so every wait derived from it (after a 429 without
// Retry-After, the fault backoff unless WithRetryWait sets it) is a
// millisecond or less.
var testBudget = dripcel.WithRateLimit(1_000_000, time.Millisecond)

// logBuffer collects every log line the client writes, at every level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// mockClient returns a client whose requests go to a fresh httpmock
// transport under a path prefix. An unmatched request fails the test rather
// than being retried as a network error.
func mockClient(t *testing.T, opts ...dripcel.Option) (*dripcel.Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", req.Method, req.URL.Path)
		return httpmock.NewStringResponse(http.StatusTeapot, ""), nil
	})
	all := append([]dripcel.Option{
		dripcel.WithBaseURL("https://dripcel.test/prefix"),
		dripcel.WithHTTPClient(&http.Client{Transport: mt}),
		fastRetries,
	}, opts...)
	c, err := dripcel.NewClient(canaryKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c, mt
}

// recorded is one request a test server saw.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// recordingServer is an httptest server that records requests and answers
// each with the next of its replies (the last one repeats).
type recordingServer struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	replies []func(w http.ResponseWriter)
}

func newRecordingServer(t *testing.T, replies ...func(w http.ResponseWriter)) *recordingServer {
	t.Helper()
	rs := &recordingServer{replies: replies}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		n := len(rs.reqs)
		rs.reqs = append(rs.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		reply := rs.replies[min(n, len(rs.replies)-1)]
		rs.mu.Unlock()
		reply(w)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *recordingServer) requests() []recorded {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]recorded(nil), rs.reqs...)
}

// status answers with code, the given headers (name, value pairs) and body.
func status(code int, body string, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

var ok200 = status(http.StatusOK, `{"ok":true}`)

// assertNoKey fails the test if the canary key is in any rendering of err
// or in the logs.
func assertNoKey(t *testing.T, err error, logs string) {
	t.Helper()
	if err != nil {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if s := fmt.Sprintf(verb, err); strings.Contains(s, canaryKey) || strings.Contains(s, fmt.Sprintf("%x", canaryKey)) {
				t.Errorf("error rendered with %s holds the API key: %s", verb, s)
			}
		}
	}
	if strings.Contains(logs, canaryKey) {
		t.Errorf("logs hold the API key:\n%s", logs)
	}
}

func sale(i int) dripcel.Sale {
	return dripcel.Sale{CampaignID: "camp-1", Cell: fmt.Sprintf("2763%07d", i)}
}

func salesN(n int) []dripcel.Sale {
	s := make([]dripcel.Sale, n)
	for i := range s {
		s[i] = sale(i)
	}
	return s
}
