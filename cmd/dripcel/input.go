package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// format is the shape of a sales file.
type format int

const (
	formatAuto format = iota
	formatCSV
	formatJSON  // a JSON array of objects
	formatLines // JSON lines: one object a line
	formatSheet // an Excel workbook (.xlsx)
)

func (f format) String() string {
	return [...]string{"auto", "csv", "json", "jsonl", "xlsx"}[f]
}

func parseFormat(s string) (format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return formatAuto, nil
	case "csv":
		return formatCSV, nil
	case "json":
		return formatJSON, nil
	case "jsonl", "ndjson", "json-lines", "lines":
		return formatLines, nil
	case "xlsx", "excel":
		return formatSheet, nil
	}
	return 0, usageError("--format %s: want csv, json, jsonl or xlsx", quote(s))
}

// utf8BOM starts files saved by Excel and Notepad as "UTF-8".
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// input is a sales file that can be read from the start more than once:
// once to check every row, once to send them.
type input struct {
	name   string // as shown in messages: the path, or "stdin"
	path   string // the file read
	temp   bool   // path is a copy of stdin, removed by close
	format format
	kind   kind
	// sheet is --sheet: the workbook sheet read ("": the first).
	sheet string
}

// openInput checks that name can be read and settles its format. Standard
// input ("-") is copied to a temporary file first, so that it too can be
// checked in full before anything is sent, in bounded memory. Closing stop
// (the first Ctrl-C) abandons that copy.
func openInput(name string, stdin io.Reader, forced format, stop <-chan struct{}) (*input, error) {
	in := &input{name: name, path: name}
	if name == "-" {
		in.name = "stdin"
		if err := in.copyStdin(stdin, stop); err != nil {
			return nil, err
		}
	} else if st, err := os.Stat(name); err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeCharDevice) != 0 {
		// A pipe named as a file (<(zcat export.gz), a FIFO) can be read
		// once only: it is copied as standard input is.
		p, err := os.Open(name)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("cannot read %s: %w", name, unwrapPath(err))}
		}
		err = in.copyStdin(p, stop)
		_ = p.Close()
		if err != nil {
			return nil, err
		}
	}
	f, err := os.Open(in.path)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("cannot read %s: %w", in.name, unwrapPath(err))}
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, usageError("%s is a directory, not a sales file", in.name)
	}
	head, err := in.head(f, forced)
	if err != nil {
		in.close()
		return nil, err
	}
	in.format = forced
	switch {
	case in.kind.sheet:
		in.format = formatSheet
	case in.format == formatSheet:
		in.close()
		return nil, usageError("%s is not an Excel workbook (.xlsx), though --format xlsx says so", in.name)
	case in.format == formatAuto:
		in.format = detect(strings.TrimSuffix(strings.ToLower(in.path), ".gz"), head)
	}
	return in, nil
}

// head sniffs what the file is and returns its first text, decompressed and
// transcoded, with any byte order mark and leading space trimmed.
func (in *input) head(f *os.File, forced format) ([]byte, error) {
	readErr := func(err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("cannot read %s: %w", in.name, unwrapPath(err))}
	}
	br := bufio.NewReader(f)
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, readErr(err)
	}
	if bytes.HasPrefix(head, []byte("\x1f\x8b")) {
		in.kind.gzip = true
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, usageError("%s is a damaged gzip file: %v", in.name, err)
		}
		head = make([]byte, 4096)
		n, err := io.ReadFull(gz, head)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, usageError("%s is a damaged gzip file: %v", in.name, err)
		}
		head = head[:n]
	}
	if forced != formatSheet || in.kind.gzip {
		k, err := sniff(in.name, in.path, head, in.kind.gzip)
		if err != nil {
			return nil, err
		}
		in.kind.utf16, in.kind.sheet = k.utf16, k.sheet
	} else {
		in.kind.sheet = true
	}
	if in.kind.sheet {
		return head, nil
	}
	if in.kind.utf16 != "" {
		head, _ = io.ReadAll(io.LimitReader(decodeUTF16(bytes.NewReader(head), in.kind.utf16), 4096))
	}
	head = bytes.TrimSpace(bytes.TrimPrefix(head, utf8BOM))
	if len(head) == 0 {
		return nil, usageError("%s: the file is empty", in.name)
	}
	return head, nil
}

// errStdinInterrupted ends a copy of standard input cut short by Ctrl-C.
var errStdinInterrupted = errors.New("interrupted while reading standard input; nothing was sent")

// copyStdin copies stdin (or a pipe named as a file) to a temporary file. A read from a terminal or an
// idle pipe cannot be cancelled, so the copy runs on its own goroutine and
// is abandoned (to end with the process) when stop is closed: otherwise
// Ctrl-C could not end "dripcel upload -" typed at a terminal.
func (in *input) copyStdin(stdin io.Reader, stop <-chan struct{}) error {
	f, err := os.CreateTemp("", "dripcel-stdin-*")
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: copying to a temporary file: %w", in.name, err)}
	}
	in.path, in.temp = f.Name(), true
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(f, stdin)
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-stop:
		_ = f.Close() // ends the copy at its next write
		in.close()
		return &exitError{code: exitInterrupt, err: errStdinInterrupted}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		in.close()
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", in.name, err)}
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose message repeats the name.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// detect picks the format from the extension, or else from the first
// character: "[" starts a JSON array, "{" JSON lines, anything else CSV. A
// .json file that starts with "{" is read as JSON lines, as many tools name
// them so.
func detect(path string, head []byte) format {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case ext == ".csv":
		return formatCSV
	case ext == ".jsonl" || ext == ".ndjson" || head[0] == '{':
		return formatLines
	case ext == ".json" || head[0] == '[':
		return formatJSON
	}
	return formatCSV
}

// open starts a reader of the rows from the beginning.
func (in *input) open(m *mapping) (rowReader, io.Closer, error) {
	if in.format == formatSheet {
		return openSheet(in, m)
	}
	f, err := os.Open(in.path)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("cannot read %s: %w", in.name, unwrapPath(err))}
	}
	var text io.Reader = f
	if in.kind.gzip {
		gz, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			_ = f.Close()
			return nil, nil, usageError("%s is a damaged gzip file: %v", in.name, err)
		}
		text = gz
	}
	if in.kind.utf16 != "" {
		text = decodeUTF16(text, in.kind.utf16)
	}
	br := bufio.NewReaderSize(&namedReader{r: text, name: in.name}, 64<<10)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	var r rowReader
	switch in.format {
	case formatJSON:
		r = newJSONReader(in.name, br, m)
	case formatLines:
		r = newLinesReader(in.name, br, m)
	default:
		r, err = newCSVReader(in.name, br, m)
	}
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// close removes the copy of stdin, if any.
func (in *input) close() {
	if in.temp {
		_ = os.Remove(in.path)
	}
}
