package importer

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

type xlsxReader struct {
	f      *excelize.File
	rows   *excelize.Rows
	header *Header
	sheet  string
	n      int
	values []string
}

// newXLSXReader reads the first sheet of a workbook, or the named one,
// through excelize's streaming row iterator: a worksheet larger than
// excelize's chunk size (16 MiB unzipped) is read from a temporary file,
// not from memory. Row 1 names the columns. Cells are read as Excel shows
// them (number formats applied), so that a date cell reads as the date,
// YYYY-MM-DD under the built-in short date format.
func newXLSXReader(r io.Reader, opt Options) (*xlsxReader, error) {
	if opt.Encoding != Auto && opt.Encoding != UTF8 {
		return nil, fmt.Errorf("an XLSX workbook is always Unicode: leave the encoding out")
	}
	// A date cell of Excel's built-in short date format would read as
	// "06-18-21" (en-US): read it as the ISO date the face wants instead.
	f, err := excelize.OpenReader(r, excelize.Options{ShortDatePattern: "yyyy-mm-dd", CultureInfo: excelize.CultureNameZhCN})
	if err != nil {
		return nil, fileErr("not an XLSX workbook: %v", err)
	}
	x := &xlsxReader{f: f}
	sheets := f.GetSheetList()
	switch {
	case len(sheets) == 0:
		_ = f.Close()
		return nil, fileErr("the workbook has no sheet")
	case opt.Sheet == "":
		x.sheet = sheets[0]
	default:
		for _, s := range sheets {
			if s == opt.Sheet {
				x.sheet = s
			}
		}
		if x.sheet == "" {
			_ = f.Close()
			return nil, fileErr("the workbook has no sheet %q; its sheets: %s", opt.Sheet, strings.Join(sheets, ", "))
		}
	}
	if x.rows, err = f.Rows(x.sheet); err != nil {
		_ = f.Close()
		return nil, fileErr("sheet %q: %v", x.sheet, err)
	}
	names, err := x.next()
	if err == nil && names == nil {
		err = fileErr("sheet %q is empty: its first row names the columns", x.sheet)
	}
	if err == nil {
		x.header, err = newHeader(names)
		if err != nil {
			err = fmt.Errorf("%w: sheet %q: %w", ErrFile, x.sheet, err)
		}
	}
	if err != nil {
		_ = x.Close()
		return nil, err
	}
	return x, nil
}

// next returns the cells of the next row, nil after the last.
func (x *xlsxReader) next() ([]string, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, fileErr("sheet %q, row %d: %v", x.sheet, x.n+1, err)
		}
		return nil, nil
	}
	x.n++
	cells, err := x.rows.Columns()
	if err != nil {
		return nil, fileErr("sheet %q, row %d: %v", x.sheet, x.n, err)
	}
	if cells == nil {
		cells = []string{}
	}
	return cells, nil
}

func (x *xlsxReader) Header() *Header    { return x.header }
func (x *xlsxReader) Encoding() Encoding { return UTF8 }

func (x *xlsxReader) Close() error {
	return errors.Join(x.rows.Close(), x.f.Close())
}

func (x *xlsxReader) Next() (Row, error) {
	for {
		cells, err := x.next()
		if err != nil {
			return Row{}, err
		}
		if cells == nil {
			return Row{}, io.EOF
		}
		if blank(cells) {
			continue
		}
		// Excel leaves out the empty cells at the end of a row.
		n := len(x.header.names)
		if len(cells) < n {
			if cap(x.values) < n {
				x.values = make([]string, n)
			}
			x.values = x.values[:n]
			copy(x.values, cells)
			clear(x.values[len(cells):])
			cells = x.values
		}
		if re := checkCells(x.n, x.header, cells, UTF8); re != nil {
			return Row{}, re
		}
		return Row{Number: x.n, Values: cells, header: x.header}, nil
	}
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
