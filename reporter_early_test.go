package dripcel_test

import (
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// answerThenHang passes the first n uploads to the server and their
// answers back; the next one reaches the server, which stores its sales,
// but its answer is held until the request is cancelled.
type answerThenHang struct {
	n      int32
	posts  atomic.Int32
	stored chan struct{}
}

func (a *answerThenHang) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost || a.posts.Add(1) != a.n+1 {
		return resp, err
	}
	_ = resp.Body.Close()
	close(a.stored)
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// A claim is settled request by request, as Dripcel answers: a crash
// during its third request sends again only that request's sales (which
// Dripcel answers as duplicates) and the ones not yet sent, not the 20
// Dripcel had already confirmed.
func TestReporterSettlesEachRequestAsAnswered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.spool")
	writeSpool(t, path, salesFromTo(0, 40)...)
	srv := reporterServer(t)
	hang := &answerThenHang{n: 2, stored: make(chan struct{})}
	c := reporterClient(t, srv, dripcel.WithHTTPClient(&http.Client{Transport: hang}), dripcel.WithBatchSize(10))
	r := newReporter(t, c, dripcel.WithSpool(path), dripcel.WithMaxBatch(40), dripcel.WithFlushInterval(time.Hour))
	select {
	case <-hang.stored:
	case <-time.After(10 * time.Second):
		t.Fatal("the third request was never sent")
	}
	// The crash: the spool as it is on disk now, with the third answer in
	// flight (the Reporter is blocked on it and writes nothing), is what
	// the next process finds. AbandonReporter alone would not do: it lets
	// the claim settle what was answered.
	crashed := filepath.Join(t.TempDir(), "crashed.spool")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crashed, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dripcel.AbandonReporter(r)
	if n := len(srv.Sales()); n != 30 {
		t.Fatalf("server stored %d before the crash, want 30", n)
	}

	r2 := newReporter(t, reporterClient(t, srv, dripcel.WithBatchSize(10)), dripcel.WithSpool(crashed), dripcel.WithMaxBatch(40))
	if err := r2.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	st := r2.Stats()
	if st.Resumed != 20 || st.Duplicates != 10 || st.Sent != 10 {
		t.Errorf("resumed %d, duplicates %d, sent %d; want 20 (the third request's and the fourth's), 10, 10", st.Resumed, st.Duplicates, st.Sent)
	}
	stored := storedCells(srv)
	for i := range 40 {
		if stored[testCell(i)] != 1 {
			t.Errorf("sale %d stored %d times", i, stored[testCell(i)])
		}
	}
}
