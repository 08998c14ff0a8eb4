package upload

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// rejects writes the rows that were not accepted to a file in the input's
// format, each with its row number and the reason, so they can be fixed and
// sent again: the extra "row" and "reason" columns (or keys) are ignored by
// upload.
type rejects struct {
	path string
	// earlier is the rejects file of the run being resumed, whose rows
	// before from are kept; file is then a temporary file that replaces it
	// when the run ends.
	earlier *os.File
	from    int
	kept    int
	file    *os.File
	w       *bufio.Writer
	csv     *csv.Writer
	format  export.Format
	width   int // fields in a CSV input's header
	n       int
	err     error
}

// createRejects creates (or truncates) the rejects file before anything is
// read, so an unwritable path is a usage error with nothing sent. A resumed
// run (from > 1) keeps the rows of an existing rejects file that come
// before from: those are the earlier run's; the rows from there on are
// this run's to judge again.
func createRejects(path string, in *export.Input, from int) (*rejects, error) {
	if path == "" {
		return nil, nil
	}
	if !in.Temp && sameFile(path, in.Path) {
		return nil, cli.Usage("--rejects %s is the input file", path)
	}
	format := in.Format
	if format == export.FormatSheet {
		format = export.FormatCSV // a spreadsheet's rejects are written as CSV
	}
	rj := &rejects{path: path, format: format, from: from}
	var err error
	if st, serr := os.Stat(path); from > 1 && serr == nil && st.Size() > 0 {
		rj.earlier, err = os.Open(path)
	}
	// The rows go to a temporary file beside path, created now so that a
	// path that cannot be written is refused before anything is sent; it
	// replaces path when the run ends, unless no row needs action.
	var f *os.File
	if err == nil {
		f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	}
	if err != nil {
		rj.abort()
		return nil, cli.Exit(cli.ExitUsage, fmt.Errorf("--rejects: %w", err))
	}
	rj.file, rj.w = f, bufio.NewWriter(f)
	if rj.format == export.FormatJSON {
		_, rj.err = rj.w.WriteString("[")
	}
	if rj.earlier != nil && rj.format != export.FormatCSV {
		if err := rj.keepJSON(); err != nil {
			rj.abort()
			return nil, err
		}
	}
	return rj, nil
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, _ := filepath.Abs(a)
	absB, _ := filepath.Abs(b)
	return absA == absB
}

// header starts a CSV rejects file with the input's header and the two
// extra columns, and keeps the earlier run's rows when resuming.
func (rj *rejects) header(h []string, comma rune) error {
	if rj == nil || rj.format != export.FormatCSV || rj.csv != nil {
		return nil
	}
	rj.csv = csv.NewWriter(rj.w)
	rj.csv.Comma = comma
	rj.width = len(h)
	full := append(append([]string(nil), h...), extraColumn(h, "row"), extraColumn(h, "reason"))
	rj.set(rj.csv.Write(full))
	if rj.earlier != nil {
		return rj.keepCSV(full, comma)
	}
	return nil
}

// extraColumn is name, or "dripcel_"+name when the input already has it.
func extraColumn(h []string, name string) string {
	if export.ColumnIndex(h, name) >= 0 {
		return "dripcel_" + name
	}
	return name
}

// add writes one rejected row.
func (rj *rejects) add(rec *export.Record, reason string) {
	if rj == nil || rj.err != nil {
		return
	}
	rj.n++
	switch rj.format {
	case export.FormatCSV:
		if rj.csv == nil {
			return
		}
		// A row short of fields is padded, so that its row and reason sit
		// under their headings.
		fields := make([]string, max(len(rec.Fields), rj.width), max(len(rec.Fields), rj.width)+2)
		copy(fields, rec.Fields)
		rj.set(rj.csv.Write(append(fields, strconv.Itoa(rec.Row), reason)))
	case export.FormatJSON:
		sep := ",\n"
		if rj.n+rj.kept == 1 {
			sep = "\n"
		}
		_, err := rj.w.WriteString(sep)
		rj.set(err)
		rj.set(writeJSONReject(rj.w, rec, reason))
	default:
		rj.set(writeJSONReject(rj.w, rec, reason))
		rj.set(rj.w.WriteByte('\n'))
	}
}

// writeJSONReject writes the row's object with "row" and "reason" added
// in front (as "dripcel_row" and "dripcel_reason" when the object has those
// keys already, as a rejects file sent again does: a duplicate key would
// hide the new value from most readers). A row that is not an object is
// kept under "input".
func writeJSONReject(w *bufio.Writer, rec *export.Record, reason string) error {
	body := bytes.TrimSpace(rec.Raw)
	object := len(body) > 0 && body[0] == '{' && rec.Problem == ""
	rowKey, reasonKey := "row", "reason"
	if object {
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(body, &keys)
		if _, ok := export.Lookup(keys, rowKey); ok {
			rowKey = "dripcel_row"
		}
		if _, ok := export.Lookup(keys, reasonKey); ok {
			reasonKey = "dripcel_reason"
		}
	}
	r, _ := json.Marshal(reason)
	if _, err := fmt.Fprintf(w, `{%q:%d,%q:%s`, rowKey, rec.Row, reasonKey, r); err != nil {
		return err
	}
	if object {
		rest := bytes.TrimSpace(body[1:])
		if len(rest) > 0 && rest[0] != '}' {
			_ = w.WriteByte(',')
		}
		_, err := w.Write(rest)
		return err
	}
	in, _ := json.Marshal(string(body))
	_, err := fmt.Fprintf(w, `,"input":%s}`, in)
	return err
}

func (rj *rejects) set(err error) {
	if rj.err == nil && err != nil {
		rj.err = err
	}
}

// close finishes the file and reports the first write error.
func (rj *rejects) close() error {
	if rj == nil {
		return nil
	}
	if rj.csv != nil {
		rj.csv.Flush()
		rj.set(rj.csv.Error())
	}
	if rj.format == export.FormatJSON {
		end := "]\n"
		if rj.n+rj.kept > 0 {
			end = "\n]\n"
		}
		_, err := rj.w.WriteString(end)
		rj.set(err)
	}
	rj.set(rj.w.Flush())
	rj.set(rj.file.Close())
	if rj.earlier != nil {
		_ = rj.earlier.Close()
	}
	switch {
	case rj.err != nil:
		_ = os.Remove(rj.file.Name())
	case rj.empty():
		// No row needs action: no file, rather than an empty one (or an
		// earlier run's, whose rows this run has settled).
		_ = os.Remove(rj.file.Name())
		if err := os.Remove(rj.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			rj.set(err)
		}
	default:
		rj.set(os.Rename(rj.file.Name(), rj.path))
	}
	if rj.err != nil {
		return fmt.Errorf("writing %s: %w", rj.path, rj.err)
	}
	return nil
}

// empty reports whether no row needs action, of this run or kept.
func (rj *rejects) empty() bool { return rj.n+rj.kept == 0 }

// keptNote says how many rows of an earlier run's file were kept.
func (rj *rejects) keptNote() string {
	if rj.earlier == nil {
		return ""
	}
	return fmt.Sprintf(" (after the %s kept from the earlier run)", cli.Plural(rj.kept, "row"))
}

// abort ends the file without keeping this run's rows: an earlier run's
// rejects file is left as it was.
func (rj *rejects) abort() {
	if rj == nil {
		return
	}
	if rj.file != nil {
		_ = rj.file.Close()
		_ = os.Remove(rj.file.Name())
	}
	if rj.earlier != nil {
		_ = rj.earlier.Close()
	}
}
