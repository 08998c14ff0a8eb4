package dripcel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// batchServer answers each upload batch as told by its number (from 1) and
// records the sales of every batch it accepts. A sale's click_id is its
// index in the upload.
type batchServer struct {
	size     int
	answers  map[int]answer // by batch; 200 when absent
	mu       sync.Mutex
	accepted []int
	requests []int // batch number of each request
}

func (b *batchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var sales []struct {
		ClickID string `json:"click_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&sales); err != nil || len(sales) == 0 {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	first, _ := strconv.Atoi(sales[0].ClickID)
	batch := first/b.size + 1
	a, ok := b.answers[batch]
	if !ok {
		a = okAnswer()
	}
	b.mu.Lock()
	b.requests = append(b.requests, batch)
	if a.status == http.StatusOK {
		for _, s := range sales {
			i, _ := strconv.Atoi(s.ClickID)
			b.accepted = append(b.accepted, i)
		}
	}
	b.mu.Unlock()
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

// uploadSales are n valid sales whose click IDs are their indexes.
func uploadSales(n int) []dripcel.Sale {
	sales := make([]dripcel.Sale, n)
	for i := range sales {
		sales[i] = dripcel.Sale{Cell: fmt.Sprintf("2782%07d", i), ClickID: strconv.Itoa(i)}
	}
	return sales
}

// wantBatch is a *BatchError expected in an *UploadError.
type wantBatch struct {
	first, last int
	sent        bool
	cause       error // errors.Is target
	status      int   // the *APIError's status, when sent
}

func TestFaultUploadAggregate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answers  map[int]answer
		requests []int // batch of each request, in order
		want     []wantBatch
		message  []string // in the error string
	}{
		{
			// The row. The refused batch 2 is sent again sale by
			// sale (this server refuses its sales however they come). The
			// 401 stops the upload: batch 4 (and its 503s) is never sent,
			// which the error says.
			name:     "409 in batch 2, 401 in batch 3, 503 forever in batch 4",
			answers:  map[int]answer{2: {409, nil, envelope("Duplicate sale")}, 3: statusAnswer(401), 4: statusAnswer(503)},
			requests: []int{1, 2, 2, 2, 3},
			want: []wantBatch{
				{2, 2, true, dripcel.ErrDuplicateSale, 409},
				{3, 3, true, dripcel.ErrDuplicateSale, 409},
				{4, 5, true, dripcel.ErrUnauthorized, 401},
				{6, 9, false, nil, 0},
			},
			message: []string{"8 of 10 sales not recorded by this upload", "sale 2 already recorded", "409 Duplicate sale",
				"sales 4-5 not delivered", "401 Unauthorized", "sales 6-9 not sent"},
		},
		{
			name:     "409 in batch 2, 503 forever in batch 4",
			answers:  map[int]answer{2: {409, nil, envelope("Duplicate sale")}, 4: statusAnswer(503)},
			requests: []int{1, 2, 2, 2, 3, 4, 4, 4, 4},
			want: []wantBatch{
				{2, 2, true, dripcel.ErrDuplicateSale, 409},
				{3, 3, true, dripcel.ErrDuplicateSale, 409},
				{6, 7, true, nil, 503},
				{8, 9, false, nil, 0},
			},
			message: []string{"6 of 10 sales not recorded by this upload", "sales 6-7 not delivered", "503 Service Unavailable after 4 attempts",
				"sales 8-9 not sent"},
		},
		{
			name:     "404 in batch 1 does not stop the others",
			answers:  map[int]answer{1: {404, nil, envelope("Campaign not found")}},
			requests: []int{1, 1, 1, 2, 3, 4, 5},
			want:     []wantBatch{{0, 0, true, dripcel.ErrCampaignNotFound, 404}, {1, 1, true, dripcel.ErrCampaignNotFound, 404}},
			message:  []string{"2 of 10 sales not recorded by this upload", "sale 0 refused", "404 Campaign not found"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bs := &batchServer{size: 2, answers: tc.answers}
			srv := httptest.NewServer(bs)
			t.Cleanup(srv.Close)
			r := newRig(t, srv.URL, dripcel.WithBatchSize(2))
			sales := uploadSales(10)
			err := r.client.UploadSales(context.Background(), sales)
			srv.Close()

			var ue *dripcel.UploadError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want an *UploadError", err)
			}
			if !slices.Equal(bs.requests, tc.requests) {
				t.Errorf("batches sent %v, want %v", bs.requests, tc.requests)
			}
			checkBatches(t, ue, tc.want)
			// Every sale is either accepted by the server or named by the
			// error, never both, never neither.
			failed := ue.Failed()
			for i := range sales {
				if slices.Contains(bs.accepted, i) == slices.Contains(failed, i) {
					t.Errorf("sale %d: accepted %v, reported failed %v", i, slices.Contains(bs.accepted, i), slices.Contains(failed, i))
				}
			}
			for _, m := range tc.message {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			r.checkSecrets(t, err)
		})
	}
}

func checkBatches(t *testing.T, ue *dripcel.UploadError, want []wantBatch) {
	t.Helper()
	if len(ue.Batches) != len(want) {
		t.Fatalf("batches = %v, want %d", ue.Batches, len(want))
	}
	for i, w := range want {
		b := ue.Batches[i]
		if b.First != w.first || b.Last != w.last || b.Sent != w.sent {
			t.Errorf("batch %d = %d-%d sent %v, want %d-%d sent %v", i, b.First, b.Last, b.Sent, w.first, w.last, w.sent)
		}
		fate := dripcel.NotDelivered
		switch {
		case w.sent && errors.Is(w.cause, dripcel.ErrDuplicateSale):
			fate = dripcel.AlreadyRecorded
		case w.sent && errors.Is(w.cause, dripcel.ErrCampaignNotFound):
			fate = dripcel.Refused
		}
		if b.Fate != fate || ue.Outcome(b.First).Fate != fate || !errors.Is(ue.Outcome(b.Last).Err, b.Err) {
			t.Errorf("batch %d: fate %v (outcome %v), want %v", i, b.Fate, ue.Outcome(b.First), fate)
		}
		if w.cause != nil && !errors.Is(b, w.cause) {
			t.Errorf("batch %d: %v, want %v", i, b, w.cause)
		}
		var apiErr *dripcel.APIError
		if got := errors.As(b, &apiErr); got != (w.status != 0) || got && apiErr.StatusCode != w.status {
			t.Errorf("batch %d: %v, want status %d", i, b, w.status)
		}
	}
}

// Cancelling during batch 2 of 5: batch 2 fails with the context's error,
// batches 3-5 are reported not sent, and nothing more reaches the server.
func TestFaultUploadCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	bs := &batchServer{size: 2, answers: map[int]answer{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs.mu.Lock()
		second := len(bs.requests) == 1
		if second {
			bs.requests = append(bs.requests, 2)
		}
		bs.mu.Unlock()
		if second {
			// The server notices a hang-up only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			cancel()
			<-r.Context().Done() // the client hangs up
			return
		}
		bs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	r := newRig(t, srv.URL, dripcel.WithBatchSize(2))
	err := r.client.UploadSales(ctx, uploadSales(10))
	srv.Close()

	var ue *dripcel.UploadError
	if !errors.As(err, &ue) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want an *UploadError wrapping context.Canceled", err)
	}
	checkBatches(t, ue, []wantBatch{{2, 3, true, context.Canceled, 0}, {4, 9, false, context.Canceled, 0}})
	if !slices.Equal(bs.requests, []int{1, 2}) || !slices.Equal(bs.accepted, []int{0, 1}) {
		t.Errorf("server got batches %v and accepted %v, want [1 2] and [0 1]", bs.requests, bs.accepted)
	}
	r.checkSecrets(t, err)
}
