package dripcelpg_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/dripceltest"
)

const hostile = `<script>alert("x")</script>`

// statusOutbox is an outbox with one sale queued and two rejected, one
// of them with a Ref and a refusal holding markup.
func statusOutbox(t *testing.T) (*dripcelpg.Outbox, *dripceltest.Server) {
	t.Helper()
	pool, schema := testSchema(t)
	srv := fakeDripcel(t, dripceltest.WithSaleCheck(func(s dripceltest.Sale) error {
		if s.SaleValue < 0 {
			return errors.New("saleValue " + hostile + " is negative")
		}
		return nil
	}))
	c := client(t, srv.URL, srv.Key)
	o := newOutbox(t, pool, c, schema)
	bad := sale(1)
	bad.Ref = hostile
	bad.SaleValue = dripcel.Value(-1)
	lost := sale(2)
	lost.CampaignID = "deleted-campaign"
	enqueue(t, pool, o, bad, lost)
	r := deliverer(t, c, o)
	if err := r.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	enqueue(t, pool, o, sale(3)) // queued: no one delivers now
	return o, srv
}

func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestStatusPageShowsAndEscapes: the page shows the figures and the
// rejected sales with Dripcel's reasons, and a Ref or a message holding
// markup is shown as text, never run.
func TestStatusPageShowsAndEscapes(t *testing.T) {
	o, _ := statusOutbox(t)
	page := httptest.NewServer(http.StripPrefix("/admin/dripcel", dripcelpg.StatusHandler(o)))
	t.Cleanup(page.Close)

	status, body := get(t, page.URL+"/admin/dripcel/", nil)
	if status != http.StatusOK {
		t.Fatalf("status %d:\n%s", status, body)
	}
	for _, want := range []string{
		`<dd id="queued">1</dd>`, `<dd id="rejected">2</dd>`,
		"Campaign not found", "campaign deleted-campaign", cell(2),
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, hostile) || strings.Contains(body, "<script") {
		t.Error("page holds markup from a Ref or a refusal unescaped")
	}
	if strings.Contains(body, "Send again") {
		t.Error("page offers to send again without WithRetryAction")
	}
	_, filtered := get(t, page.URL+"/admin/dripcel/?message="+url.QueryEscape("not found"), nil)
	if strings.Contains(filtered, "negative") || !strings.Contains(filtered, "Campaign not found") {
		t.Error("the message filter did not choose the refusal for the campaign alone")
	}
	resp, err := http.PostForm(page.URL+"/admin/dripcel/", url.Values{"id": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST without WithRetryAction: %d, want 405", resp.StatusCode)
	}
}

// TestStatusPageRetry: with WithRetryAction a same-origin POST moves the
// chosen sale back to the queue and redirects to the page; a cross-site
// POST is refused and moves nothing.
func TestStatusPageRetry(t *testing.T) {
	o, _ := statusOutbox(t)
	page := httptest.NewServer(dripcelpg.StatusHandler(o, dripcelpg.WithRetryAction()))
	t.Cleanup(page.Close)
	rejected := rejectedIDs(t, o)

	post := func(site string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, page.URL+"/?x=1",
			strings.NewReader(url.Values{"id": {rejected[0]}, "message": {"not found"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	if resp := post("cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if st := stats(t, o); st.Rejected != 2 {
		t.Fatalf("a cross-site POST moved sales: %d rejected", st.Rejected)
	}
	resp := post("same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "?retried=1&message=not+found" {
		t.Fatalf("same-origin POST: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := stats(t, o); st.Rejected != 1 || st.Queued != 2 {
		t.Errorf("after the retry: %d rejected, %d queued; want 1, 2", st.Rejected, st.Queued)
	}
	_, body := get(t, page.URL+"/?retried=1", nil)
	if !strings.Contains(body, "1 rejected sale moved back to the queue.") {
		t.Error("the page does not say what the retry did")
	}
}

// rejectedIDs are the rejected sales' row IDs, as the page's buttons
// carry them.
func rejectedIDs(t *testing.T, o *dripcelpg.Outbox) []string {
	t.Helper()
	rs, err := o.Rejected(t.Context(), dripcelpg.RejectedFilter{Message: "not found"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, strconv.FormatInt(r.ID, 10))
	}
	return ids
}
