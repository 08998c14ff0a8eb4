package main_test

import (
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

func TestPostback(t *testing.T) {
	srv := newServer(t, dripceltest.WithClock(fixedNow))
	r := runCLI(t, env(srv), "postback", "--campaign", "c1", "--cell", "063 123 1234", "--region", "ZA",
		"--sold-at", "2025-10-14 09:02:51", "--value", "199.99", "--send-id", "s-9", "--click-id", "k-9")
	r.wantCode(t, 0)
	wantContains(t, "stdout", r.stdout, "recorded: campaign c1, cell 27631231234")
	r = runCLI(t, env(srv), "postback", "--campaign", "c2", "--cell", "27821234567")
	r.wantCode(t, 0)
	wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14 09:02:51" value=199.99 send="s-9" click="k-9"
c2 27821234567 raw="27821234567" soldAt="2025-11-01 12:00:00" value=default send="" click=""
`)
	for _, s := range srv.Sales() {
		if s.Via != "postback" {
			t.Errorf("sale sent by %s, want postback", s.Via)
		}
	}

	t.Run("duplicate", func(t *testing.T) {
		r := runCLI(t, env(srv), "postback", "--campaign", "c1", "--cell", "27631231234", "--sold-at", "2025-10-14")
		r.wantCode(t, 0)
		wantContains(t, "stdout", r.stdout, "already in Dripcel: campaign c1, cell 27631231234")
	})
	t.Run("unknown campaign", func(t *testing.T) {
		r := runCLI(t, env(srv), "postback", "--campaign", "nope", "--cell", "27631231234")
		r.wantCode(t, 1)
		wantContains(t, "stderr", r.stderr, `campaign not found: "nope"`)
	})
	t.Run("wrong key", func(t *testing.T) {
		r := runCLI(t, map[string]string{"DRIPCEL_API_KEY": "canary-wrong-key-31c9", "DRIPCEL_BASE_URL": srv.URL},
			"postback", "--campaign", "c1", "--cell", "27631231234")
		r.wantCode(t, 3)
		wantContains(t, "stderr", r.stderr, "401 Unauthorized", "check that DRIPCEL_API_KEY", "sale.create")
		if strings.Contains(r.stderr, "dripcel: dripcel:") {
			t.Errorf("stderr says dripcel twice: %q", r.stderr)
		}
	})
	before := len(srv.Requests())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cell", "27631231234"}, "--campaign is required"},
		{[]string{"--campaign", "c1"}, "--cell is required"},
		{[]string{"--campaign", "c1", "--cell", "27631231234", "--value", "lots"}, `--value "lots" is not a number`},
		{[]string{"--campaign", "c1", "--cell", "27631231234", "--sold-at", "yesterday"}, `--sold-at "yesterday" is not a date`},
		{[]string{"--campaign", "c1", "--cell", "12345", "--region", "ZA"}, `--cell "12345" is not a valid ZA number`},
		{[]string{"--campaign", "c1", "--cell", "27631231234", "extra"}, "postback takes flags only"},
	} {
		r := runCLI(t, env(srv), append([]string{"postback"}, tc.args...)...)
		r.wantCode(t, 2)
		wantContains(t, "stderr", r.stderr, tc.want)
	}
	if n := len(srv.Requests()); n != before {
		t.Errorf("%d requests sent for bad postbacks", n-before)
	}
}
