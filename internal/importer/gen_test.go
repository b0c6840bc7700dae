package importer

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
)

// eventLog records, in the order of the run, each accepted row and each
// problem: the outcome of every row by its position in the file.
type eventLog struct {
	rows  []int
	rules map[int][]string
}

func (l *eventLog) see(row int) {
	if len(l.rows) == 0 || l.rows[len(l.rows)-1] != row {
		l.rows = append(l.rows, row)
	}
}
func (l *eventLog) Add(p Problem) error {
	l.see(p.Row)
	l.rules[p.Row] = append(l.rules[p.Row], p.Rule)
	return nil
}
func (l *eventLog) Close(Summary) error { return nil }

// TestGeneratedRows: every good row the generator makes passes, every bad
// one is refused for the rule its kind names, in every format and
// encoding, and the generator is deterministic.
func TestGeneratedRows(t *testing.T) {
	const n = 600
	opt := gen.Options{Seed: 42, BadFraction: 0.3, Now: testNow}
	write := map[string]func(*bytes.Buffer) error{
		"csv":         func(b *bytes.Buffer) error { return gen.New(opt).WriteCSV(b, n, gen.CSVOptions{}) },
		"csv bom":     func(b *bytes.Buffer) error { return gen.New(opt).WriteCSV(b, n, gen.CSVOptions{BOM: true}) },
		"csv gb18030": func(b *bytes.Buffer) error { return gen.New(opt).WriteCSV(b, n, gen.CSVOptions{GB18030: true}) },
		"jsonl":       func(b *bytes.Buffer) error { return gen.New(opt).WriteJSONL(b, n) },
		"xlsx":        func(b *bytes.Buffer) error { return gen.New(opt).WriteXLSX(b, n) },
	}
	format := map[string]Format{"csv": CSV, "csv bom": CSV, "csv gb18030": CSV, "jsonl": JSONL, "xlsx": XLSX}
	var kinds []gen.Bad
	g := gen.New(opt)
	seen := map[gen.Bad]bool{}
	for range n {
		k := g.Next().Bad
		kinds = append(kinds, k)
		seen[k] = true
	}
	for _, k := range append(gen.BadKinds(), gen.Good) {
		if !seen[k] {
			t.Fatalf("no row of kind %q among %d", k, n)
		}
	}
	for name, w := range write {
		t.Run(name, func(t *testing.T) {
			var b, again bytes.Buffer
			if err := w(&b); err != nil {
				t.Fatal(err)
			}
			if err := w(&again); err != nil {
				t.Fatal(err)
			}
			if name != "xlsx" && !bytes.Equal(b.Bytes(), again.Bytes()) { // a workbook carries its time of writing
				t.Error("the same seed gave other bytes")
			}
			r, err := Open(bytes.NewReader(b.Bytes()), Options{Format: format[name]})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = r.Close() }()
			log := &eventLog{rules: map[int][]string{}}
			s, err := Run{Report: log, Accept: func(_ context.Context, rec Record) error { log.see(rec.Row); return nil }}.Check(context.Background(), r, validator(t, Mapping{}))
			if err != nil {
				t.Fatal(err)
			}
			if s.Read != n || len(log.rows) != n {
				t.Fatalf("summary %+v, %d rows seen, want %d", s, len(log.rows), n)
			}
			for i, row := range log.rows {
				want := string(kinds[i])
				if kinds[i] == gen.BadColumns && format[name] == JSONL {
					want = "unknown-field" // JSON Lines has no column count: the extra member is unknown
				}
				got := log.rules[row]
				if (want == "") != (got == nil) || (want != "" && !slices.Contains(got, want)) {
					t.Errorf("row %d (#%d) of kind %q: problems %q", row, i, kinds[i], got)
				}
			}
		})
	}
}
