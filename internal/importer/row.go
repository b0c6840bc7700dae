package importer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Row is one data row of an import file.
type Row struct {
	// Number is where the row is in the file as its user sees it: the
	// line of a CSV record or a JSON line (the header is line 1), the row
	// of an XLSX sheet.
	Number int
	// Values are the cells in the order of the header. The slice is reused
	// by the next call of Next.
	Values []string
	header *Header
}

// Cell returns the cell of the named column.
func (r Row) Cell(name string) (string, bool) {
	i, ok := r.header.Index(name)
	if !ok || i >= len(r.Values) {
		return "", false
	}
	return r.Values[i], true
}

// Header is the list of column names of a file.
type Header struct {
	names []string
	index map[string]int
}

// newHeader checks the column names: at least one, none empty (after
// trimming spaces), none twice.
func newHeader(names []string) (*Header, error) {
	if len(names) == 0 {
		return nil, errors.New("the header names no column")
	}
	h := &Header{names: make([]string, len(names)), index: make(map[string]int, len(names))}
	for i, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
			return nil, fmt.Errorf("column %d of the header has no name", i+1)
		case !utf8.ValidString(n):
			return nil, fmt.Errorf("column %d of the header is not valid text in the file's encoding", i+1)
		}
		if j, dup := h.index[n]; dup {
			return nil, fmt.Errorf("columns %d and %d of the header are both named %q", j+1, i+1, n)
		}
		h.names[i] = n
		h.index[n] = i
	}
	return h, nil
}

// Names returns the column names in file order.
func (h *Header) Names() []string { return h.names }

// Index returns the position of the named column.
func (h *Header) Index(name string) (int, bool) {
	i, ok := h.index[name]
	return i, ok
}

// Reader reads the rows of an import file one by one, in bounded memory
// whatever the size of the file.
type Reader interface {
	// Header returns the column names.
	Header() *Header
	// Next returns the next row, io.EOF after the last one. A row the
	// reader cannot read (wrong number of cells, broken text) comes back
	// as a *RowError: the caller reports it and reads on. Any other error
	// means the file cannot be read further.
	Next() (Row, error)
	// Encoding names the character encoding the file was read in.
	Encoding() Encoding
	// Close releases the file's resources (temporary files of a workbook).
	Close() error
}

// RowError is a row the reader refuses. Reading goes on after it.
type RowError struct {
	Row    int
	Column string // the column at fault, "" for the whole row
	Rule   string // a rule name of the message catalog ("columns", "utf8", ...)
	Detail string
}

func (e *RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("row %d, column %s: %s: %s", e.Row, e.Column, e.Rule, e.Detail)
	}
	return fmt.Sprintf("row %d: %s: %s", e.Row, e.Rule, e.Detail)
}

// checkCells refuses a row whose number of cells differs from the header's
// and a cell that is not valid text: one of the rules "columns", "utf8"
// (a UTF-8 file) or "encoding" (a GB18030 file whose bytes do not decode).
func checkCells(n int, h *Header, cells []string, enc Encoding) *RowError {
	if len(cells) != len(h.names) {
		return &RowError{Row: n, Rule: "columns",
			Detail: fmt.Sprintf("the row has %d cells, the header %d columns", len(cells), len(h.names))}
	}
	for i, c := range cells {
		switch {
		case !utf8.ValidString(c):
			return &RowError{Row: n, Column: h.names[i], Rule: "utf8", Detail: "the cell is not valid UTF-8: is the file in GB18030? try --encoding gb18030"}
		case enc == GB18030 && strings.ContainsRune(c, utf8.RuneError):
			return &RowError{Row: n, Column: h.names[i], Rule: "encoding", Detail: "the cell has bytes that are not GB18030"}
		}
	}
	return nil
}
