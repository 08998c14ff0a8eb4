package postback_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripceltest"
)

func TestPostback(t *testing.T) {
	srv := newServer(t, dripceltest.WithClock(fixedNow))
	r := runCLI(t, env(srv), "postback", "--campaign", "c1", "--cell", "063 123 1234", "--region", "ZA",
		"--sold-at", "2025-10-14 09:02:51", "--value", "199.99")
	r.WantCode(t, 0)
	wantContains(t, "stdout", r.Stdout, "recorded: campaign c1, cell 27631231234")
	r = runCLI(t, env(srv), "postback", "--campaign", "c2", "--cell", "27821234567")
	r.WantCode(t, 0)
	// By the click alone, as a checkout that kept it reports: the sale
	// counts for the click's campaign, c2.
	r = runCLI(t, env(srv), "postback", "--click-id", click2, "--cell", "27725550101", "--sold-at", "2025-10-14")
	r.WantCode(t, 0)
	wantContains(t, "stdout", r.Stdout, "recorded: click k-2, cell 27725550101")
	r = runCLI(t, env(srv), "postback", "--send-id", send1, "--cell", "27725550101", "--sold-at", "2025-10-15")
	r.WantCode(t, 0)
	wantContains(t, "stdout", r.Stdout, "recorded: send s-1, cell 27725550101")
	wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14 09:02:51" value=199.99 send="" click=""
c2 27821234567 raw="27821234567" soldAt="2025-11-01 12:00:00" value=default send="" click=""
c2 27725550101 raw="27725550101" soldAt="2025-10-14" value=default send="" click="k-2"
c1 27725550101 raw="27725550101" soldAt="2025-10-15" value=default send="s-1" click=""
`)
	for _, s := range srv.Sales() {
		if s.Via != "postback" {
			t.Errorf("sale sent by %s, want postback", s.Via)
		}
	}

	t.Run("duplicate", func(t *testing.T) {
		r := runCLI(t, env(srv), "postback", "--campaign", "c1", "--cell", "27631231234", "--sold-at", "2025-10-14")
		r.WantCode(t, 0)
		wantContains(t, "stdout", r.Stdout, "already in Dripcel: campaign c1, cell 27631231234")
	})
	t.Run("duplicate by click", func(t *testing.T) {
		// The click's campaign, cell and date are those of a sale Dripcel has.
		r := runCLI(t, env(srv), "postback", "--click-id", click2, "--cell", "27725550101", "--sold-at", "2025-10-14")
		r.WantCode(t, 0)
		wantContains(t, "stdout", r.Stdout, "already in Dripcel: click k-2, cell 27725550101")
	})
	t.Run("unknown campaign", func(t *testing.T) {
		r := runCLI(t, env(srv), "postback", "--campaign", "nope", "--cell", "27631231234")
		r.WantCode(t, 1)
		wantContains(t, "stderr", r.Stderr, `campaign not found: "nope"`)
	})
	t.Run("unknown click", func(t *testing.T) {
		r := runCLI(t, env(srv), "postback", "--click-id", "nope", "--cell", "27631231234")
		r.WantCode(t, 1)
		wantContains(t, "stderr", r.Stderr, `click not found: "nope"`)
	})
	t.Run("wrong key", func(t *testing.T) {
		r := runCLI(t, map[string]string{"DRIPCEL_API_KEY": "canary-wrong-key-31c9", "DRIPCEL_BASE_URL": srv.URL},
			"postback", "--campaign", "c1", "--cell", "27631231234")
		r.WantCode(t, 3)
		wantContains(t, "stderr", r.Stderr, "401 Unauthorized", "check that DRIPCEL_API_KEY", "sale.create")
		if strings.Contains(r.Stderr, "dripcel: dripcel:") {
			t.Errorf("stderr says dripcel twice: %q", r.Stderr)
		}
	})
	before := len(srv.Requests())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cell", "27631231234"}, "one of --campaign, --send-id or --click-id is required"},
		{[]string{"--cell", "27631231234", "--campaign", "c1", "--click-id", "k-1"},
			"--campaign and --click-id given, but Dripcel takes one identifier a sale and refuses more: give only one of --campaign, --send-id or --click-id"},
		{[]string{"--cell", "27631231234", "--campaign", "c1", "--send-id", "s-1", "--click-id", "k-1"},
			"--campaign, --send-id and --click-id given"},
		{[]string{"--campaign", "c1"}, "--cell is required"},
		{[]string{"--campaign", "c1", "--cell", "27631231234", "--value", "lots"}, `--value "lots" is not a number`},
		{[]string{"--campaign", "c1", "--cell", "27631231234", "--sold-at", "yesterday"}, `--sold-at "yesterday" is not a date`},
		{[]string{"--campaign", "c1", "--cell", "12345", "--region", "ZA"}, `--cell "12345" is not a valid ZA number`},
		{[]string{"--campaign", "c1", "--cell", "27631231234", "extra"}, "postback takes flags only"},
	} {
		r := runCLI(t, env(srv), append([]string{"postback"}, tc.args...)...)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, tc.want)
	}
	if n := len(srv.Requests()); n != before {
		t.Errorf("%d requests sent for bad postbacks", n-before)
	}

	t.Run("blank identifiers are not given", func(t *testing.T) {
		r := runCLI(t, env(srv), "postback", "--campaign", " ", "--send-id", "\t", "--click-id", click1,
			"--cell", "27631231234", "--sold-at", "2025-10-20")
		r.WantCode(t, 0)
		wantContains(t, "stdout", r.Stdout, "recorded: click k-1, cell 27631231234")
	})
}

// fixedNow is the fake server's clock, so that a blank soldAt is stored as
// a known time (12:00 in South Africa).
func fixedNow() time.Time { return time.Date(2025, 11, 1, 10, 0, 0, 0, time.UTC) }
