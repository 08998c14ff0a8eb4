package outbox_test

import (
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// fourRefusals are refusals of each kind: by campaign, send and click, an
// awkward message, a sale refused before it was sent; refused 2 hours, 3,
// 10 and 40 days ago (so A-1 is the newest).
func fourRefusals(t *testing.T, d *db) {
	t.Helper()
	d.addRejected(t,
		refused{id: 11, ref: "A-1", campaign: "c-gone", cell: "27631231234", soldAt: time.Date(2025, 10, 14, 9, 2, 51, 0, sast),
			value: value(199.99), status: 404, message: "Campaign not found", age: 2 * time.Hour},
		refused{id: 12, ref: "A-2", send: "s-9", cell: "27821234567", soldAt: time.Date(2025, 10, 15, 0, 0, 0, 0, sast),
			status: 404, message: "Send not found", age: day(3)},
		refused{id: 13, ref: "A-3", click: "k-7", cell: "27725550101", soldAt: time.Date(2025, 10, 16, 18, 30, 0, 0, sast),
			value: value(1e6), status: 400, message: "Invalid cell,\n\"27725550101\"\x1b[31m red", age: day(10)},
		refused{id: 14, ref: "A-4", campaign: "c-gone", cell: "2782", soldAt: time.Date(2025, 10, 17, 0, 0, 0, 0, sast),
			value: value(0), status: 0, message: "cell is too short", age: day(40)},
	)
}

// TestRejectedTable: the default table has a header and a line for each
// sale, newest refusal first, in aligned columns, with nothing that drives
// a terminal.
func TestRejectedTable(t *testing.T) {
	d := testDB(t)
	fourRefusals(t, d)
	r := d.run(t, "rejected")
	r.WantCode(t, 0)
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want a header and 4 sales:\n%s", len(lines), r.Stdout)
	}
	header := lines[0]
	for _, col := range []string{"ID", "REF", "IDENTIFIER", "CELL", "SOLD AT", "VALUE", "STATUS", "REFUSED", "MESSAGE"} {
		if !strings.Contains(header, col) {
			t.Errorf("header %q has no %s", header, col)
		}
	}
	// Each column starts where its heading does, on every line.
	for _, col := range []string{"IDENTIFIER", "SOLD AT", "STATUS", "MESSAGE"} {
		at := strings.Index(header, col)
		for _, line := range lines[1:] {
			if len(line) <= at || line[at-1] != ' ' || line[at] == ' ' {
				t.Errorf("column %s (at %d) not aligned in %q", col, at, line)
			}
		}
	}
	for i, want := range []string{
		"11  A-1  campaign c-gone  27631231234  2025-10-14 09:02:51  199.99   404     2h 0m ago",
		"12  A-2  send s-9",
		"13  A-3  click k-7        27725550101  2025-10-16 18:30:00  1000000  400",
		"14  A-4  campaign c-gone  2782         2025-10-17           0        unsent  40d 0h ago  cell is too short",
	} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.HasPrefix(got, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("line %d: %q, want it to start %q", i+1, lines[i+1], want)
		}
	}
	wantContains(t, "stdout", lines[2], "default", "Send not found")
	// The message's line break and escape are shown as spaces.
	wantContains(t, "stdout", lines[3], `Invalid cell, "27725550101" [31m red`)
	if strings.ContainsAny(r.Stdout, "\x1b\r") {
		t.Errorf("the table holds control characters:\n%q", r.Stdout)
	}
}

// TestRejectedCSVAndJSON: every value whole, as upload reads it back.
func TestRejectedCSVAndJSON(t *testing.T) {
	d := testDB(t)
	fourRefusals(t, d)
	r := d.run(t, "rejected", "--format", "csv")
	r.WantCode(t, 0)
	records, err := csv.NewReader(strings.NewReader(r.Stdout)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, r.Stdout)
	}
	wantHeader := []string{"id", "ref", "campaign_id", "send_id", "click_id", "cell", "soldAt", "saleValue",
		"status", "message", "attempts", "enqueued_at", "rejected_at"}
	if len(records) != 5 || !slices.Equal(records[0], wantHeader) {
		t.Fatalf("CSV %q, want the header %v and 4 records", records, wantHeader)
	}
	for i, want := range [][]string{
		{"11", "A-1", "c-gone", "", "", "27631231234", "2025-10-14 09:02:51", "199.99", "404", "Campaign not found", "1"},
		{"12", "A-2", "", "s-9", "", "27821234567", "2025-10-15", "", "404", "Send not found", "1"},
		{"13", "A-3", "", "", "k-7", "27725550101", "2025-10-16 18:30:00", "1000000", "400", "Invalid cell,\n\"27725550101\"\x1b[31m red", "1"},
		{"14", "A-4", "c-gone", "", "", "2782", "2025-10-17", "0", "0", "cell is too short", "1"},
	} {
		got := records[i+1]
		if !slices.Equal(got[:11], want) {
			t.Errorf("record %d: %q, want %q", i+1, got[:11], want)
		}
		enq, err1 := time.Parse(time.RFC3339, got[11])
		rej, err2 := time.Parse(time.RFC3339, got[12])
		if err1 != nil || err2 != nil || !rej.After(enq) || !strings.HasSuffix(got[12], "Z") {
			t.Errorf("record %d: times %q, %q", i+1, got[11], got[12])
		}
	}
	if rej, err := time.Parse(time.RFC3339, records[4][12]); err != nil || time.Since(rej) < day(40) || time.Since(rej) > day(40)+time.Hour {
		t.Errorf("A-4 refused at %s, want 40 days ago", rej)
	}

	r = d.run(t, "rejected", "--format", "json")
	r.WantCode(t, 0)
	var sales []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &sales); err != nil {
		t.Fatalf("the JSON does not parse: %v\n%s", err, r.Stdout)
	}
	if len(sales) != 4 {
		t.Fatalf("%d sales in the JSON, want 4", len(sales))
	}
	for _, key := range wantHeader {
		if _, ok := sales[0][key]; !ok {
			t.Errorf("the JSON has no %q: %v", key, sales[0])
		}
	}
	a1, a2, a3 := sales[0], sales[1], sales[2]
	if a1["ref"] != "A-1" || a1["id"] != 11.0 || a1["campaign_id"] != "c-gone" || a1["soldAt"] != "2025-10-14 09:02:51" ||
		a1["saleValue"] != 199.99 || a1["status"] != 404.0 || a1["message"] != "Campaign not found" {
		t.Errorf("A-1 in JSON: %v", a1)
	}
	if a2["saleValue"] != nil || a2["send_id"] != "s-9" || a2["soldAt"] != "2025-10-15" {
		t.Errorf("A-2 in JSON: %v", a2)
	}
	if a3["message"] != "Invalid cell,\n\"27725550101\"\x1b[31m red" || a3["click_id"] != "k-7" {
		t.Errorf("A-3 in JSON: %v", a3)
	}
}

// TestRejectedFilters: each filter alone and together, as the library
// applies them, and the limit.
func TestRejectedFilters(t *testing.T) {
	d := testDB(t)
	fourRefusals(t, d)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"A-1", "A-2", "A-3", "A-4"}},
		{[]string{"--campaign", "c-gone"}, []string{"A-1", "A-4"}},
		{[]string{"--send", "s-9"}, []string{"A-2"}},
		{[]string{"--click", "k-7"}, []string{"A-3"}},
		{[]string{"--message", "CAMPAIGN NOT"}, []string{"A-1"}},
		{[]string{"--message", "not found"}, []string{"A-1", "A-2"}},
		{[]string{"--message", "not%found"}, []string{}},
		{[]string{"--status", "404"}, []string{"A-1", "A-2"}},
		{[]string{"--older-than", "1d"}, []string{"A-2", "A-3", "A-4"}},
		{[]string{"--older-than", "9d12h"}, []string{"A-3", "A-4"}},
		{[]string{"--newer-than", "5d"}, []string{"A-1", "A-2"}},
		{[]string{"--newer-than", "90m"}, []string{}},
		{[]string{"--older-than", "1d", "--newer-than", "30d"}, []string{"A-2", "A-3"}},
		{[]string{"--ref", "A-3", "--ref", "A-4", "--ref", "A-9"}, []string{"A-3", "A-4"}},
		{[]string{"--id", "12,14"}, []string{"A-2", "A-4"}},
		{[]string{"--campaign", "c-gone", "--status", "404"}, []string{"A-1"}},
		{[]string{"--campaign", "nope"}, []string{}},
	} {
		r := d.run(t, append([]string{"rejected", "--format", "json"}, tt.args...)...)
		code := 0
		if len(tt.want) == 0 {
			code = 1
			wantContains(t, "stderr", r.Stderr, "no refused sale matches")
		}
		r.WantCode(t, code)
		if got := jsonRefs(t, r.Stdout); !slices.Equal(got, tt.want) {
			t.Errorf("rejected %v: %v, want %v", tt.args, got, tt.want)
		}
	}

	t.Run("limit", func(t *testing.T) {
		r := d.run(t, "rejected", "--format", "json", "--limit", "2")
		r.WantCode(t, 0)
		if got := jsonRefs(t, r.Stdout); !slices.Equal(got, []string{"A-1", "A-2"}) {
			t.Errorf("--limit 2: %v", got)
		}
		wantContains(t, "stderr", r.Stderr, "more refused sales match: these are the newest 2; --limit shows more")
		r = d.run(t, "rejected", "--format", "json", "--limit", "4")
		r.WantCode(t, 0)
		if r.Stderr != "" {
			t.Errorf("--limit 4 of 4 says %q", r.Stderr)
		}
	})

	t.Run("nothing matches", func(t *testing.T) {
		r := d.run(t, "rejected", "--format", "csv", "--campaign", "nope")
		r.WantCode(t, 1)
		if r.Stdout != "id,ref,campaign_id,send_id,click_id,cell,soldAt,saleValue,status,message,attempts,enqueued_at,rejected_at\n" {
			t.Errorf("CSV of nothing: %q", r.Stdout)
		}
	})

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, `--format "xml": want table, csv or json`},
		{[]string{"--older-than", "3x"}, `--older-than "3x" is not a duration such as 90m, 36h or 7d`},
		{[]string{"--older-than", "NaNd"}, `--older-than "NaNd" is not a duration`},
		{[]string{"--newer-than", "-2h"}, `--newer-than "-2h" is not a duration`},
		{[]string{"--older-than", "0d"}, `--older-than "0d" is not more than 0`},
		{[]string{"--older-than", "2d", "--newer-than", "1d"}, "--newer-than 1d is not more than --older-than 2d: no sale can be both"},
		{[]string{"--limit", "0"}, "--limit 0: want 1 or more"},
		{[]string{"--status", "4040"}, "--status 4040 is not an HTTP status"},
		{[]string{"--id", "twelve"}, `--id "twelve" is not the ID of a refused sale`},
		{[]string{"A-1"}, "rejected takes flags only"},
	} {
		r := d.run(t, append([]string{"rejected"}, tt.args...)...)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, tt.want)
	}
}

// TestRejectedCSVUploads: refused sales written as CSV, fixed (here, the
// campaign that was missing named again), upload as they are, with the
// soldAt and value first enqueued.
func TestRejectedCSVUploads(t *testing.T) {
	d := testDB(t)
	fourRefusals(t, d)
	r := d.run(t, "rejected", "--format", "csv", "--ref", "A-1", "--ref", "A-2")
	r.WantCode(t, 0)
	file := clitest.WriteFile(t, "refused.csv", strings.ReplaceAll(r.Stdout, "c-gone", clitest.Campaign))
	srv := clitest.NewServer(t, dripceltest.WithSends(dripceltest.Send{ID: "s-9", CampaignID: clitest.Campaign}))
	up := clitest.Run(t, clitest.Env(srv), "upload", file)
	up.WantCode(t, 0)
	clitest.WantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14 09:02:51" value=199.99 send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-15" value=default send="s-9" click=""
`)
}
