package dripcelpg_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// TestOutboxKeepsSalesOnAWrongPath: Dripcel's router answers a path it does
// not have with 404 in its envelope, naming no campaign, send or click. That
// says the base URL is wrong, not that the sales are bad: they stay queued,
// and nothing moves to the rejected table or reaches OnRejected.
func TestOutboxKeepsSalesOnAWrongPath(t *testing.T) {
	pool, schema := testSchema(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"ok":false,"error":"Not found"}`))
	}))
	t.Cleanup(srv.Close)
	c := client(t, srv.URL+"/v1", "key")
	o := newOutbox(t, pool, c, schema)
	enqueue(t, pool, o, sale(1), sale(2))

	var rejected atomic.Int64
	r := deliverer(t, c, o, dripcel.WithOnRejected(func(dripcel.Sale, error) { rejected.Add(1) }))
	if err := r.Flush(within(t, 300*time.Millisecond)); err == nil {
		t.Fatal("Flush returned nil while every answer was a 404 about the path")
	}
	if st := stats(t, o); st.Queued != 2 || st.Rejected != 0 {
		t.Errorf("outbox: %d queued, %d rejected; want 2, 0", st.Queued, st.Rejected)
	}
	if n := rejected.Load(); n != 0 {
		t.Errorf("%d sales handed to OnRejected", n)
	}
}
