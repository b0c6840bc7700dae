package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
)

var sampleProblems = []Problem{
	{Row: 2, Column: "credit_code", Field: "holder_id", Rule: "check-character", Value: "9135**********0Y44", Detail: "check character is '4', want '3'"},
	{Row: 7, Column: "法定代表人", Field: "face.legal_representative", Rule: "required", Value: "=HYPERLINK(\"x\")", Detail: "a value is required"},
	{Row: 9, Rule: "columns", Detail: "the row has 3 cells, the header 2 columns"},
}

func TestCSVReport(t *testing.T) {
	var b bytes.Buffer
	rep, err := NewCSVReport(&b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sampleProblems {
		if err := rep.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := rep.Close(Summary{Read: 10}); err != nil {
		t.Fatal(err)
	}
	data, ok := bytes.CutPrefix(b.Bytes(), bomUTF8)
	if !ok {
		t.Fatal("no byte order mark: Excel would not read the report as UTF-8")
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{reportColumns,
		{"2", "credit_code", "holder_id", "check-character", "9135**********0Y44", "check character is '4', want '3'"},
		{"7", "法定代表人", "face.legal_representative", "required", "'=HYPERLINK(\"x\")", "a value is required"},
		{"9", "", "", "columns", "", "the row has 3 cells, the header 2 columns"}}
	if len(recs) != len(want) {
		t.Fatalf("records %q", recs)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d = %q, want %q", i+1, recs[i], want[i])
		}
	}
}

func TestJSONReport(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		var b bytes.Buffer
		rep, err := NewJSONReport(&b)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sampleProblems[:n] {
			if err := rep.Add(p); err != nil {
				t.Fatal(err)
			}
		}
		sum := Summary{Read: 10, Valid: 10 - int64(n), Rejected: int64(n), Problems: int64(n), Encoding: GB18030}
		if err := rep.Close(sum); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Problems []Problem `json:"problems"`
			Summary  Summary   `json:"summary"`
		}
		dec := json.NewDecoder(&b)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%d problems: %v", n, err)
		}
		if len(got.Problems) != n || got.Summary != sum || (n > 0 && got.Problems[n-1] != sampleProblems[n-1]) {
			t.Errorf("%d problems: read back %+v", n, got)
		}
	}
}

// TestRunStops: the end of the context and an error of Accept stop the
// run; nothing else does.
func TestRunStops(t *testing.T) {
	data := generated(t, 3000, gen.Options{Seed: 3}, gen.CSVOptions{})
	open := func() Reader {
		r, err := Open(bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	s, err := Run{Accept: func(context.Context, Record) error {
		if calls++; calls == 100 {
			cancel()
		}
		return nil
	}}.Check(ctx, open(), validator(t, Mapping{}))
	if !errors.Is(err, context.Canceled) || s.Read >= 3000 {
		t.Errorf("cancelled run: %+v, %v", s, err)
	}
	boom := errors.New("store down")
	s, err = Run{Accept: func(context.Context, Record) error { return boom }}.Check(context.Background(), open(), validator(t, Mapping{}))
	if !errors.Is(err, boom) || s.Valid != 0 {
		t.Errorf("failed accept: %+v, %v", s, err)
	}
	var seen []Summary
	s, err = Run{Progress: func(s Summary) { seen = append(seen, s) }, ProgressEvery: 1000}.Check(context.Background(), open(), validator(t, Mapping{}))
	if err != nil || s.Valid != 3000 || len(seen) != 4 || seen[3] != s {
		t.Errorf("progress %+v, summary %+v, %v", seen, s, err)
	}
}
