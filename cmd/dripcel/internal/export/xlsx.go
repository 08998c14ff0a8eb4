package export

import (
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// sheetReader reads the rows of one sheet of an Excel workbook, the first
// row being the header. Cells are read raw (numbers as stored, not as the
// cell's display format shows them), so that an amount shown as "R 1 299"
// reads 1299 and a date is a serial number (see mapping.soldAt).
type sheetReader struct {
	name   string
	book   *excelize.File
	rows   *excelize.Rows
	header []string
	index  [NumFields]int
	row    int
}

// openSheet opens in's workbook at the sheet --sheet names, or its first.
func openSheet(in *Input, m *Mapping) (rowReader, io.Closer, error) {
	book, err := excelize.OpenFile(in.Path)
	if err != nil {
		return nil, nil, cli.Usage("%s cannot be read as an Excel workbook: %v", in.Name, err)
	}
	s := &sheetReader{name: in.Name, book: book}
	sheets := book.GetSheetList()
	sheet := in.Sheet
	switch {
	case len(sheets) == 0:
		_ = book.Close()
		return nil, nil, cli.Usage("%s has no sheets", in.Name)
	case sheet == "":
		sheet = sheets[0]
	default:
		found := false
		for _, name := range sheets {
			if strings.EqualFold(name, sheet) {
				sheet, found = name, true
				break
			}
		}
		if !found {
			_ = book.Close()
			return nil, nil, cli.Usage("%s has no sheet %s (its sheets are %s)", in.Name, cli.Quote(in.Sheet), cli.QuoteAll(sheets))
		}
	}
	if s.rows, err = book.Rows(sheet); err != nil {
		_ = book.Close()
		return nil, nil, cli.Usage("%s: sheet %s cannot be read: %v", in.Name, cli.Quote(sheet), err)
	}
	s.name = fmt.Sprintf("%s (sheet %s)", in.Name, cli.Quote(sheet))
	for s.header == nil {
		fields, err := s.next()
		if errors.Is(err, io.EOF) {
			_ = s.Close()
			return nil, nil, cli.Usage("%s: the sheet is empty", s.name)
		}
		if err != nil {
			_ = s.Close()
			return nil, nil, err
		}
		if !blank(fields) {
			s.header = fields
		}
	}
	if s.index, err = columns(s.name, s.row, s.header, m); err != nil {
		_ = s.Close()
		return nil, nil, err
	}
	m.serialDates = true
	return s, s, nil
}

// next reads the cells of the next row; rows are numbered as the sheet
// numbers them, blank ones included.
func (s *sheetReader) next() ([]string, error) {
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return nil, cli.Usage("%s: after row %d: %v", s.name, s.row, err)
		}
		return nil, io.EOF
	}
	s.row++
	fields, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, cli.Usage("%s: row %d: %v", s.name, s.row, err)
	}
	return fields, nil
}

func (s *sheetReader) Next() (*Record, error) {
	for {
		fields, err := s.next()
		if err != nil {
			return nil, err
		}
		if blank(fields) {
			continue
		}
		// A row's trailing empty cells are not stored in the sheet.
		for len(fields) < len(s.header) {
			fields = append(fields, "")
		}
		rec := &Record{Row: s.row, Fields: fields}
		fill(rec, s.index, max(len(s.header), len(fields)))
		return rec, nil
	}
}

func (s *sheetReader) headerRow() ([]string, rune) { return s.header, ',' }

// Close ends the sheet and the workbook.
func (s *sheetReader) Close() error {
	_ = s.rows.Close()
	return s.book.Close()
}
