package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"io"
	"sort"
	"strings"
)

// Record is one row of input, kept as read so a reject can be written back
// in the input's own format.
type Record struct {
	// Row is the row number shown to people: the line number in CSV and
	// JSON-lines files (the CSV header is row 1), the position in a JSON
	// array (the first object is row 1).
	Row int
	// Fields is the CSV record as read; Raw is the JSON object as read.
	Fields []string
	Raw    []byte
	vals   [NumFields]value
	// Problem is what made the row unreadable (a wrong number of fields,
	// not a JSON object); the row is then invalid.
	Problem string
}

// rowReader reads the rows of a sales file one at a time. Next returns
// io.EOF after the last row; any other error is fatal to the file.
type rowReader interface {
	Next() (*Record, error)
}

// csvReader reads CSV with a header row.
type csvReader struct {
	name   string
	r      *csv.Reader
	header []string
	index  [NumFields]int // column of each field, -1 if absent
	comma  rune
}

func newCSVReader(name string, br *bufio.Reader, m *Mapping) (*csvReader, error) {
	c := &csvReader{name: name, comma: sniffComma(br)}
	c.r = csv.NewReader(br)
	c.r.Comma = c.comma
	c.r.FieldsPerRecord = -1
	header, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, cli.Usage("%s: the file is empty", name)
	}
	if err != nil {
		return nil, c.fatal(err)
	}
	row, _ := c.r.FieldPos(0)
	c.header = header
	if c.index, err = columns(name, row, header, m); err != nil {
		return nil, err
	}
	return c, nil
}

// columns finds the column of each field in a header row, or says which
// required one is missing.
func columns(name string, row int, header []string, m *Mapping) ([NumFields]int, error) {
	var index [NumFields]int
	for f := range NumFields {
		index[f] = ColumnIndex(header, m.columns[f])
		if index[f] >= 0 || (!m.required(f) && !m.mapped[f]) {
			continue
		}
		return index, cli.Usage("%s: row %d: no column %q (the columns are %s; name it with --map %s=COLUMN)",
			name, row, m.columns[f], cli.QuoteAll(header), f)
	}
	// Any one identifier column will do: an export of clicks kept at
	// checkout has click_id and no campaign.
	if m.campaign == "" && index[CampaignID] < 0 && index[SendID] < 0 && index[ClickID] < 0 {
		return index, cli.Usage("%s: row %d: no column %q, %q or %q (the columns are %s; a sale needs one: "+
			"name one with --map, e.g. --map campaign_id=COLUMN, or give --campaign ID)",
			name, row, m.columns[CampaignID], m.columns[SendID], m.columns[ClickID], cli.QuoteAll(header))
	}
	return index, nil
}

// headerOf is a reader of rows under a header line, whose rejects file
// repeats that header.
type headerOf interface {
	headerRow() ([]string, rune)
}

func (c *csvReader) headerRow() ([]string, rune) { return c.header, c.comma }

// fill makes a record of fields, with the values of each field.
func fill(rec *Record, index [NumFields]int, width int) {
	if len(rec.Fields) != width {
		rec.Problem = fmt.Sprintf("has %d fields, the header has %d", len(rec.Fields), width)
	}
	for f, i := range index {
		if i >= 0 && i < len(rec.Fields) {
			rec.vals[f] = value{s: rec.Fields[i], present: true}
		}
	}
}

// sniffComma picks the separator from the header line: a comma unless the
// line has more semicolons or tabs (as spreadsheets in some locales write).
func sniffComma(br *bufio.Reader) rune {
	head, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	best, n := ',', bytes.Count(head, []byte{','})
	for _, c := range []rune{';', '\t'} {
		if k := bytes.Count(head, []byte(string(c))); k > n {
			best, n = c, k
		}
	}
	return best
}

// ColumnIndex finds name in header, exactly or else ignoring case and
// surrounding spaces.
func ColumnIndex(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return i
		}
	}
	return -1
}

func (c *csvReader) Next() (*Record, error) {
	for {
		fields, err := c.r.Read()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return nil, c.fatal(err)
		}
		if blank(fields) {
			continue // a spreadsheet's empty row: ",,,,"
		}
		row, _ := c.r.FieldPos(0)
		rec := &Record{Row: row, Fields: fields}
		fill(rec, c.index, len(c.header))
		return rec, nil
	}
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// fatal words a CSV syntax error with the file and row.
func (c *csvReader) fatal(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		hint := ""
		if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
			hint = ` (put the field in double quotes and double each " inside it)`
		}
		return cli.Usage("%s: row %d: %v%s", c.name, pe.StartLine, pe.Err, hint)
	}
	return cli.Exit(cli.ExitUsage, fmt.Errorf("%s: %w", c.name, err))
}

// jsonReader reads a JSON array of sale objects, one element at a time.
type jsonReader struct {
	name    string
	dec     *json.Decoder
	m       *Mapping
	row     int
	started bool
}

func newJSONReader(name string, r io.Reader, m *Mapping) *jsonReader {
	return &jsonReader{name: name, dec: json.NewDecoder(r), m: m}
}

func (j *jsonReader) Next() (*Record, error) {
	if !j.started {
		j.started = true
		tok, err := j.dec.Token()
		if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
			return nil, cli.Usage("%s: a .json file must hold one JSON array of sale objects (for one object a line, use JSON lines)", j.name)
		}
	}
	if !j.dec.More() {
		if _, err := j.dec.Token(); err != nil { // the closing "]"
			return nil, cli.Usage("%s: after row %d: invalid JSON: %v", j.name, j.row, err)
		}
		if _, err := j.dec.Token(); !errors.Is(err, io.EOF) {
			return nil, cli.Usage("%s: unexpected data after the JSON array", j.name)
		}
		return nil, io.EOF
	}
	j.row++
	var raw json.RawMessage
	if err := j.dec.Decode(&raw); err != nil {
		return nil, cli.Usage("%s: row %d: invalid JSON: %v", j.name, j.row, err)
	}
	rec := &Record{Row: j.row, Raw: raw}
	readObject(rec, j.m)
	return rec, nil
}

// linesReader reads JSON lines: one sale object a line.
type linesReader struct {
	name string
	sc   *bufio.Scanner
	m    *Mapping
	line int
}

// maxLine bounds one JSON line, so a file without line ends cannot take
// all memory.
const maxLine = 1 << 20

func newLinesReader(name string, r io.Reader, m *Mapping) *linesReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &linesReader{name: name, sc: sc, m: m}
}

func (l *linesReader) Next() (*Record, error) {
	for l.sc.Scan() {
		l.line++
		line := bytes.TrimSpace(l.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec := &Record{Row: l.line, Raw: bytes.Clone(line)}
		readObject(rec, l.m)
		return rec, nil
	}
	if err := l.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, cli.Usage("%s: row %d: line longer than %d bytes", l.name, l.line+1, maxLine)
		}
		return nil, cli.Exit(cli.ExitUsage, fmt.Errorf("%s: %w", l.name, err))
	}
	return nil, io.EOF
}

// readObject fills rec.vals from the JSON object rec.Raw. Keys match as
// column names do: exactly, or else ignoring case.
func readObject(rec *Record, m *Mapping) {
	dec := json.NewDecoder(bytes.NewReader(rec.Raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			rec.Problem = "is " + te.Value + ", not a JSON object"
		} else {
			rec.Problem = "invalid JSON: " + err.Error()
		}
		return
	}
	if obj == nil {
		rec.Problem = "is null, not a JSON object"
		return
	}
	for f := range NumFields {
		v, ok := Lookup(obj, m.columns[f])
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string:
			rec.vals[f] = value{s: x, present: true}
		case json.Number:
			rec.vals[f] = value{s: x.String(), present: true}
		case nil:
			rec.vals[f] = value{present: true}
		case bool:
			rec.vals[f] = value{present: true, badType: "true or false"}
		case []any:
			rec.vals[f] = value{present: true, badType: "an array"}
		default:
			rec.vals[f] = value{present: true, badType: "an object"}
		}
	}
}

// Lookup finds key in obj, exactly or else ignoring case.
func Lookup[V any](obj map[string]V, key string) (V, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	// Several keys may differ only in case; take the first in sorted order
	// so the choice does not depend on map iteration.
	var keys []string
	for k := range obj {
		if strings.EqualFold(k, key) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		var zero V
		return zero, false
	}
	sort.Strings(keys)
	return obj[keys[0]], true
}
