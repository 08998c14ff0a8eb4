package export

import (
	"bytes"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"path/filepath"
	"strings"
)

// kind is what the first bytes of a file say it is, beyond text.
type kind struct {
	// gzip: the file is compressed; what it holds is sniffed again.
	gzip bool
	// utf16 names the byte order of a UTF-16 file with a byte order mark
	// ("le" or "be"), as Excel's "Unicode Text" is; "" for UTF-8.
	utf16 string
	// sheet: an Excel workbook (.xlsx), read from one sheet.
	sheet bool
}

// magic are file signatures a sales file may wrongly be, with what to say.
var magic = []struct {
	sig  string
	what string
}{
	{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel (.xls) or other Office file: open it and save it as .xlsx or as CSV UTF-8"},
	{"%PDF-", "a PDF document, not a sales file: export the data as CSV instead"},
	{"BZh", "a bzip2 archive: decompress it first (or recompress it as .gz, which is read as it is)"},
	{"\xfd7zXZ\x00", "an xz archive: decompress it first (or recompress it as .gz, which is read as it is)"},
	{"7z\xbc\xaf\x27\x1c", "a 7-Zip archive: extract the sales file from it first"},
	{"Rar!\x1a\x07", "a RAR archive: extract the sales file from it first"},
	{"\x89PNG\r\n\x1a\n", "a PNG image, not a sales file"},
	{"\xff\xd8\xff", "a JPEG image, not a sales file"},
	{"SQLite format 3\x00", "an SQLite database: export the sales table as CSV first"},
}

// sniff tells what head (the file's first bytes, after any gzip layer) is.
// It returns a usage error for files no sales can be read from, named for
// what they are rather than shown as escaped bytes.
func sniff(name, path string, head []byte, gzipped bool) (kind, error) {
	var k kind
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xfe")):
		k.utf16 = "le"
		return k, nil
	case bytes.HasPrefix(head, []byte("\xfe\xff")):
		k.utf16 = "be"
		return k, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		ext := strings.ToLower(filepath.Ext(path))
		workbook := bytes.Contains(head, []byte("xl/")) || ext == ".xlsx" || ext == ".xlsm"
		switch {
		case workbook && !gzipped:
			k.sheet = true
			return k, nil
		case workbook:
			return k, cli.Usage("%s is a gzip-compressed Excel workbook: decompress it first", name)
		case bytes.Contains(head, []byte("word/")):
			return k, cli.Usage("%s is a Word document, not a sales file", name)
		}
		return k, cli.Usage("%s is a ZIP archive: extract the sales file (CSV, JSON or .xlsx) from it first", name)
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.sig)) {
			return k, cli.Usage("%s is %s", name, m.what)
		}
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		if looksUTF16(head) {
			return k, cli.Usage("%s looks like UTF-16 text without a byte order mark: save it as CSV UTF-8, or as UTF-16 with one", name)
		}
		return k, cli.Usage("%s is a binary file, not text (a zero byte at offset %d): export the sales as CSV, JSON or .xlsx", name, i)
	}
	return k, nil
}

// looksUTF16 reports text whose every other byte is zero.
func looksUTF16(head []byte) bool {
	zeros := 0
	for i := 1; i < len(head); i += 2 {
		if head[i] == 0 || head[i-1] == 0 {
			zeros++
		}
	}
	return len(head) >= 8 && zeros*10 >= len(head)/2*9
}
