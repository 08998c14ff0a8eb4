package upload_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// The tests server knows click k-1 of campaign c1, click k-2 of c2 and send
// s-1 of c1 (newServer). It refuses with 400 a sale naming more than one
// identifier, so every sale it stores was sent with one.

// TestUploadClickExport uploads an export of clicks kept at checkout: a
// click_id column, no campaign column and no --campaign. Each sale counts
// for its click's campaign.
func TestUploadClickExport(t *testing.T) {
	srv := newServer(t)
	path := writeFile(t, "clicks.csv", `click_id,cell,soldAt,saleValue
k-1,0631231234,2025-10-14,199.99
k-2,0821234567,2025-10-14,
`)
	r := runCLI(t, env(srv), "upload", "--region", "ZA", path)
	r.WantCode(t, 0)
	wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=199.99 send="" click="k-1"
c2 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click="k-2"
`)
	wantContains(t, "stdout", r.Stdout, path+": 2 rows read, 2 sent\n  by click_id: 2\n")

	t.Run("a send export", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", writeFile(t, "sends.jsonl", `{"send_id":"s-1","cell":"27631231234","soldAt":"2025-10-14"}`+"\n"))
		r.WantCode(t, 0)
		wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="s-1" click=""
`)
		wantContains(t, "stdout", r.Stdout, "by send_id: 1\n")
	})
	t.Run("an unknown click, and a click of an unknown campaign", func(t *testing.T) {
		srv := newServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic),
			dripceltest.WithClicks(dripceltest.Click{ID: "k-old", CampaignID: "gone"}))
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		path := writeFile(t, "clicks.csv", "click_id,cell,soldAt\nk-1,27631231234,2025-10-14\nk-9,27821234567,2025-10-14\nk-old,27725550101,2025-10-14\n")
		r := runCLI(t, env(srv), "upload", "--rejects", rejects, path)
		r.WantCode(t, 1)
		if got := summaryLine(t, r.Stdout, "campaign not found"); got != "campaign not found 2 rows 3, 4" {
			t.Errorf("summary %q", got)
		}
		want := "click_id,cell,soldAt,row,reason\n" +
			"k-9,27821234567,2025-10-14,3,\"click not found: \"\"k-9\"\"\"\n" +
			"k-old,27725550101,2025-10-14,4,\"campaign not found: the campaign of click \"\"k-old\"\"\"\n"
		if got := readFile(t, rejects); got != want {
			t.Errorf("rejects:\n%s\nwant:\n%s", got, want)
		}
		wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click="k-1"
`)
	})
	t.Run("repeats are found by click", func(t *testing.T) {
		srv := newServer(t)
		path := writeFile(t, "clicks.csv", "click_id,cell,soldAt\nk-1,27631231234,2025-10-14\nk-1,27631231234,2025-10-14 18:00\n")
		r := runCLI(t, env(srv), "upload", path)
		r.WantCode(t, 0)
		wantContains(t, "stderr", r.Stderr, path+": row 3 repeats row 2 (same cell, click_id and soldAt date)")
		if got := summaryLine(t, r.Stdout, "repeated in file"); got != "repeated in file 1 row 3 (repeats 2)" {
			t.Errorf("summary %q", got)
		}
		if n := len(srv.Sales()); n != 1 {
			t.Errorf("server holds %d sales, want 1", n)
		}
	})
}

// TestUploadCampaignFillsRowsWithoutIdentifier checks that --campaign goes
// only to the rows naming no identifier: added to the others it would make
// sales Dripcel refuses.
func TestUploadCampaignFillsRowsWithoutIdentifier(t *testing.T) {
	srv := newServer(t)
	path := writeFile(t, "orders.csv", `send_id,click_id,cell,soldAt
,k-1,27631231234,2025-10-14
,,27821234567,2025-10-14
s-1,,27725550101,2025-10-14
`)
	r := runCLI(t, env(srv), "upload", "--campaign", campaign2, path)
	r.WantCode(t, 0)
	wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click="k-1"
c2 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c1 27725550101 raw="27725550101" soldAt="2025-10-14" value=default send="s-1" click=""
`)
	wantContains(t, "stdout", r.Stdout, "3 rows read, 3 sent\n  by campaign_id: 1; by send_id: 1; by click_id: 1\n")

	t.Run("with --match-by campaign_id a row's own identifier still wins", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", "--campaign", campaign2, "--match-by", "campaign_id", path)
		r.WantCode(t, 0)
		wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click="k-1"
c2 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c1 27725550101 raw="27725550101" soldAt="2025-10-14" value=default send="s-1" click=""
`)
	})
}

// campaignAndClick has campaign_id and click_id columns: rows 2 and 5 fill
// both, row 3 only the campaign, row 4 only the click.
const campaignAndClick = `campaign_id,click_id,cell,soldAt
c1,k-2,27631231234,2025-10-14
c1,,27821234567,2025-10-14
,k-1,27725550101,2025-10-14
c2,k-1,27845550199,2025-10-14
`

const severalMessage = "names campaign_id and click_id, but Dripcel takes one: choose which with --match-by campaign_id or click_id"

func TestUploadSeveralIdentifiers(t *testing.T) {
	t.Run("rows naming two are invalid without --match-by", func(t *testing.T) {
		srv := newServer(t)
		path := writeFile(t, "export.csv", campaignAndClick)
		r := runCLI(t, env(srv), "upload", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr,
			path+": row 2: "+severalMessage+"\n",
			path+": row 5: "+severalMessage+"\n",
			path+": 2 invalid rows; nothing was sent",
			"; 2 rows name more than one of campaign_id, send_id and click_id: --match-by campaign_id, send_id or click_id says which to send")
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("the others go with --skip-invalid", func(t *testing.T) {
		srv := newServer(t)
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		r := runCLI(t, env(srv), "upload", "--skip-invalid", "--rejects", rejects, writeFile(t, "export.csv", campaignAndClick))
		r.WantCode(t, 1)
		// Nothing of rows 2 and 5 reached Dripcel: their cells are not there.
		wantStored(t, srv, `c1 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c1 27725550101 raw="27725550101" soldAt="2025-10-14" value=default send="" click="k-1"
`)
		if got := summaryLine(t, r.Stdout, "invalid"); got != "invalid 2 rows 2, 5" {
			t.Errorf("summary %q", got)
		}
		wantContains(t, "stdout", r.Stdout, "by campaign_id: 1; by click_id: 1\n")
		want := "campaign_id,click_id,cell,soldAt,row,reason\n" +
			"c1,k-2,27631231234,2025-10-14,2,\"" + severalMessage + "\"\n" +
			"c2,k-1,27845550199,2025-10-14,5,\"" + severalMessage + "\"\n"
		if got := readFile(t, rejects); got != want {
			t.Errorf("rejects:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("--match-by click_id", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", "--match-by", "click_id", writeFile(t, "export.csv", campaignAndClick))
		r.WantCode(t, 0)
		// Row 2 counts for its click's campaign, c2, not for the c1 beside
		// it; row 3 has no click and goes by its campaign.
		wantStored(t, srv, `c2 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click="k-2"
c1 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c1 27725550101 raw="27725550101" soldAt="2025-10-14" value=default send="" click="k-1"
c1 27845550199 raw="27845550199" soldAt="2025-10-14" value=default send="" click="k-1"
`)
		wantContains(t, "stdout", r.Stdout, "4 rows read, 4 sent\n  by campaign_id: 1; by click_id: 3\n")
	})
	t.Run("--match-by campaign_id", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", "--match-by", "Campaign_ID", writeFile(t, "export.csv", campaignAndClick))
		r.WantCode(t, 0)
		// Row 4 has no campaign and goes by its click.
		wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c1 27725550101 raw="27725550101" soldAt="2025-10-14" value=default send="" click="k-1"
c2 27845550199 raw="27845550199" soldAt="2025-10-14" value=default send="" click=""
`)
		wantContains(t, "stdout", r.Stdout, "4 rows read, 4 sent\n  by campaign_id: 3; by click_id: 1\n")
	})
	t.Run("a dry run counts the valid rows by identifier", func(t *testing.T) {
		r := runCLI(t, nil, "upload", "--dry-run", "--match-by", "click_id", writeFile(t, "export.csv", campaignAndClick))
		r.WantCode(t, 0)
		wantContains(t, "stdout", r.Stdout, "4 rows read, 4 valid, 0 invalid; nothing sent (--dry-run)\n  by campaign_id: 1; by click_id: 3\n")
	})
	t.Run("--match-by names an identifier the row lacks", func(t *testing.T) {
		path := writeFile(t, "export.jsonl", `{"campaign_id":"c1","send_id":"s-1","cell":"27631231234"}`+"\n")
		r := runCLI(t, nil, "upload", "--dry-run", "--match-by", "click_id", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr,
			path+": row 1: names campaign_id and send_id, but Dripcel takes one and this row has no click_id for --match-by click_id\n")
		if strings.Contains(r.Stderr, "says which to send") {
			t.Errorf("stderr suggests --match-by, which was given:\n%s", r.Stderr)
		}
	})
	t.Run("all three, and none", func(t *testing.T) {
		path := writeFile(t, "export.csv", "campaign_id,send_id,click_id,cell\nc1,s-1,k-1,27631231234\n,,,27821234567\n")
		r := runCLI(t, nil, "upload", "--dry-run", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr,
			path+": row 2: names campaign_id, send_id and click_id, but Dripcel takes one: choose which with --match-by campaign_id, send_id or click_id\n",
			path+": row 3: campaign_id, send_id and click_id are empty (a sale needs one)\n")
	})
	t.Run("an unknown --match-by", func(t *testing.T) {
		srv := newServer(t)
		for _, v := range []string{"campaign", "cell", "click_id,send_id"} {
			r := runCLI(t, env(srv), "upload", "--match-by", v, writeFile(t, "export.csv", campaignAndClick))
			r.WantCode(t, 2)
			wantContains(t, "stderr", r.Stderr, "--match-by "+`"`+v+`"`+": want campaign_id, send_id or click_id")
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
}
