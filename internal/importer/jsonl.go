package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

type jsonlReader struct {
	br     *bufio.Reader
	header *Header
	enc    Encoding
	max    int
	line   int
	values []string
	set    []bool
	// first is the row of the first object, read with the header.
	first *Row
	done  bool
}

// newJSONLReader reads JSON Lines: one object per line, its members the
// cells. The members of the first object name the columns (JSON Lines has
// no header): a later object may leave a column out, never add one.
func newJSONLReader(r io.Reader, opt Options) (*jsonlReader, error) {
	t, enc, err := text(r, opt.Encoding, JSONL)
	if err != nil {
		return nil, err
	}
	j := &jsonlReader{br: bufio.NewReaderSize(t, 64<<10), enc: enc, max: opt.maxRecord()}
	for {
		line, err := j.readLine()
		var re *RowError
		switch {
		case errors.Is(err, io.EOF):
			return nil, fileErr("the file has no JSON object: its first line names the columns")
		case errors.As(err, &re):
			return nil, fileErr("line %d: %s", re.Row, re.Detail)
		case err != nil:
			return nil, err
		}
		if len(line) == 0 {
			continue
		}
		names, vals, rerr := members(line)
		if rerr != nil {
			return nil, fileErr("line %d: %s: %s", j.line, rerr.Rule, rerr.Detail)
		}
		if j.header, err = newHeader(names); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrFile, j.line, err)
		}
		if re := checkCells(j.line, j.header, vals, j.enc); re != nil {
			return nil, fileErr("line %d: %s", j.line, re.Detail)
		}
		j.first = &Row{Number: j.line, Values: vals, header: j.header}
		return j, nil
	}
}

func (j *jsonlReader) Header() *Header    { return j.header }
func (j *jsonlReader) Encoding() Encoding { return j.enc }
func (j *jsonlReader) Close() error       { return nil }

// readLine returns the next line without its end, io.EOF after the last.
// A line longer than the bound is skipped to its end and refused.
func (j *jsonlReader) readLine() ([]byte, error) {
	var long []byte
	skipping := false
	for {
		chunk, err := j.br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !skipping && len(long)+len(chunk) <= j.max {
				long = append(long, chunk...)
			} else {
				skipping, long = true, nil
			}
			continue
		case errors.Is(err, io.EOF) && len(chunk) == 0 && long == nil && !skipping:
			return nil, io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return nil, fmt.Errorf("read import file: %w", err)
		}
		j.line++
		if skipping || len(long)+len(chunk) > j.max {
			return nil, &RowError{Row: j.line, Rule: "max-length", Detail: fmt.Sprintf("the line is longer than %d bytes", j.max)}
		}
		if long != nil {
			chunk = append(long, chunk...)
		}
		return bytes.TrimSpace(chunk), nil
	}
}

func (j *jsonlReader) Next() (Row, error) {
	if j.first != nil {
		r := *j.first
		j.first = nil
		return r, nil
	}
	for !j.done {
		line, err := j.readLine()
		if errors.Is(err, io.EOF) {
			j.done = true
			break
		}
		if err != nil {
			return Row{}, err
		}
		if len(line) == 0 {
			continue
		}
		return j.row(line)
	}
	return Row{}, io.EOF
}

// row places the members of one object under the header's columns.
func (j *jsonlReader) row(line []byte) (Row, error) {
	names, vals, rerr := members(line)
	if rerr != nil {
		rerr.Row = j.line
		return Row{}, rerr
	}
	n := len(j.header.names)
	if cap(j.values) < n {
		j.values, j.set = make([]string, n), make([]bool, n)
	}
	j.values, j.set = j.values[:n], j.set[:n]
	clear(j.values)
	clear(j.set)
	for k, name := range names {
		i, ok := j.header.Index(strings.TrimSpace(name))
		if !ok {
			return Row{}, &RowError{Row: j.line, Column: name, Rule: "unknown-field",
				Detail: "the first line of the file has no member of this name: it names the columns"}
		}
		j.values[i] = vals[k]
	}
	if re := checkCells(j.line, j.header, j.values, j.enc); re != nil {
		return Row{}, re
	}
	return Row{Number: j.line, Values: j.values, header: j.header}, nil
}

// members decodes one JSON object of scalars: strings as they are,
// numbers as written, true and false, null as "". A nested value, a name
// given twice, anything after the object is refused.
func members(line []byte) (names, values []string, _ *RowError) {
	if !utf8.Valid(line) {
		return nil, nil, &RowError{Rule: "utf8", Detail: "the line is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	bad := func(err error) *RowError {
		return &RowError{Rule: "json", Detail: "not one JSON object: " + err.Error()}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, &RowError{Rule: "json-object", Detail: "each line is one JSON object"}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		name, _ := tok.(string) // a member name once Token succeeded
		tok, err = dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		var v string
		switch x := tok.(type) {
		case string:
			v = x
		case json.Number:
			v = x.String()
		case bool:
			v = "false"
			if x {
				v = "true"
			}
		case nil:
		default: // a nested object or array
			return nil, nil, &RowError{Column: name, Rule: "type", Detail: "a cell is a string, a number, true, false or null"}
		}
		for _, n := range names {
			if n == name {
				return nil, nil, &RowError{Column: name, Rule: "duplicate", Detail: "the member is given twice"}
			}
		}
		names = append(names, name)
		values = append(values, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, bad(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, &RowError{Rule: "json", Detail: "data after the object"}
	}
	return names, values, nil
}
