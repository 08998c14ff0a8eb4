package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// record is one row of input, kept as read so a reject can be written back
// in the input's own format.
type record struct {
	// row is the row number shown to people: the line number in CSV and
	// JSON-lines files (the CSV header is row 1), the position in a JSON
	// array (the first object is row 1).
	row int
	// fields is the CSV record as read; raw is the JSON object as read.
	fields []string
	raw    []byte
	vals   [numFields]value
	// problem is what made the row unreadable (a wrong number of fields,
	// not a JSON object); the row is then invalid.
	problem string
}

// rowReader reads the rows of a sales file one at a time. Next returns
// io.EOF after the last row; any other error is fatal to the file.
type rowReader interface {
	Next() (*record, error)
}

// csvReader reads CSV with a header row.
type csvReader struct {
	name   string
	r      *csv.Reader
	header []string
	index  [numFields]int // column of each field, -1 if absent
	comma  rune
}

func newCSVReader(name string, br *bufio.Reader, m *mapping) (*csvReader, error) {
	c := &csvReader{name: name, comma: sniffComma(br)}
	c.r = csv.NewReader(br)
	c.r.Comma = c.comma
	c.r.FieldsPerRecord = -1
	header, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, usageError("%s: the file is empty", name)
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
func columns(name string, row int, header []string, m *mapping) ([numFields]int, error) {
	var index [numFields]int
	for f := range numFields {
		index[f] = columnIndex(header, m.columns[f])
		if index[f] >= 0 || (!m.required(f) && !m.mapped[f]) {
			continue
		}
		return index, usageError("%s: row %d: no column %q (the columns are %s; name it with --map %s=COLUMN)",
			name, row, m.columns[f], quoteAll(header), f)
	}
	// Any one identifier column will do: an export of clicks kept at
	// checkout has click_id and no campaign.
	if m.campaign == "" && index[fCampaign] < 0 && index[fSendID] < 0 && index[fClickID] < 0 {
		return index, usageError("%s: row %d: no column %q, %q or %q (the columns are %s; a sale needs one: "+
			"name one with --map, e.g. --map campaign_id=COLUMN, or give --campaign ID)",
			name, row, m.columns[fCampaign], m.columns[fSendID], m.columns[fClickID], quoteAll(header))
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
func fill(rec *record, index [numFields]int, width int) {
	if len(rec.fields) != width {
		rec.problem = fmt.Sprintf("has %d fields, the header has %d", len(rec.fields), width)
	}
	for f, i := range index {
		if i >= 0 && i < len(rec.fields) {
			rec.vals[f] = value{s: rec.fields[i], present: true}
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

// columnIndex finds name in header, exactly or else ignoring case and
// surrounding spaces.
func columnIndex(header []string, name string) int {
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

// quoteAll lists a header's columns, cut short for a header that is not
// one (a binary file read as text, say).
func quoteAll(ss []string) string {
	const most = 20
	q := make([]string, 0, min(len(ss), most))
	for i, s := range ss {
		if i == most {
			q = append(q, fmt.Sprintf("… and %d more", len(ss)-most))
			break
		}
		q = append(q, quote(s))
	}
	return strings.Join(q, ", ")
}

func (c *csvReader) Next() (*record, error) {
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
		rec := &record{row: row, fields: fields}
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
		return usageError("%s: row %d: %v%s", c.name, pe.StartLine, pe.Err, hint)
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", c.name, err)}
}

// jsonReader reads a JSON array of sale objects, one element at a time.
type jsonReader struct {
	name    string
	dec     *json.Decoder
	m       *mapping
	row     int
	started bool
}

func newJSONReader(name string, r io.Reader, m *mapping) *jsonReader {
	return &jsonReader{name: name, dec: json.NewDecoder(r), m: m}
}

func (j *jsonReader) Next() (*record, error) {
	if !j.started {
		j.started = true
		tok, err := j.dec.Token()
		if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
			return nil, usageError("%s: a .json file must hold one JSON array of sale objects (for one object a line, use JSON lines)", j.name)
		}
	}
	if !j.dec.More() {
		if _, err := j.dec.Token(); err != nil { // the closing "]"
			return nil, usageError("%s: after row %d: invalid JSON: %v", j.name, j.row, err)
		}
		if _, err := j.dec.Token(); !errors.Is(err, io.EOF) {
			return nil, usageError("%s: unexpected data after the JSON array", j.name)
		}
		return nil, io.EOF
	}
	j.row++
	var raw json.RawMessage
	if err := j.dec.Decode(&raw); err != nil {
		return nil, usageError("%s: row %d: invalid JSON: %v", j.name, j.row, err)
	}
	rec := &record{row: j.row, raw: raw}
	readObject(rec, j.m)
	return rec, nil
}

// linesReader reads JSON lines: one sale object a line.
type linesReader struct {
	name string
	sc   *bufio.Scanner
	m    *mapping
	line int
}

// maxLine bounds one JSON line, so a file without line ends cannot take
// all memory.
const maxLine = 1 << 20

func newLinesReader(name string, r io.Reader, m *mapping) *linesReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &linesReader{name: name, sc: sc, m: m}
}

func (l *linesReader) Next() (*record, error) {
	for l.sc.Scan() {
		l.line++
		line := bytes.TrimSpace(l.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec := &record{row: l.line, raw: bytes.Clone(line)}
		readObject(rec, l.m)
		return rec, nil
	}
	if err := l.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, usageError("%s: row %d: line longer than %d bytes", l.name, l.line+1, maxLine)
		}
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", l.name, err)}
	}
	return nil, io.EOF
}

// readObject fills rec.vals from the JSON object rec.raw. Keys match as
// column names do: exactly, or else ignoring case.
func readObject(rec *record, m *mapping) {
	dec := json.NewDecoder(bytes.NewReader(rec.raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			rec.problem = "is " + te.Value + ", not a JSON object"
		} else {
			rec.problem = "invalid JSON: " + err.Error()
		}
		return
	}
	if obj == nil {
		rec.problem = "is null, not a JSON object"
		return
	}
	for f := range numFields {
		v, ok := lookup(obj, m.columns[f])
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

// lookup finds key in obj, exactly or else ignoring case.
func lookup[V any](obj map[string]V, key string) (V, bool) {
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
