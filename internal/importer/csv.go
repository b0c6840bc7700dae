package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// errRecordTooLong stops a CSV reader that has read more than the bound of
// one record without finding its end.
var errRecordTooLong = errors.New("record too long")

// limitReader fails once more than max bytes have been read since the last
// reset: encoding/csv has no bound of its own, and an unclosed quote would
// otherwise gather the whole file into one field.
//
// It also counts the quotes of the file: in CSV they come in pairs, so an
// odd count at the end means the file ends inside a quoted field (it was
// cut off), which encoding/csv accepts silently.
type limitReader struct {
	r      io.Reader
	n      int
	max    int
	total  int64
	quotes int
	eof    bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, errRecordTooLong
	}
	n, err := l.r.Read(p)
	l.n += n
	l.total += int64(n)
	l.quotes += bytes.Count(p[:n], quote)
	if errors.Is(err, io.EOF) {
		l.eof = true
	}
	return n, err
}

var quote = []byte{'"'}

type csvReader struct {
	cr     *csv.Reader
	lim    *limitReader
	header *Header
	enc    Encoding
	max    int
	done   bool
}

// newCSVReader reads the header of a CSV file (RFC 4180, comma separated,
// quotes as Excel writes them).
func newCSVReader(r io.Reader, opt Options) (*csvReader, error) {
	t, enc, err := text(r, opt.Encoding, CSV)
	if err != nil {
		return nil, err
	}
	// encoding/csv reads ahead through its own 4 KiB buffer: the bound
	// leaves room for it.
	lim := &limitReader{r: t, max: opt.maxRecord() + 8<<10}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1 // counted here, to refuse the row and read on
	cr.ReuseRecord = true
	c := &csvReader{cr: cr, lim: lim, enc: enc, max: opt.maxRecord()}
	names, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, fileErr("the file is empty: its first line names the columns")
	case err != nil:
		return nil, c.fileError(err, "the header")
	}
	if c.header, err = newHeader(names); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFile, err)
	}
	return c, nil
}

func (c *csvReader) Header() *Header    { return c.header }
func (c *csvReader) Encoding() Encoding { return c.enc }
func (c *csvReader) Close() error       { return nil }

func (c *csvReader) Next() (Row, error) {
	if c.done {
		return Row{}, io.EOF
	}
	c.lim.n = 0
	rec, err := c.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			c.done = true
			return Row{}, io.EOF
		case errors.As(err, &pe) && !errors.Is(err, errRecordTooLong):
			return Row{}, &RowError{Row: pe.StartLine, Rule: "csv", Detail: csvDetail(pe)}
		default:
			c.done = true
			return Row{}, c.fileError(err, "a record")
		}
	}
	line, _ := c.cr.FieldPos(0)
	if c.lim.eof && c.lim.quotes%2 == 1 && c.cr.InputOffset() == c.lim.total {
		c.done = true
		return Row{}, &RowError{Row: line, Rule: "csv",
			Detail: "the file ends inside a quoted field opened in this row: it is cut off, or a quote is not closed"}
	}
	if re := checkCells(line, c.header, rec, c.enc); re != nil {
		return Row{}, re
	}
	return Row{Number: line, Values: rec, header: c.header}, nil
}

// fileError words an error that stops the reading of the file.
func (c *csvReader) fileError(err error, what string) error {
	if errors.Is(err, errRecordTooLong) {
		return fileErr("%s is longer than %d bytes: a quote is not closed, or the file is not CSV text", what, c.max)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fileErr("line %d: %s", pe.StartLine, csvDetail(pe))
	}
	return fmt.Errorf("read import file: %w", err)
}

// csvDetail says what is wrong with a record.
func csvDetail(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine:
		return fmt.Sprintf("a quoted field opened on line %d is not closed by line %d: the file is cut off, or a quote is not doubled", pe.StartLine, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("a quote in column %d is not where CSV allows it: write a quote inside a field as two quotes", pe.Column)
	}
	return pe.Err.Error()
}
