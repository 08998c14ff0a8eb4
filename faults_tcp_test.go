package dripcel_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// Faults HTTP cannot express, on a raw TCP listener: resets, connections
// closed part way, answers that never come or come a byte at a time.

// tcpHandler handles the n-th request (from 1) read on conn. It returns
// false to close the connection, true to read another request from it.
type tcpHandler func(conn net.Conn, req *http.Request, n int, done <-chan struct{}) bool

// tcpServer is a loopback listener that reads HTTP requests and lets a
// tcpHandler answer them byte by byte, or not at all.
type tcpServer struct {
	ln       net.Listener
	handle   tcpHandler
	done     chan struct{}
	stop     sync.Once
	wg       sync.WaitGroup
	requests atomic.Int32

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// serveTCP starts a tcpServer, stopped when the test ends: every handler
// still waiting is released and every connection closed.
func serveTCP(t *testing.T, h tcpHandler) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpServer{ln: ln, handle: h, done: make(chan struct{}), conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *tcpServer) url() string { return "http://" + s.ln.Addr().String() }

func (s *tcpServer) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(conn)
	}
}

func (s *tcpServer) serve(conn net.Conn) {
	defer s.wg.Done()
	defer func() { _ = conn.Close() }()
	br := bufio.NewReader(conn)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		n := int(s.requests.Add(1))
		if !s.handle(conn, req, n, s.done) {
			return
		}
	}
}

// close stops the server and waits for its goroutines; it may be called
// more than once.
func (s *tcpServer) close() {
	s.stop.Do(func() {
		close(s.done)
		_ = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

// Building blocks for handlers.

const okResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"

// answerOK reads the request body and answers 200 {"ok":true}.
func answerOK(conn net.Conn, req *http.Request) bool {
	_, _ = io.Copy(io.Discard, req.Body)
	_, err := io.WriteString(conn, okResponse)
	return err == nil
}

// reset closes conn with a TCP RST rather than a FIN.
func reset(conn net.Conn) bool {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	return false
}

// hang waits until the server stops: the answer never comes.
func hang(done <-chan struct{}) bool {
	<-done
	return false
}

// trickle writes head at once and then tail one byte a second.
func trickle(conn net.Conn, head, tail string, done <-chan struct{}) bool {
	if _, err := io.WriteString(conn, head); err != nil {
		return false
	}
	for i := range len(tail) {
		select {
		case <-done:
			return false
		case <-time.After(time.Second):
		}
		if _, err := io.WriteString(conn, tail[i:i+1]); err != nil {
			return false
		}
	}
	return false
}

// faultOnce applies fault to the first request and answers the rest.
func faultOnce(fault tcpHandler) tcpHandler {
	return func(conn net.Conn, req *http.Request, n int, done <-chan struct{}) bool {
		if n == 1 {
			return fault(conn, req, n, done)
		}
		return answerOK(conn, req)
	}
}

var (
	resetAfterHeaders tcpHandler = func(conn net.Conn, _ *http.Request, _ int, _ <-chan struct{}) bool {
		return reset(conn)
	}
	// closeMidRequestBody reads half the upload body (none for a postback)
	// and hangs up.
	closeMidRequestBody tcpHandler = func(conn net.Conn, req *http.Request, _ int, _ <-chan struct{}) bool {
		_, _ = io.CopyN(io.Discard, req.Body, req.ContentLength/2)
		_ = conn.Close()
		return false
	}
	closeMidResponseBody = func(status string) tcpHandler {
		return func(conn net.Conn, req *http.Request, _ int, _ <-chan struct{}) bool {
			_, _ = io.Copy(io.Discard, req.Body)
			_, _ = io.WriteString(conn, "HTTP/1.1 "+status+"\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"ok\":")
			_ = conn.Close()
			return false
		}
	}
	headersNeverArrive tcpHandler = func(_ net.Conn, _ *http.Request, _ int, done <-chan struct{}) bool {
		return hang(done)
	}
	statusLineTrickles tcpHandler = func(conn net.Conn, _ *http.Request, _ int, done <-chan struct{}) bool {
		return trickle(conn, "", okResponse, done)
	}
	bodyTrickles = func(status string) tcpHandler {
		return func(conn net.Conn, _ *http.Request, _ int, done <-chan struct{}) bool {
			return trickle(conn, "HTTP/1.1 "+status+"\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n", `{"ok":true}`, done)
		}
	}
	notHTTP tcpHandler = func(conn net.Conn, _ *http.Request, _ int, _ <-chan struct{}) bool {
		_, _ = io.WriteString(conn, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
		return false
	}
	// echoRequestLine sends the request line back as a status line, so the
	// transport's error quotes the query: the key and the cell.
	echoRequestLine tcpHandler = func(conn net.Conn, req *http.Request, _ int, _ <-chan struct{}) bool {
		_, _ = io.WriteString(conn, "HTTP/1.1 "+req.RequestURI+" "+req.Header.Get("Authorization")+"\r\n\r\n")
		return false
	}
)

// tcpOutcome is what a raw-TCP row expects.
type tcpOutcome struct {
	ok       bool
	attempts int // exactly this many attempts by the retry layer
	status   int // an *APIError with this status; 0 for a transport error
	// timeout: the error is a timeout. A per-attempt timeout and the end of
	// the caller's context both match context.DeadlineExceeded (net/http
	// wraps it in its Client.Timeout error); only the attempt count differs.
	timeout bool
	refused bool // the error wraps ECONNREFUSED
	// sentinel is the one sentinel the error matches, if any.
	sentinel error
}

type tcpRow struct {
	name    string
	handler tcpHandler // nil: nothing listens
	opts    []dripcel.Option
	ctxWait time.Duration // a context deadline, if not zero
	want    tcpOutcome
}

func TestFaultMatrixTCP(t *testing.T) {
	t.Parallel()
	// Rows where every attempt times out use a short bound; a row whose
	// later attempt must succeed leaves room for a loaded machine.
	attemptTimeout := dripcel.WithTimeout(50 * time.Millisecond)
	roomyTimeout := dripcel.WithTimeout(500 * time.Millisecond)
	noTimeout := dripcel.WithTimeout(0)
	retried := tcpOutcome{attempts: 4}
	rows := []tcpRow{
		{name: "connection refused", want: tcpOutcome{attempts: 4, refused: true}},
		{name: "reset after request headers once", handler: faultOnce(resetAfterHeaders), want: tcpOutcome{ok: true, attempts: 2}},
		{name: "reset after request headers persistently", handler: resetAfterHeaders, want: retried},
		{name: "closes mid request body once", handler: faultOnce(closeMidRequestBody), want: tcpOutcome{ok: true, attempts: 2}},
		{name: "closes mid request body persistently", handler: closeMidRequestBody, want: retried},
		{name: "closes mid response body of a 503 once", handler: faultOnce(closeMidResponseBody("503 Service Unavailable")),
			want: tcpOutcome{ok: true, attempts: 2}},
		{name: "closes mid response body of a 503 persistently", handler: closeMidResponseBody("503 Service Unavailable"),
			want: tcpOutcome{attempts: 4, status: 503}},
		// Only Dripcel's whole envelope is a verdict: a 200 whose body is
		// cut off says nothing, and the sale is sent again (a repeat that
		// Dripcel has is refused with 409, which settles it).
		{name: "closes mid response body of a 200", handler: closeMidResponseBody("200 OK"), want: tcpOutcome{attempts: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel}},
		{name: "headers never arrive, bounded by WithTimeout", handler: headersNeverArrive, opts: []dripcel.Option{attemptTimeout},
			want: tcpOutcome{attempts: 4, timeout: true}},
		{name: "headers never arrive once", handler: faultOnce(headersNeverArrive), opts: []dripcel.Option{roomyTimeout},
			want: tcpOutcome{ok: true, attempts: 2}},
		{name: "headers never arrive, bounded by the context", handler: headersNeverArrive, opts: []dripcel.Option{noTimeout},
			ctxWait: 150 * time.Millisecond, want: tcpOutcome{attempts: 1, timeout: true}},
		{name: "status line trickles 1 byte/s", handler: statusLineTrickles, opts: []dripcel.Option{attemptTimeout},
			want: tcpOutcome{attempts: 4, timeout: true}},
		{name: "body of a 503 trickles 1 byte/s", handler: bodyTrickles("503 Service Unavailable"), opts: []dripcel.Option{attemptTimeout},
			want: tcpOutcome{attempts: 4, status: 503}},
		{name: "body of a 200 trickles 1 byte/s", handler: bodyTrickles("200 OK"), opts: []dripcel.Option{roomyTimeout},
			want: tcpOutcome{attempts: 4, status: 200, sentinel: dripcel.ErrNotFromDripcel}},
		{name: "body trickles 1 byte/s, bounded by the context", handler: bodyTrickles("503 Service Unavailable"),
			opts: []dripcel.Option{noTimeout}, ctxWait: 150 * time.Millisecond, want: tcpOutcome{attempts: 1, timeout: true}},
		{name: "answer is not HTTP", handler: notHTTP, want: retried},
		{name: "answer echoes the request line", handler: echoRequestLine, want: retried},
	}
	for _, row := range rows {
		for _, call := range faultCalls {
			t.Run(row.name+"/"+call.name, func(t *testing.T) {
				t.Parallel()
				base := closedAddress(t)
				var srv *tcpServer
				if row.handler != nil {
					srv = serveTCP(t, row.handler)
					base = srv.url()
				}
				r := newRig(t, base, row.opts...)
				ctx := context.Background()
				if row.ctxWait > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, row.ctxWait)
					defer cancel()
				}
				err := call.run(ctx, r.client)
				row.want.check(t, err, int(r.attempts.n.Load()))
				// The transport may resend an idempotent GET on a reused
				// connection by itself, so the server can see more requests
				// than the retry layer made, never fewer.
				if srv != nil && int(srv.requests.Load()) < int(r.attempts.n.Load()) {
					t.Errorf("server read %d requests, client made %d attempts", srv.requests.Load(), r.attempts.n.Load())
				}
				r.checkSecrets(t, err)
			})
		}
	}
}

func (want tcpOutcome) check(t *testing.T, err error, attempts int) {
	t.Helper()
	if attempts != want.attempts {
		t.Errorf("client made %d attempts, want %d (err: %v)", attempts, want.attempts, err)
	}
	if !expectErr(t, err, want.ok) {
		return
	}
	checkSentinel(t, err, want.sentinel)
	if f := dripcel.FateOf(err); f != dripcel.NotDelivered {
		t.Errorf("FateOf(err) = %v, want not delivered", f)
	}
	var apiErr *dripcel.APIError
	if isAPI := errors.As(err, &apiErr); isAPI != (want.status != 0) || (isAPI && apiErr.StatusCode != want.status) {
		t.Errorf("err = %v (%T), want status %d", err, err, want.status)
	}
	var ne net.Error
	if got := errors.As(err, &ne) && ne.Timeout(); got != want.timeout {
		t.Errorf("timeout = %v, want %v: %v", got, want.timeout, err)
	}
	if got := errors.Is(err, context.DeadlineExceeded); got != want.timeout {
		t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v: %v", got, want.timeout, err)
	}
	if got := errors.Is(err, syscall.ECONNREFUSED); got != want.refused {
		t.Errorf("errors.Is(err, ECONNREFUSED) = %v, want %v: %v", got, want.refused, err)
	}
	if want.attempts > 1 && want.status == 0 && !strings.Contains(err.Error(), "giving up after") {
		t.Errorf("error does not say it gave up after retrying: %v", err)
	}
}

// closedAddress is an address where nothing listens: connections to it are
// refused.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}
