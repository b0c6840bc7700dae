package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// fuzzRead reads every row of data and checks what a reader promises
// whatever the input: no panic, rows numbered upwards as many cells as
// the header, every refusal a RowError or a file error.
func fuzzRead(t *testing.T, data []byte, opt Options) {
	r, err := Open(bytes.NewReader(data), opt)
	if err != nil {
		return
	}
	defer func() { _ = r.Close() }()
	last := 0
	for i := 0; ; i++ {
		row, err := r.Next()
		var re *RowError
		switch {
		case errors.Is(err, io.EOF):
			return
		case errors.As(err, &re):
			if re.Rule == "" || re.Detail == "" || re.Row < last {
				t.Fatalf("row error %+v after row %d", re, last)
			}
			last = re.Row
		case err != nil:
			if !errors.Is(err, ErrFile) {
				t.Fatalf("error %v is not a file error", err)
			}
			return
		default:
			if len(row.Values) != len(r.Header().Names()) || row.Number <= last && i > 0 || row.Number < 1 {
				t.Fatalf("row %+v after %d, header %q", row, last, r.Header().Names())
			}
			last = row.Number
		}
		if i > len(data)+2 {
			t.Fatalf("more rows than bytes")
		}
	}
}

func fuzzSeeds(f *testing.F) {
	f.Add([]byte(blFile(nil)))
	f.Add([]byte("a,b\n1,\"2\n3\"\n4,5,6\n\"x"))
	f.Add([]byte("\xEF\xBB\xBFa,b\r\n1,2\r\n"))
	f.Add([]byte("a\n\xff\xfe\n"))
	f.Add([]byte(`{"a":"1","b":2}` + "\n" + `{"a":[1]}` + "\n{\n"))
	f.Add([]byte("PK\x03\x04"))
	f.Add(gb18030Text("名称,住所\n甲,乙\n"))
}

func gb18030Text(s string) []byte {
	b, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	return b
}

func FuzzCSV(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Options{MaxRecord: 4096})
		fuzzRead(t, data, Options{Encoding: GB18030, MaxRecord: 4096})
	})
}

func FuzzJSONL(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Options{Format: JSONL, MaxRecord: 4096})
	})
}

// FuzzCheck runs whole checks of business licenses over fuzzed CSV: a
// row is accepted or reported, never lost, and the run never panics.
func FuzzCheck(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), Options{MaxRecord: 4096})
		if err != nil {
			return
		}
		defer func() { _ = r.Close() }()
		rep := &memReport{}
		s, err := Run{Report: rep}.Check(context.Background(), r, validator(t, Mapping{}))
		if err == nil && (s.Valid+s.Rejected != s.Read || int64(len(rep.problems)) != s.Problems || s.Problems < s.Rejected) {
			t.Fatalf("summary %+v with %d problems", s, len(rep.problems))
		}
	})
}

// FuzzWriteJSONString: the face builder's string writer gives JSON that
// reads back as the cell.
func FuzzWriteJSONString(f *testing.F) {
	for _, s := range []string{"", "福州\n\"x\"\\", "\x00\x1f\u2028<>&", "a\tb\rc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		var b bytes.Buffer
		writeJSONString(&b, s)
		var got string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil || got != s {
			t.Fatalf("%q written as %s read back as %q, %v", s, b.Bytes(), got, err)
		}
	})
}
