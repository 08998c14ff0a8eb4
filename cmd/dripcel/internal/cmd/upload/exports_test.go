package upload_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/unicode"
)

// exportCSV is an export as shops write them: the dates and amounts in
// forms Dripcel does not take as they are.
const exportCSV = "campaign_id,cell,soldAt,saleValue\r\n" +
	"c1,0631231234,2025-10-14T09:02:51+00:00,\"1,299.00\"\r\n" +
	"c1,0821234567,2025-10-14 09:02,R199.99\r\n" +
	"c1,+27725550101,2025-10-15,ZAR 5\r\n"

// exportStored is what the server holds after exportCSV: the offset time
// moved to South African time, the clock without seconds completed, the
// amounts read.
const exportStored = `c1 27631231234 raw="27631231234" soldAt="2025-10-14 11:02:51" value=1299 send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-14 09:02:00" value=199.99 send="" click=""
c1 27725550101 raw="27725550101" soldAt="2025-10-15" value=5 send="" click=""
`

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func utf16LE(t *testing.T, s string) string {
	t.Helper()
	out, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUploadExportForms uploads one export as CSV, gzip-compressed CSV and
// JSON lines, UTF-16 text with tabs (Excel's "Unicode Text") and an Excel
// workbook made here, and checks each stores the same sales.
func TestUploadExportForms(t *testing.T) {
	lines := `{"campaign_id":"c1","cell":"0631231234","soldAt":"2025-10-14T09:02:51+00:00","saleValue":"1,299.00"}
{"campaign_id":"c1","cell":"0821234567","soldAt":"2025-10-14 09:02","saleValue":"R199.99"}
{"campaign_id":"c1","cell":"+27725550101","soldAt":"2025-10-15","saleValue":"ZAR 5"}
`
	cases := []struct {
		name, file, content string
		args                []string
	}{
		{name: "csv", file: "export.csv", content: exportCSV},
		{name: "csv.gz", file: "export.csv.gz", content: gzipped(t, exportCSV)},
		{name: "jsonl.gz", file: "export.jsonl.gz", content: gzipped(t, lines)},
		{name: "gzip without its extension", file: "export.dat", content: gzipped(t, exportCSV)},
		{name: "utf-16 unicode text", file: "export.txt", content: utf16LE(t, "campaign_id\tcell\tsoldAt\tsaleValue\r\n"+
			"c1\t0631231234\t2025-10-14T09:02:51+00:00\t1,299.00\r\n"+
			"c1\t0821234567\t2025-10-14 09:02\tR199.99\r\n"+
			"c1\t+27725550101\t2025-10-15\tZAR 5\r\n")},
		{name: "decimal comma", file: "export.csv", args: []string{"--decimal-comma"},
			content: strings.NewReplacer(`"1,299.00"`, `"1.299,00"`, "R199.99", `"R199,99"`).Replace(exportCSV)},
		{name: "date format", file: "export.csv", args: []string{"--date-format", "02/01/2006 15:04"},
			content: strings.NewReplacer("2025-10-14 09:02", "14/10/2025 09:02").Replace(exportCSV)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			rejects := filepath.Join(t.TempDir(), "rejects")
			args := append([]string{"upload", "--quiet", "--region", "ZA", "--rejects", rejects}, tc.args...)
			r := runCLI(t, env(srv), append(args, writeFile(t, tc.file, tc.content))...)
			r.WantCode(t, 0)
			wantStored(t, srv, exportStored)
		})
	}
	t.Run("xlsx", func(t *testing.T) {
		srv := newServer(t)
		path := writeWorkbook(t)
		rejects := filepath.Join(t.TempDir(), "rejects.csv")
		r := runCLI(t, env(srv), "upload", "--quiet", "--region", "ZA", "--sheet", "orders", "--map", "cell=Phone", "--rejects", rejects, path)
		r.WantCode(t, 1)
		wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2025-10-14 09:00:00" value=1299 send="" click=""
c1 27821234567 raw="27821234567" soldAt="2025-10-15" value=199.99 send="" click=""
`)
		wantContains(t, "stdout", r.Stdout, "export.xlsx: 3 rows read, 3 sent")
		// Rejects from a workbook are CSV, with the sheet's header and row numbers.
		if got, want := readFile(t, rejects), "campaign_id,Phone,soldAt,saleValue,row,reason\nnope,0725550101,2025-10-15,5,5,\"campaign not found: \"\"nope\"\"\"\n"; got != want {
			t.Errorf("rejects\n%q\nwant\n%q", got, want)
		}
		r = runCLI(t, env(srv), "upload", "--quiet", "--sheet", "nope", path)
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, `has no sheet "nope" (its sheets are "notes", "orders")`)
	})
}

// writeWorkbook makes an .xlsx whose second sheet holds the sales: a date
// and time as Excel stores them (a serial number), one typed as text,
// amounts as numbers, and a blank row.
func writeWorkbook(t *testing.T) string {
	t.Helper()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	if err := f.SetSheetName("Sheet1", "notes"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.NewSheet("orders"); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"campaign_id", "Phone", "soldAt", "saleValue"},
		{"c1", "0631231234", 45944.375, 1299}, // 2025-10-14 09:00
		{},
		{"c1", "0821234567", "2025-10-15", 199.99},
		{"nope", "0725550101", "2025-10-15", 5},
	}
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("orders", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "export.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUploadBinaryFiles checks that files no sales can be read from are
// named for what they are, in one short line, never as escaped bytes.
func TestUploadBinaryFiles(t *testing.T) {
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("sales.csv")
	_, _ = w.Write([]byte(exportCSV))
	_ = zw.Close()
	cases := []struct{ name, file, content, want string }{
		{"zip", "sales.csv", zipped.String(), "is a ZIP archive: extract the sales file"},
		{"xls", "sales.xls", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + strings.Repeat("\x00", 600), "is an old-style Excel (.xls)"},
		{"pdf", "sales.csv", "%PDF-1.7\n" + strings.Repeat("\x00\x01", 300), "is a PDF document"},
		{"binary", "sales.csv", "campaign_id,cell\n\x00\x01\x02\x03" + strings.Repeat("\xff", 900), "is a binary file, not text"},
		{"gzip of a pdf", "sales.csv.gz", gzipped(t, "%PDF-1.7\n"+strings.Repeat("x", 100)), "is a PDF document"},
		{"utf-16 without a mark", "sales.txt", strings.Repeat("a\x00b\x00", 100), "looks like UTF-16 text without a byte order mark"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, "upload", "--dry-run", writeFile(t, tc.file, tc.content))
			r.WantCode(t, 2)
			wantContains(t, "stderr", r.Stderr, tc.want)
			if len(r.Stderr) > 300 || strings.Contains(r.Stderr, `\x`) {
				t.Errorf("stderr is %d bytes of escapes:\n%s", len(r.Stderr), r.Stderr)
			}
		})
	}
}

// TestUploadLongCellCut checks that a runaway cell is quoted in part, with
// its length, rather than echoed whole.
func TestUploadLongCellCut(t *testing.T) {
	huge := strings.Repeat("9", 1<<20)
	path := writeFile(t, "sales.csv", "campaign_id,cell,saleValue\nc1,27631231234,"+huge+"x\n")
	r := runCLI(t, nil, "upload", "--dry-run", "--quiet", path)
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, `saleValue "`+strings.Repeat("9", 40)+`"… (1048577 bytes) is not a number`)
	if len(r.Stderr) > 2000 {
		t.Errorf("stderr is %d bytes", len(r.Stderr))
	}
}

// TestUploadSkipInvalid checks that invalid rows stop the upload unless
// --skip-invalid or a large enough --max-invalid lets the valid ones go,
// and that the invalid ones then go to the rejects file with their reasons.
func TestUploadSkipInvalid(t *testing.T) {
	content := exportCSV + "c1,12345,2025-10-15,5\r\nc1,0845550199,yesterday,5\r\n"
	path := writeFile(t, "export.csv", content)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stored int
	}{
		{"the safe default", nil, 2, 0},
		{"--max-invalid below the count", []string{"--max-invalid", "1"}, 2, 0},
		{"--max-invalid at the count", []string{"--max-invalid", "2"}, 1, 3},
		{"--skip-invalid", []string{"--skip-invalid"}, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			rejects := filepath.Join(t.TempDir(), "rejects.csv")
			args := append([]string{"upload", "--quiet", "--region", "ZA", "--rejects", rejects}, tc.args...)
			r := runCLI(t, env(srv), append(args, path)...)
			r.WantCode(t, tc.code)
			if n := len(srv.Sales()); n != tc.stored {
				t.Fatalf("server holds %d sales, want %d", n, tc.stored)
			}
			if got := summaryLine(t, r.Stdout, "invalid"); got != "invalid 2 rows 5, 6" {
				t.Errorf("summary %q", got)
			}
			want := "campaign_id,cell,soldAt,saleValue,row,reason\n" +
				"c1,12345,2025-10-15,5,5,\"cell \"\"12345\"\" is not a valid ZA number: too short for a mobile number in ZA (at least 9 digits after the country code)\"\n" +
				"c1,0845550199,yesterday,5,6,\"soldAt \"\"yesterday\"\" is not a date"
			if got := readFile(t, rejects); !strings.HasPrefix(got, want) {
				t.Errorf("rejects\n%s\nwant it to start\n%s", got, want)
			}
			if tc.code == 2 {
				wantContains(t, "stderr", r.Stderr, "2 invalid rows; nothing was sent")
			}
		})
	}
}

// TestUploadRepeatedRows checks that the check pass names rows Dripcel
// would take as one sale, and that they are not sent.
func TestUploadRepeatedRows(t *testing.T) {
	content := "campaign_id,cell,soldAt\nc1,0631231234,2025-10-14 09:00:00\nc1,27631231234,2025-10-14 17:30:00\n" +
		"c1,0631231234,2025-10-15\nc2,0631231234,2025-10-14\nc1,0631231234,2025-10-14\n"
	path := writeFile(t, "sales.csv", content)
	r := runCLI(t, nil, "upload", "--dry-run", "--region", "ZA", path)
	r.WantCode(t, 0)
	wantContains(t, "stderr", r.Stderr,
		path+": row 3 repeats row 2 (same cell, campaign and soldAt date): Dripcel keeps only the first",
		path+": row 6 repeats row 2")
	if got := summaryLine(t, r.Stdout, "repeated in file"); got != "repeated in file 2 rows 3 (repeats 2), 6 (repeats 2)" {
		t.Errorf("summary %q", got)
	}
	srv := newServer(t)
	r = runCLI(t, env(srv), "upload", "--quiet", "--region", "ZA", path)
	r.WantCode(t, 0)
	if n, reqs := len(srv.Sales()), srv.Requests(); n != 3 || len(reqs) != 1 || reqs[0].Sales != 3 {
		t.Errorf("server holds %d sales from %+v, want 3 from one request of 3", n, reqs)
	}
}

// TestUploadNamedPipe reads a file that can be read only once, as a shell's
// <(zcat export.csv.gz) is: it is copied first, as standard input is.
func TestUploadNamedPipe(t *testing.T) {
	if _, err := os.Stat("/dev/stdin"); err != nil {
		t.Skip("no /dev/stdin here")
	}
	srv := newServer(t)
	inv := invocation{Args: []string{"upload", "--quiet", "--region", "ZA", "/dev/stdin"}, Env: env(srv),
		Stdin: strings.NewReader(exportCSV)}
	r := inv.Run(t)
	r.WantCode(t, 0)
	wantStored(t, srv, exportStored)
}

// TestUploadSlashDates uploads dates written with slashes: year first
// without --date-format, day first with --date-format DD/MM/YYYY (with and
// without a clock); a date neither reads is refused with the format echoed
// as the user wrote it.
func TestUploadSlashDates(t *testing.T) {
	srv := newServer(t)
	path := writeFile(t, "export.csv", "campaign_id,cell,soldAt\n"+
		"c1,27631231234,2026/11/03\n"+
		"c1,27821234567,2026/11/03 14:02\n"+
		"c1,27725550101,04/11/2026\n"+
		"c1,27845550199,04/11/2026 08:15:30\n")
	r := runCLI(t, env(srv), "upload", "--quiet", "--date-format", "DD/MM/YYYY", path)
	r.WantCode(t, 0)
	wantStored(t, srv, `c1 27631231234 raw="27631231234" soldAt="2026-11-03" value=default send="" click=""
c1 27821234567 raw="27821234567" soldAt="2026-11-03 14:02:00" value=default send="" click=""
c1 27725550101 raw="27725550101" soldAt="2026-11-04" value=default send="" click=""
c1 27845550199 raw="27845550199" soldAt="2026-11-04 08:15:30" value=default send="" click=""
`)
	bad := writeFile(t, "export.csv", "campaign_id,cell,soldAt\nc1,27631231234,04.11.2026\n")
	r = runCLI(t, nil, "upload", "--dry-run", "--date-format", "DD/MM/YYYY HH:MM", bad)
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, `soldAt "04.11.2026" is not a date in the form --date-format DD/MM/YYYY HH:MM gives, nor YYYY-MM-DD or YYYY/MM/DD`)
	if strings.Contains(r.Stderr, "2006") {
		t.Errorf("the message speaks Go's date notation:\n%s", r.Stderr)
	}
}

// TestUploadHelpAgrees checks flag help against behaviour: --retries does
// not claim 429s, which spend none of it, and no default is shown
// unexplained.
func TestUploadHelpAgrees(t *testing.T) {
	help := runCLI(t, nil, "upload", "--help").Stdout
	for _, line := range strings.Split(help, "\n") {
		if strings.Contains(line, "--retries") && strings.Contains(line, "429") && !strings.Contains(line, "spend none") {
			t.Errorf("--retries help claims 429: %q", line)
		}
		if strings.Contains(line, "(default -1)") {
			t.Errorf("unexplained default: %q", line)
		}
	}
	wantContains(t, "upload help", help, "DD/MM/YYYY, MM/DD/YYYY or YYYY/MM/DD", "--progress-every")
}
