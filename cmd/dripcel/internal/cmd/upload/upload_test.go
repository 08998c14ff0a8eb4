package upload_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// fixedNow is the fake server's clock, so that a blank soldAt is stored as
// a known time (12:00 in South Africa) when it reaches the server blank.
func fixedNow() time.Time { return time.Date(2025, 11, 1, 10, 0, 0, 0, time.UTC) }

// fixedSoldAt makes the command fill blank soldAt cells with the time
// salesStored expects.
var fixedSoldAt = []string{"--sold-at", "2025-11-01 12:00:00"}

// The same three sales in each input format, one by each identifier (a
// sale names exactly one), and what the server must hold after they are
// uploaded: the sales by click k-1 and send s-1 count for their campaign,
// c1, whose default value fills the blank one.
const (
	salesCSV = `campaign_id,send_id,click_id,cell,soldAt,saleValue,order
,,k-1,27631231234,2025-10-14,199.99,A-1
,s-1,,27821234567,2025-10-14 09:02:51,,A-2
c2,,,27725550101,,0,A-3
`
	salesJSON = `[
  {"campaign_id": "", "send_id": null, "click_id": "k-1", "cell": "27631231234", "soldAt": "2025-10-14", "saleValue": 199.99, "order": "A-1"},
  {"send_id": "s-1", "cell": 27821234567, "soldAt": "2025-10-14 09:02:51", "saleValue": null},
  {"campaign_id": "c2", "cell": "27725550101", "soldAt": "", "saleValue": "0"}
]
`
	salesLines = `{"campaign_id": "", "send_id": null, "click_id": "k-1", "cell": "27631231234", "soldAt": "2025-10-14", "saleValue": 199.99, "order": "A-1"}
{"send_id": "s-1", "cell": 27821234567, "soldAt": "2025-10-14 09:02:51", "saleValue": null}

{"campaign_id": "c2", "cell": "27725550101", "soldAt": "", "saleValue": "0"}
`
	salesStored = `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=199.99 send="" click="k-1"
c1 27821234567 raw="27821234567" soldAt="2025-10-14 09:02:51" value=default send="s-1" click=""
c2 27725550101 raw="27725550101" soldAt="2025-11-01 12:00:00" value=0 send="" click=""
`
	// salesBy is the summary's count of salesCSV's rows by identifier.
	salesBy = "by campaign_id: 1; by send_id: 1; by click_id: 1"
)

func TestUploadFormats(t *testing.T) {
	cases := []struct {
		name, file, content string
		stdin               bool
	}{
		{name: "csv", file: "sales.csv", content: salesCSV},
		{name: "json", file: "sales.json", content: salesJSON},
		{name: "json lines", file: "sales.jsonl", content: salesLines},
		{name: "json array detected by content", file: "sales.export", content: salesJSON},
		{name: "json lines detected by content", file: "sales.json", content: salesLines},
		{name: "csv on stdin", content: salesCSV, stdin: true},
		{name: "json on stdin", content: salesJSON, stdin: true},
		{name: "json lines on stdin", content: salesLines, stdin: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, dripceltest.WithClock(fixedNow))
			inv := invocation{Env: env(srv)}
			name := "stdin"
			if tc.stdin {
				inv.Args = append([]string{"upload", "-"}, fixedSoldAt...)
				inv.Stdin = strings.NewReader(tc.content)
			} else {
				path := writeFile(t, tc.file, tc.content)
				inv.Args = append(append([]string{"upload"}, fixedSoldAt...), path)
				name = path
			}
			r := inv.Run(t)
			r.WantCode(t, 0)
			wantStored(t, srv, salesStored)
			wantContains(t, "stdout", r.Stdout, name+": 3 rows read, 3 sent\n  "+salesBy+"\n")
			if got := summaryLine(t, r.Stdout, "recorded"); got != "recorded 3" {
				t.Errorf("summary line %q, want %q", got, "recorded 3")
			}
			reqs := srv.Requests()
			if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/sales" || reqs[0].Sales != 3 {
				t.Errorf("requests %+v, want one POST /sales with 3 sales", reqs)
			}
			// Not a terminal: progress is plain lines.
			wantContains(t, "stderr", r.Stderr, "uploading: 3 of 3 rows (100%)")
		})
	}
}

func TestUploadQuietShowsNoProgress(t *testing.T) {
	srv := newServer(t, dripceltest.WithClock(fixedNow))
	r := runCLI(t, env(srv), "upload", "--quiet", writeFile(t, "sales.csv", salesCSV))
	r.WantCode(t, 0)
	if r.Stderr != "" {
		t.Errorf("stderr with --quiet:\n%s", r.Stderr)
	}
	wantContains(t, "stdout", r.Stdout, "3 rows read, 3 sent")
}

func TestUploadBatches(t *testing.T) {
	srv := newServer(t, dripceltest.WithClock(fixedNow))
	r := runCLI(t, env(srv), append(append([]string{"upload", "--batch-size", "2"}, fixedSoldAt...), writeFile(t, "sales.csv", salesCSV))...)
	r.WantCode(t, 0)
	wantStored(t, srv, salesStored)
	var sizes []int
	for _, req := range srv.Requests() {
		sizes = append(sizes, req.Sales)
	}
	if len(sizes) != 2 || sizes[0] != 2 || sizes[1] != 1 {
		t.Errorf("request sizes %v, want [2 1]", sizes)
	}
}

func TestUploadMap(t *testing.T) {
	srv := newServer(t, dripceltest.WithClock(fixedNow))
	path := writeFile(t, "orders.csv", `Order,Phone,Campaign,Amount,Date
A-1,27631231234,c1,199.99,2025-10-14
A-2,27821234567,c2,,2025-10-15
`)
	// "amount" matches the heading "Amount": headings match ignoring case.
	r := runCLI(t, env(srv), "upload", "--map", "cell=Phone,campaign_id=Campaign", "--map", "saleValue=amount,soldAt=Date", path)
	r.WantCode(t, 0)
	wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=199.99 send="" click=""
c2 27821234567 raw="27821234567" soldAt="2025-10-15" value=default send="" click=""
`)

	t.Run("errors name the mapped column", func(t *testing.T) {
		path := writeFile(t, "orders.csv", "Phone,Campaign,Amount\n27631231234,c1,R1OO\n")
		r := runCLI(t, env(srv), "upload", "--map", "cell=Phone,campaign_id=Campaign,saleValue=Amount", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, path+`: row 2: saleValue (column "Amount") "R1OO" is not a number`)
	})
	t.Run("a mapped column that is not there", func(t *testing.T) {
		path := writeFile(t, "orders.csv", "Phone,Campaign\n27631231234,c1\n")
		r := runCLI(t, env(srv), "upload", "--map", "cell=Mobile,campaign_id=Campaign", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, path+`: row 1: no column "Mobile"`, `"Phone", "Campaign"`)
	})
	t.Run("an unknown field", func(t *testing.T) {
		r := runCLI(t, env(srv), "upload", "--map", "phone=Phone", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, `unknown field "phone"`)
	})
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want only the first upload's", n)
	}
}

func TestUploadCampaignFlag(t *testing.T) {
	srv := newServer(t, dripceltest.WithClock(fixedNow))
	// No campaign_id column at all.
	r := runCLI(t, env(srv), "upload", "--campaign", "c2", writeFile(t, "sales.csv", "cell,soldAt\n27631231234,2025-10-14\n"))
	r.WantCode(t, 0)
	// A row's own campaign_id wins; --campaign fills the blank one.
	r = runCLI(t, env(srv), "upload", "--campaign", "c2", writeFile(t, "sales.csv", "campaign_id,cell,soldAt\nc1,27821234567,2025-10-14\n,27725550101,2025-10-14\n"))
	r.WantCode(t, 0)
	wantStored(t, srv, `c2 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c2 27725550101 raw="27725550101" soldAt="2025-10-14" value=default send="" click=""
`)
}

func TestUploadRegion(t *testing.T) {
	const local = "campaign_id,cell,soldAt\nc1,063 123 1234,2025-10-14\nc1,(082) 123-4567,2025-10-14\nc1,+44 7911 123456,2025-10-14\n"
	t.Run("converted before sending", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", "--region", "za", writeFile(t, "sales.csv", local))
		r.WantCode(t, 0)
		wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c1 447911123456 raw="447911123456" soldAt="2025-10-14" value=default send="" click=""
`)
	})
	t.Run("sent as written without it", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", writeFile(t, "sales.csv", local))
		r.WantCode(t, 0)
		got := stored(srv)
		wantContains(t, "stored sales", got, `raw="063 123 1234"`, `raw="(082) 123-4567"`)
	})
	t.Run("a cell it cannot convert", func(t *testing.T) {
		srv := newServer(t)
		path := writeFile(t, "sales.csv", "campaign_id,cell\nc1,0631231234\nc1,12345\n")
		r := runCLI(t, env(srv), "upload", "--region", "ZA", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, path+`: row 3: cell "12345" is not a valid ZA number`)
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("an unknown region", func(t *testing.T) {
		r := runCLI(t, nil, "upload", "--dry-run", "--region", "XX", writeFile(t, "sales.csv", local))
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, `--region "XX" is not a known region`)
	})
}

func TestUploadDryRunSendsNothing(t *testing.T) {
	srv := newServer(t)
	good := writeFile(t, "sales.csv", salesCSV)
	// With a key and a server, and without either.
	for _, e := range []map[string]string{env(srv), nil} {
		r := runCLI(t, e, "upload", "--dry-run", "--region", "ZA", good)
		r.WantCode(t, 0)
		wantContains(t, "stdout", r.Stdout, good+": 3 rows read, 3 valid, 0 invalid; nothing sent (--dry-run)\n  "+salesBy+"\n")
	}
	bad := writeFile(t, "bad.csv", "campaign_id,cell,saleValue\nc1,0631231234,ten\n")
	r := runCLI(t, env(srv), "upload", "--dry-run", bad)
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, bad+`: row 2: saleValue "ten" is not a number`)
	if reqs := srv.Requests(); len(reqs) != 0 {
		t.Errorf("dry runs sent %d requests", len(reqs))
	}
}

// refusals is a file with two good sales (rows 2 and 3), a repeat of row 2
// (row 4), a sale the server already holds (row 5) and a good sale for
// another campaign (row 6).
const refusals = `campaign_id,cell,soldAt,order
c1,27631231234,2025-10-14,A-1
c1,27821234567,2025-10-14,A-2
c1,27631231234,2025-10-14,A-3
c1,27725550101,2025-10-13,A-4
c2,27725550101,2025-10-13,A-5
`

const refusalsStored = `c1 27725550101 raw="27725550101" soldAt="2025-10-13" value=default send="" click=""
c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=default send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-14" value=default send="" click=""
c2 27725550101 raw="27725550101" soldAt="2025-10-13" value=default send="" click=""
`

// withEarlierSale records the sale that row 5 of refusals repeats.
func withEarlierSale(t *testing.T, srv *dripceltest.Server) {
	t.Helper()
	c, err := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Postback(context.Background(), dripcel.Sale{CampaignID: campaign, Cell: "27725550101",
		SoldAt: time.Date(2025, 10, 13, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUploadDuplicates uploads refusals: row 4 repeats row 2 and is not
// sent, and row 5 is a sale Dripcel has already. Neither needs action, so
// the exit code is 0 and the rejects file holds its header only, under
// every way Dripcel may treat a batch holding a duplicate.
func TestUploadDuplicates(t *testing.T) {
	cases := []struct {
		name string
		mode dripceltest.BatchMode
		args []string
		// stored: Dripcel stores part of a batch it refuses, so the rows
		// it stored then come back "already in Dripcel" when the library
		// sends them again to learn each one's fate: its answer cannot
		// tell them apart. Every row is in Dripcel either way.
		stored bool
	}{
		{name: "atomic batches", mode: dripceltest.BatchAtomic},
		{name: "one row a request", mode: dripceltest.BatchPartial, args: []string{"--batch-size", "1"}},
		{name: "partial batches", mode: dripceltest.BatchPartial, stored: true},
		{name: "prefix batches", mode: dripceltest.BatchPrefix, stored: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, dripceltest.WithBatchMode(tc.mode))
			withEarlierSale(t, srv)
			rejects := filepath.Join(t.TempDir(), "rejects.csv")
			args := append([]string{"upload", "--quiet", "--rejects", rejects}, tc.args...)
			path := writeFile(t, "sales.csv", refusals)
			r := runCLI(t, env(srv), append(args, path)...)
			r.WantCode(t, 0)
			wantStored(t, srv, refusalsStored)
			wantContains(t, "stdout", r.Stdout, path+": 5 rows read, 4 sent",
				"repeated rows have the cell, campaign and soldAt date of an earlier row")
			want := map[string]string{
				"recorded":           "recorded 3",
				"already in Dripcel": "already in Dripcel 1 row 5",
				"repeated in file":   "repeated in file 1 row 4 (repeats 2)",
			}
			if tc.stored {
				rec, already := summaryLine(t, r.Stdout, "recorded"), summaryLine(t, r.Stdout, "already in Dripcel")
				var nr, na int
				if _, err := fmt.Sscanf(rec, "recorded %d", &nr); err != nil {
					t.Errorf("summary %q: %v", rec, err)
				}
				if _, err := fmt.Sscanf(already, "already in Dripcel %d", &na); err != nil {
					t.Errorf("summary %q: %v", already, err)
				}
				if nr+na != 4 || !strings.Contains(already, "5") {
					t.Errorf("summary %q and %q: want 4 rows in Dripcel, row 5 among those it had", rec, already)
				}
				delete(want, "recorded")
				delete(want, "already in Dripcel")
			}
			for outcome, want := range want {
				if got := summaryLine(t, r.Stdout, outcome); got != want {
					t.Errorf("summary %q, want %q", got, want)
				}
			}
			wantNoFile(t, rejects)
		})
	}
}

func TestUploadUnknownCampaign(t *testing.T) {
	// Refused batches store nothing, so resent rows are classed exactly
	// (see TestUploadDuplicates for the other behaviours).
	srv := newServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic))
	withEarlierSale(t, srv)
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	path := writeFile(t, "sales.csv", refusals+"nope,27631231234,2025-10-14,A-6\n")
	r := runCLI(t, env(srv), "upload", "--rejects", rejects, path)
	r.WantCode(t, 1)
	wantStored(t, srv, refusalsStored)
	for outcome, want := range map[string]string{
		"recorded":           "recorded 3",
		"already in Dripcel": "already in Dripcel 1 row 5",
		"repeated in file":   "repeated in file 1 row 4 (repeats 2)",
		"campaign not found": "campaign not found 1 row 7",
		"invalid":            "invalid 0",
	} {
		if got := summaryLine(t, r.Stdout, outcome); got != want {
			t.Errorf("summary %q, want %q", got, want)
		}
	}
	wantContains(t, "stdout", r.Stdout, "1 row needing action written to "+rejects)
	wantContains(t, "rejects", readFile(t, rejects),
		`nope,27631231234,2025-10-14,A-6,7,"campaign not found: ""nope"""`)
}

func TestUploadRejectsInJSONFormats(t *testing.T) {
	// Refused batches store nothing, so resent rows are classed exactly.
	t.Run("json lines", func(t *testing.T) {
		srv := newServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic))
		withEarlierSale(t, srv)
		rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
		path := writeFile(t, "sales.jsonl", `{"campaign_id":"c1","cell":"27631231234","soldAt":"2025-10-14"}
{"campaign_id":"c1","cell":"27725550101","soldAt":"2025-10-13","note":"again"}
{}
`+`{ "campaign_id":"nope", "cell":"27631231234" }
`)
		r := runCLI(t, env(srv), "upload", "--rejects", rejects, path)
		r.WantCode(t, 2) // row 3 has no campaign or cell: nothing is sent
		want := `{"row":3,"reason":"campaign_id, send_id and click_id are missing (a sale needs one); cell is missing"}` + "\n"
		if got := readFile(t, rejects); got != want {
			t.Errorf("rejects:\n%s\nwant:\n%s", got, want)
		}

		path = writeFile(t, "sales.jsonl", `{"campaign_id":"c1","cell":"27631231234","soldAt":"2025-10-14"}
{"campaign_id":"c1","cell":"27725550101","soldAt":"2025-10-13","note":"again"}
{ "campaign_id":"nope", "cell":"27631231234" }
`)
		r = runCLI(t, env(srv), "upload", "--rejects", rejects, path)
		r.WantCode(t, 1)
		want = `{"row":3,"reason":"campaign not found: \"nope\"","campaign_id":"nope", "cell":"27631231234" }
`
		if got := readFile(t, rejects); got != want {
			t.Errorf("rejects:\n%s\nwant:\n%s", got, want)
		}
		// The rejects file reads back as sales: "row" and "reason" are ignored.
		r = runCLI(t, nil, "upload", "--dry-run", rejects)
		r.WantCode(t, 0)
		wantContains(t, "stdout", r.Stdout, "1 row read, 1 valid")
	})
	t.Run("json array", func(t *testing.T) {
		srv := newServer(t, dripceltest.WithBatchMode(dripceltest.BatchAtomic))
		rejects := filepath.Join(t.TempDir(), "rejects.json")
		path := writeFile(t, "sales.json", `[{"campaign_id":"c1","cell":"27631231234"},{"campaign_id":"x","cell":"27821234567"},{"campaign_id":"y","cell":"27821234567","saleValue":5}]`)
		r := runCLI(t, env(srv), "upload", "--rejects", rejects, path)
		r.WantCode(t, 1)
		var got []map[string]any
		if err := json.Unmarshal([]byte(readFile(t, rejects)), &got); err != nil {
			t.Fatalf("rejects file is not a JSON array: %v\n%s", err, readFile(t, rejects))
		}
		if len(got) != 2 || got[0]["row"] != 2.0 || got[1]["row"] != 3.0 || got[1]["saleValue"] != 5.0 ||
			got[0]["reason"] != `campaign not found: "x"` || got[0]["campaign_id"] != "x" {
			t.Errorf("rejects %v", got)
		}
	})
}

// TestUploadRejectsShortCSVRow checks that a CSV row short of fields is
// padded in the rejects file, so its row number and reason sit under the
// "row" and "reason" headings.
func TestUploadRejectsShortCSVRow(t *testing.T) {
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	in := writeFile(t, "short.csv", "campaign_id,cell,soldAt,saleValue\nc1,0631231234\n")
	r := runCLI(t, nil, "upload", "--dry-run", "--rejects", rejects, in)
	r.WantCode(t, 2)
	want := "campaign_id,cell,soldAt,saleValue,row,reason\nc1,0631231234,,,2,\"has 2 fields, the header has 4\"\n"
	if got := readFile(t, rejects); got != want {
		t.Errorf("rejects file\n%q\nwant\n%q", got, want)
	}
}

// TestUploadRejectsOfRejectsJSON checks that a JSON rejects file sent again
// gets rejects whose new row and reason do not hide behind the old ones
// (a duplicate key: most JSON readers keep the last).
func TestUploadRejectsOfRejectsJSON(t *testing.T) {
	rejects := filepath.Join(t.TempDir(), "rejects2.jsonl")
	in := writeFile(t, "rejects.jsonl", `{"row":7,"reason":"campaign not found: \"x\"","campaign_id":"x"}`+"\n")
	r := runCLI(t, nil, "upload", "--dry-run", "--rejects", rejects, in)
	r.WantCode(t, 2)
	var got map[string]any
	if err := json.Unmarshal([]byte(readFile(t, rejects)), &got); err != nil {
		t.Fatal(err)
	}
	if got["dripcel_row"] != 1.0 || got["dripcel_reason"] != "cell is missing" || got["row"] != 7.0 {
		t.Errorf("rejects %v: want dripcel_row 1 and dripcel_reason \"cell is missing\" beside the old row 7", got)
	}
}
