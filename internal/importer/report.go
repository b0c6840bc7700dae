package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Summary counts the rows of a run. Imported and unchanged rows are
// counted once the import writes to the store.
type Summary struct {
	Read     int64    `json:"read"`
	Valid    int64    `json:"valid"`
	Rejected int64    `json:"rejected"`
	Problems int64    `json:"problems"`
	Encoding Encoding `json:"encoding,omitempty"`
	// What an import into the store did, over the whole job (a resumed
	// job's earlier runs included): licenses issued, given a new version,
	// found unchanged. Rejected then counts the job's rows the store
	// refused too.
	Imported  int64 `json:"imported,omitempty"`
	Versioned int64 `json:"versioned,omitempty"`
	Unchanged int64 `json:"unchanged,omitempty"`
}

// Report receives the problems of rejected rows as they are found, and
// the summary at the end.
type Report interface {
	Add(Problem) error
	Close(Summary) error
}

// csvReport writes one line per problem.
type csvReport struct {
	w *csv.Writer
}

// reportColumns is the header of a CSV report.
var reportColumns = []string{"row", "column", "field", "rule", "value", "detail"}

// NewCSVReport returns a report written as CSV (UTF-8 with a byte order
// mark, so that Excel opens it as UTF-8) with the columns row, column,
// field, rule, value, detail. The summary is not part of it.
func NewCSVReport(w io.Writer) (Report, error) {
	if _, err := w.Write(bomUTF8); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(reportColumns); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	return &csvReport{w: cw}, nil
}

func (r *csvReport) Add(p Problem) error {
	rec := [...]string{strconv.Itoa(p.Row), cellText(p.Column), p.Field, p.Rule, cellText(p.Value), p.Detail}
	if err := r.w.Write(rec[:]); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r *csvReport) Close(Summary) error {
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// cellText keeps a value from the file from being taken for a formula
// when the report is opened in a spreadsheet (CSV injection): a leading
// =, +, -, @, tab or carriage return is preceded by an apostrophe.
func cellText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// jsonReport writes {"problems":[...],"summary":{...}}, a problem at a
// time.
type jsonReport struct {
	w     io.Writer
	buf   bytes.Buffer
	enc   *json.Encoder
	count int
}

// NewJSONReport returns a report written as one JSON object: "problems",
// an array of the problems in file order, then "summary".
func NewJSONReport(w io.Writer) (Report, error) {
	if _, err := io.WriteString(w, "{\"problems\":[\n"); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	r := &jsonReport{w: w}
	r.enc = json.NewEncoder(&r.buf)
	r.enc.SetEscapeHTML(false)
	return r, nil
}

// Add writes one problem a line.
func (r *jsonReport) Add(p Problem) error {
	r.buf.Reset()
	if r.count > 0 {
		r.buf.WriteByte(',')
	}
	r.count++
	if err := r.enc.Encode(p); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r *jsonReport) Close(s Summary) error {
	r.buf.Reset()
	r.buf.WriteString(`],"summary":`)
	if err := r.enc.Encode(s); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	r.buf.Truncate(r.buf.Len() - 1)
	r.buf.WriteString("}\n")
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Run says what to do with the rows of a file.
type Run struct {
	// Report receives the problems; nil drops them (the summary still
	// counts them).
	Report Report
	// Accept receives each valid record, in file order; an error stops
	// the run. Nil only counts.
	Accept func(context.Context, Record) error
	// Progress, when set, is called every ProgressEvery rows and at the
	// end with the counts so far.
	Progress      func(Summary)
	ProgressEvery int64
	// Row, when set, is called after each row is counted, with its record
	// when it is valid, nil when it is rejected; an error stops the run.
	Row func(ctx context.Context, s *Summary, rec *Record) error
	// End, when set, is called after the last row, before the report is
	// closed with the summary, which it may complete.
	End func(ctx context.Context, s *Summary) error
}

// Check reads every row of r, validates it with v and hands it on: one bad
// row is reported and the run goes on; only an error of the file itself
// (ErrFile), of the report or of Accept, or the context ending, stops it.
// The header is bound first: a header that does not match the mapping is
// an error before any row is read. The report is closed with the summary
// when the whole file was read.
func (run Run) Check(ctx context.Context, r Reader, v *Validator) (Summary, error) {
	s := Summary{Encoding: r.Encoding()}
	if err := v.Bind(r.Header()); err != nil {
		return s, err
	}
	every := run.ProgressEvery
	if every <= 0 {
		every = 10000
	}
	for {
		if s.Read%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return s, err
			}
		}
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *RowError
		var problems []Problem
		var rec Record
		switch {
		case errors.As(err, &re):
			problems = []Problem{{Row: re.Row, Column: re.Column, Rule: re.Rule, Detail: re.Detail}}
		case err != nil:
			return s, err
		default:
			rec, problems = v.Check(row)
			if problems == nil && run.Accept != nil {
				if err := run.Accept(ctx, rec); err != nil {
					return s, err
				}
			}
		}
		s.Read++
		if problems == nil {
			s.Valid++
		} else {
			s.Rejected++
			s.Problems += int64(len(problems))
			if run.Report != nil {
				for _, p := range problems {
					if err := run.Report.Add(p); err != nil {
						return s, err
					}
				}
			}
		}
		if run.Row != nil {
			valid := &rec
			if problems != nil {
				valid = nil
			}
			if err := run.Row(ctx, &s, valid); err != nil {
				return s, err
			}
		}
		if run.Progress != nil && s.Read%every == 0 {
			run.Progress(s)
		}
	}
	if run.End != nil {
		if err := run.End(ctx, &s); err != nil {
			return s, err
		}
	}
	if run.Progress != nil {
		run.Progress(s)
	}
	if run.Report != nil {
		if err := run.Report.Close(s); err != nil {
			return s, err
		}
	}
	return s, nil
}
