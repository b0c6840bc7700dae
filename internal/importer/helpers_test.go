package importer

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
)

// testNow is the clock of the tests: after every date the generator makes.
var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// shipped returns the shipped type of code and its template.
func shipped(t testing.TB, code string) (catalog.Entry, catalog.Template) {
	t.Helper()
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Type.Code == code {
			return catalog.Entry{Type: d.Type, Approved: d.Version}, d.Template
		}
	}
	t.Fatalf("no shipped type %s", code)
	return catalog.Entry{}, catalog.Template{}
}

// validator returns a validator of business licenses under m.
func validator(t testing.TB, m Mapping) *Validator {
	t.Helper()
	e, tmpl := shipped(t, gen.TypeCode)
	return NewValidator(e, tmpl, m, func() time.Time { return testNow })
}

// memReport keeps the problems in memory.
type memReport struct {
	problems []Problem
	summary  *Summary
}

func (r *memReport) Add(p Problem) error { r.problems = append(r.problems, p); return nil }
func (r *memReport) Close(s Summary) error {
	r.summary = &s
	return nil
}

// checkText runs a check over a file given as text.
func checkText(t testing.TB, text string, opt Options, m Mapping) (Summary, *memReport, error) {
	t.Helper()
	r, err := Open(strings.NewReader(text), opt)
	if err != nil {
		return Summary{}, nil, err
	}
	defer func() { _ = r.Close() }()
	rep := &memReport{}
	s, err := Run{Report: rep}.Check(context.Background(), r, validator(t, m))
	return s, rep, err
}

// generated returns n generated rows as CSV.
func generated(t testing.TB, n int, opt gen.Options, csvOpt gen.CSVOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gen.New(opt).WriteCSV(&b, n, csvOpt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
