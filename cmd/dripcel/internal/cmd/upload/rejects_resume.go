package upload

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"io"
	"slices"
	"strconv"
)

// keepCSV copies the earlier run's rejected rows that come before the row
// this run starts from. The earlier file must have this run's header: a
// rejects file of another export is not appended to.
func (rj *rejects) keepCSV(header []string, comma rune) error {
	r := csv.NewReader(bufio.NewReader(rj.earlier))
	r.Comma = comma
	r.FieldsPerRecord = -1
	old, err := r.Read()
	if len(old) > 0 {
		old[0] = string(bytes.TrimPrefix([]byte(old[0]), export.UTF8BOM))
	}
	if err != nil || !slices.Equal(old, header) {
		return cli.Usage("--rejects %s holds other columns than this file's rejects would (%s): "+
			"name another file, or move it away", rj.path, cli.Quote(joinComma(old, comma)))
	}
	at := len(header) - 2 // the "row" column
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return cli.Usage("--rejects %s cannot be read to keep its rows: %v", rj.path, err)
		}
		if at < len(fields) {
			if row, err := strconv.Atoi(fields[at]); err == nil && row >= rj.from {
				continue
			}
		}
		rj.kept++
		rj.set(rj.csv.Write(fields))
	}
}

func joinComma(fields []string, comma rune) string {
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteRune(comma)
		}
		b.WriteString(f)
	}
	return b.String()
}

// keepJSON copies the earlier run's rejected objects (a JSON array or JSON
// lines, as the input is) that come before the row this run starts from.
func (rj *rejects) keepJSON() error {
	dec := json.NewDecoder(bufio.NewReader(rj.earlier))
	if rj.format == export.FormatJSON {
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return cli.Usage("--rejects %s is not a JSON array as this file's rejects are: name another file, or move it away", rj.path)
		}
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return cli.Usage("--rejects %s cannot be read to keep its rows: %v", rj.path, err)
		}
		if rejectRow(raw) >= rj.from {
			continue
		}
		if rj.format == export.FormatJSON {
			sep := ",\n"
			if rj.kept == 0 {
				sep = "\n"
			}
			_, err := rj.w.WriteString(sep)
			rj.set(err)
		}
		_, err := rj.w.Write(raw)
		rj.set(err)
		if rj.format != export.FormatJSON {
			rj.set(rj.w.WriteByte('\n'))
		}
		rj.kept++
	}
	return nil
}

// rejectRow is the row number a rejects object names, or 0: under
// "dripcel_row" when the input had a "row" key of its own.
func rejectRow(raw json.RawMessage) int {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return 0
	}
	v, ok := obj["dripcel_row"]
	if !ok {
		v = obj["row"]
	}
	n, _ := strconv.Atoi(string(v))
	return n
}
