package export

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// format is the shape of a sales file.
type Format int

const (
	FormatAuto Format = iota
	FormatCSV
	FormatJSON  // a JSON array of objects
	FormatLines // JSON lines: one object a line
	FormatSheet // an Excel workbook (.xlsx)
)

func (f Format) String() string {
	return [...]string{"auto", "csv", "json", "jsonl", "xlsx"}[f]
}

func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "csv":
		return FormatCSV, nil
	case "json":
		return FormatJSON, nil
	case "jsonl", "ndjson", "json-lines", "lines":
		return FormatLines, nil
	case "xlsx", "excel":
		return FormatSheet, nil
	}
	return 0, cli.Usage("--format %s: want csv, json, jsonl or xlsx", cli.Quote(s))
}

// UTF8BOM starts files saved by Excel and Notepad as "UTF-8".
var UTF8BOM = []byte{0xEF, 0xBB, 0xBF}

// input is a sales file that can be read from the start more than once:
// once to check every row, once to send them.
type Input struct {
	Name   string // as shown in messages: the path, or "stdin"
	Path   string // the file read
	Temp   bool   // Path is a copy of stdin, removed by Close
	Format Format
	kind   kind
	// Sheet is --sheet: the workbook sheet read ("": the first).
	Sheet string
}

// OpenInput checks that name can be read and settles its format. Standard
// input ("-") is copied to a temporary file first, so that it too can be
// checked in full before anything is sent, in bounded memory. Closing stop
// (the first Ctrl-C) abandons that copy.
func OpenInput(name string, stdin io.Reader, forced Format, stop <-chan struct{}) (*Input, error) {
	in := &Input{Name: name, Path: name}
	if name == "-" {
		in.Name = "stdin"
		if err := in.copyStdin(stdin, stop); err != nil {
			return nil, err
		}
	} else if st, err := os.Stat(name); err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeCharDevice) != 0 {
		// A pipe named as a file (<(zcat export.gz), a FIFO) can be read
		// once only: it is copied as standard input is.
		p, err := os.Open(name)
		if err != nil {
			return nil, cli.Exit(cli.ExitUsage, fmt.Errorf("cannot read %s: %w", name, unwrapPath(err)))
		}
		err = in.copyStdin(p, stop)
		_ = p.Close()
		if err != nil {
			return nil, err
		}
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, cli.Exit(cli.ExitUsage, fmt.Errorf("cannot read %s: %w", in.Name, unwrapPath(err)))
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, cli.Usage("%s is a directory, not a sales file", in.Name)
	}
	head, err := in.head(f, forced)
	if err != nil {
		in.Close()
		return nil, err
	}
	in.Format = forced
	switch {
	case in.kind.sheet:
		in.Format = FormatSheet
	case in.Format == FormatSheet:
		in.Close()
		return nil, cli.Usage("%s is not an Excel workbook (.xlsx), though --format xlsx says so", in.Name)
	case in.Format == FormatAuto:
		in.Format = detect(strings.TrimSuffix(strings.ToLower(in.Path), ".gz"), head)
	}
	return in, nil
}

// head sniffs what the file is and returns its first text, decompressed and
// transcoded, with any byte order mark and leading space trimmed.
func (in *Input) head(f *os.File, forced Format) ([]byte, error) {
	readErr := func(err error) error {
		return cli.Exit(cli.ExitUsage, fmt.Errorf("cannot read %s: %w", in.Name, unwrapPath(err)))
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
			return nil, cli.Usage("%s is a damaged gzip file: %v", in.Name, err)
		}
		head = make([]byte, 4096)
		n, err := io.ReadFull(gz, head)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, cli.Usage("%s is a damaged gzip file: %v", in.Name, err)
		}
		head = head[:n]
	}
	if forced != FormatSheet || in.kind.gzip {
		k, err := sniff(in.Name, in.Path, head, in.kind.gzip)
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
	head = bytes.TrimSpace(bytes.TrimPrefix(head, UTF8BOM))
	if len(head) == 0 {
		return nil, cli.Usage("%s: the file is empty", in.Name)
	}
	return head, nil
}

// errStdinInterrupted ends a copy of standard input cut short by Ctrl-C.
var errStdinInterrupted = errors.New("interrupted while reading standard input; nothing was sent")

// copyStdin copies stdin (or a pipe named as a file) to a temporary file. A read from a terminal or an
// idle pipe cannot be cancelled, so the copy runs on its own goroutine and
// is abandoned (to end with the process) when stop is closed: otherwise
// Ctrl-C could not end "dripcel upload -" typed at a terminal.
func (in *Input) copyStdin(stdin io.Reader, stop <-chan struct{}) error {
	f, err := os.CreateTemp("", "dripcel-stdin-*")
	if err != nil {
		return cli.Exit(cli.ExitUsage, fmt.Errorf("%s: copying to a temporary file: %w", in.Name, err))
	}
	in.Path, in.Temp = f.Name(), true
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(f, stdin)
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-stop:
		_ = f.Close() // ends the copy at its next write
		in.Close()
		return cli.Exit(cli.ExitInterrupt, errStdinInterrupted)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		in.Close()
		return cli.Exit(cli.ExitUsage, fmt.Errorf("%s: %w", in.Name, err))
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
func detect(path string, head []byte) Format {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case ext == ".csv":
		return FormatCSV
	case ext == ".jsonl" || ext == ".ndjson" || head[0] == '{':
		return FormatLines
	case ext == ".json" || head[0] == '[':
		return FormatJSON
	}
	return FormatCSV
}

// open starts a reader of the rows from the beginning.
func (in *Input) open(m *Mapping) (rowReader, io.Closer, error) {
	if in.Format == FormatSheet {
		return openSheet(in, m)
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, nil, cli.Exit(cli.ExitUsage, fmt.Errorf("cannot read %s: %w", in.Name, unwrapPath(err)))
	}
	var text io.Reader = f
	if in.kind.gzip {
		gz, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			_ = f.Close()
			return nil, nil, cli.Usage("%s is a damaged gzip file: %v", in.Name, err)
		}
		text = gz
	}
	if in.kind.utf16 != "" {
		text = decodeUTF16(text, in.kind.utf16)
	}
	br := bufio.NewReaderSize(&namedReader{r: text, name: in.Name}, 64<<10)
	if b, err := br.Peek(len(UTF8BOM)); err == nil && bytes.Equal(b, UTF8BOM) {
		_, _ = br.Discard(len(UTF8BOM))
	}
	var r rowReader
	switch in.Format {
	case FormatJSON:
		r = newJSONReader(in.Name, br, m)
	case FormatLines:
		r = newLinesReader(in.Name, br, m)
	default:
		r, err = newCSVReader(in.Name, br, m)
	}
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// Close removes the copy of stdin, if any.
func (in *Input) Close() {
	if in.Temp {
		_ = os.Remove(in.Path)
	}
}
