package upload_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

func TestUploadMissingKey(t *testing.T) {
	srv := newServer(t)
	for _, key := range []string{"", "   "} {
		// The file does not exist: the key must be refused before the file
		// is even opened.
		missing := filepath.Join(t.TempDir(), "missing.csv")
		r := runCLI(t, map[string]string{"DRIPCEL_API_KEY": key, "DRIPCEL_BASE_URL": srv.URL}, "upload", missing)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, "DRIPCEL_API_KEY is not set")
		if strings.Contains(r.Stderr, "missing.csv") {
			t.Errorf("the file was looked at before the key was checked:\n%s", r.Stderr)
		}
	}
	r := runCLI(t, map[string]string{"DRIPCEL_BASE_URL": srv.URL}, "postback", "--campaign", "c1", "--cell", "27631231234")
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, "DRIPCEL_API_KEY is not set")
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent without a key", n)
	}
}

func TestUploadMalformedFiles(t *testing.T) {
	cases := []struct {
		name, file, content string
		args                []string
		// want are the lines expected on stderr, after the file's path.
		want []string
	}{
		{name: "bad number", file: "sales.csv",
			content: "campaign_id,cell,saleValue\nc1,27631231234,100\nc1,27631231234,abc\n",
			want:    []string{`: row 3: saleValue "abc" is not a number`}},
		{name: "infinite number", file: "sales.csv",
			content: "campaign_id,cell,saleValue\nc1,27631231234,Inf\n",
			want:    []string{`: row 2: saleValue "Inf" is not a number`}},
		{name: "bad date", file: "sales.csv",
			content: "campaign_id,cell,soldAt\nc1,27631231234,14/10/2025\n",
			want:    []string{`: row 2: soldAt "14/10/2025" is not a date (want YYYY-MM-DD or YYYY/MM/DD, either with HH:MM[:SS] after it, or RFC 3339 such as 2025-10-14T09:02:51+02:00; for other forms give --date-format, e.g. --date-format DD/MM/YYYY)`}},
		{name: "impossible date", file: "sales.csv",
			content: "campaign_id,cell,soldAt\nc1,27631231234,2025-02-30\n",
			want:    []string{`: row 2: soldAt "2025-02-30" is not a date`}},
		{name: "year the library refuses", file: "sales.csv",
			content: "campaign_id,cell,soldAt\nc1,27631231234,0000-01-01\n",
			want:    []string{`: row 2: soldAt "0000-01-01": year 0 is outside 1-9999`}},
		{name: "missing column", file: "sales.csv",
			content: "campaign_id,phone\nc1,27631231234\n",
			want:    []string{`: row 1: no column "cell" (the columns are "campaign_id", "phone"; name it with --map cell=COLUMN)`}},
		{name: "missing campaign column", file: "sales.csv",
			content: "cell\n27631231234\n",
			want:    []string{`: row 1: no column "campaign_id", "send_id" or "click_id" (the columns are "cell"; a sale needs one: name one with --map, e.g. --map campaign_id=COLUMN, or give --campaign ID)`}},
		{name: "empty cell", file: "sales.csv",
			content: "campaign_id,cell\nc1,27631231234\nc1,  \n",
			want:    []string{`: row 3: cell is empty`}},
		{name: "too few fields", file: "sales.csv",
			content: "campaign_id,cell,saleValue\nc1,27631231234\n",
			want:    []string{`: row 2: has 2 fields, the header has 3`}},
		{name: "bad quoting", file: "sales.csv",
			content: "campaign_id,cell\nc1,27631231234\nc1,2763\"1231234\n",
			want:    []string{`: row 3: bare " in non-quoted-field (put the field in double quotes and double each " inside it)`}},
		{name: "unterminated quote", file: "sales.csv",
			content: "campaign_id,cell\nc1,\"27631231234\n",
			want:    []string{`: row 2: extraneous or missing " in quoted-field`}},
		{name: "empty file", file: "sales.csv", content: "",
			want: []string{`: the file is empty`}},
		{name: "blank file", file: "sales.json", content: "\xef\xbb\xbf \r\n\n",
			want: []string{`: the file is empty`}},
		{name: "every row reported", file: "sales.csv",
			content: "campaign_id,cell,soldAt,saleValue\nc1,,2025-13-01,x\nc1,27631231234,,\n,27631231234,,\n",
			want: []string{`: row 2: cell is empty; soldAt "2025-13-01" is not a date (want YYYY-MM-DD or YYYY/MM/DD, either with HH:MM[:SS] after it, or RFC 3339 such as 2025-10-14T09:02:51+02:00; for other forms give --date-format, e.g. --date-format DD/MM/YYYY); saleValue "x" is not a number`,
				`: row 4: campaign_id is empty`, ": 2 invalid rows; nothing was sent"}},
		{name: "json not an array", file: "sales.json", content: `"sales"`,
			want: []string{`: a .json file must hold one JSON array of sale objects`}},
		{name: "json syntax", file: "sales.json",
			content: `[{"campaign_id":"c1","cell":"27631231234"}, {"campaign_id":"c1","cell":}]`,
			want:    []string{`: row 2: invalid JSON`}},
		{name: "json element not an object", file: "sales.json",
			content: `[{"campaign_id":"c1","cell":"27631231234"}, 42]`,
			want:    []string{`: row 2: is number, not a JSON object`}},
		{name: "json wrong type", file: "sales.json",
			content: `[{"campaign_id":"c1","cell":"27631231234","saleValue":true}]`,
			want:    []string{`: row 1: saleValue is true or false, not a string or number`}},
		{name: "json missing key", file: "sales.json",
			content: `[{"campaign_id":"c1","phone":"27631231234"}]`,
			want:    []string{`: row 1: cell is missing`}},
		{name: "json lines syntax", file: "sales.jsonl",
			content: "{\"campaign_id\":\"c1\",\"cell\":\"27631231234\"}\n\n{\"campaign_id\":\"c1\",\n",
			want:    []string{`: row 3: invalid JSON: unexpected EOF`}},
		{name: "a directory", file: "", want: []string{" is a directory"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			path := t.TempDir()
			if tc.file != "" {
				path = writeFile(t, tc.file, tc.content)
			}
			r := runCLI(t, env(srv), append(append([]string{"upload"}, tc.args...), path)...)
			r.WantCode(t, 2)
			for _, w := range tc.want {
				wantContains(t, "stderr", r.Stderr, path+w)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent for a malformed file", n)
			}
		})
	}
	t.Run("no such file", func(t *testing.T) {
		srv := newServer(t)
		r := runCLI(t, env(srv), "upload", filepath.Join(t.TempDir(), "nope.csv"))
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, "nope.csv: no such file or directory")
	})
}

// TestUploadSpreadsheetCSV reads what spreadsheets write: a UTF-8 byte
// order mark, CRLF line ends, quoted fields holding commas, quotes and line
// breaks, headings with spaces and odd case, empty rows and trailing blank
// lines.
func TestUploadSpreadsheetCSV(t *testing.T) {
	srv := newServer(t)
	content := "\xef\xbb\xbf\"Campaign_ID\",\"cell\",\"soldAt\",\"saleValue\",\"note\"\r\n" +
		"c1,\"063 123 1234\",2025-10-14,\"199.99\",\"big, \"\"gold\"\" order\"\r\n" +
		",,,,\r\n" +
		"c1,0821234567,\"2025-10-14 09:02:51\",,\"two\r\nlines\"\r\n" +
		"c1,0725550101,2025-10-15,12,plain\r\n" +
		"\r\n\r\n"
	path := writeFile(t, "export.csv", content)
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	r := runCLI(t, env(srv), "upload", "--region", "ZA", "--rejects", rejects, path)
	r.WantCode(t, 0)
	wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14" value=199.99 send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-14 09:02:51" value=default send="" click=""
c1 27725550101 raw="27725550101" soldAt="2025-10-15" value=12 send="" click=""
`)
	wantContains(t, "stdout", r.Stdout, path+": 3 rows read, 3 sent", "no row needs action: no rejects file written ("+rejects+")")
	wantNoFile(t, rejects)

	t.Run("row numbers are line numbers", func(t *testing.T) {
		// Row 6 starts on line 6: the quoted line break in row 4 counts.
		bad := strings.Replace(content, "2025-10-15,12", "2025-10-15,twelve", 1)
		path := writeFile(t, "export.csv", bad)
		r := runCLI(t, env(srv), "upload", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, path+`: row 6: saleValue "twelve" is not a number`)
	})
	t.Run("semicolons", func(t *testing.T) {
		srv := newServer(t)
		path := writeFile(t, "export.csv", "campaign_id;cell;saleValue\r\nc1;27631231234;\"1,5\"\r\n")
		r := runCLI(t, env(srv), "upload", path)
		r.WantCode(t, 2) // "1,5" is not a number: decimal commas are refused, not misread
		wantContains(t, "stderr", r.Stderr, path+`: row 2: saleValue "1,5" is not a number`)
		path = writeFile(t, "export.csv", "campaign_id;cell;saleValue\r\nc1;27631231234;1.5\r\n")
		runCLI(t, env(srv), "upload", path).WantCode(t, 0)
		wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="`+srv.Sales()[0].SoldAt+`" value=1.5 send="" click=""
`)
	})
}

func TestUploadHeaderOnly(t *testing.T) {
	srv := newServer(t, dripceltest.WithClock(fixedNow))
	r := runCLI(t, env(srv), "upload", writeFile(t, "sales.csv", "campaign_id,cell\r\n"))
	r.WantCode(t, 0)
	wantContains(t, "stdout", r.Stdout, "0 rows read, 0 sent")
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests for no rows", n)
	}
}
