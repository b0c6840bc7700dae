package importer

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// readAll returns the rows and the row errors of a file, in order.
type readResult struct {
	header []string
	rows   []Row
	errs   []*RowError
	enc    Encoding
}

func readAll(t *testing.T, data []byte, opt Options) (readResult, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data), opt)
	if err != nil {
		return readResult{}, err
	}
	defer func() { _ = r.Close() }()
	out := readResult{header: r.Header().Names(), enc: r.Encoding()}
	for {
		row, err := r.Next()
		var re *RowError
		switch {
		case errors.Is(err, io.EOF):
			return out, nil
		case errors.As(err, &re):
			out.errs = append(out.errs, re)
		case err != nil:
			return out, err
		default:
			row.Values = append([]string(nil), row.Values...)
			out.rows = append(out.rows, row)
		}
	}
}

func gb18030(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCSVEncodings(t *testing.T) {
	const text = "名称,住所\n福州闽江科技有限公司,福建省福州市鼓楼区五四路158号\n\"厦门\"\"鹭岛\"\"商贸\",\"思明区\n中山路1号\"\n"
	want := [][]string{{"福州闽江科技有限公司", "福建省福州市鼓楼区五四路158号"}, {`厦门"鹭岛"商贸`, "思明区\n中山路1号"}}
	for _, tc := range []struct {
		name    string
		data    []byte
		enc     Encoding
		wantEnc Encoding
	}{
		{"utf-8", []byte(text), Auto, UTF8},
		{"utf-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, text...), Auto, UTF8},
		{"utf-8 named", []byte(text), UTF8, UTF8},
		{"gb18030 detected", gb18030(t, text), Auto, GB18030},
		{"gb18030 named", gb18030(t, text), GB18030, GB18030},
		{"gb18030 CRLF", gb18030(t, strings.ReplaceAll(text, "158号\n", "158号\r\n")), Auto, GB18030},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.data, Options{Encoding: tc.enc})
			if err != nil {
				t.Fatal(err)
			}
			if got.enc != tc.wantEnc {
				t.Errorf("encoding = %s, want %s", got.enc, tc.wantEnc)
			}
			if strings.Join(got.header, "|") != "名称|住所" {
				t.Errorf("header = %q", got.header)
			}
			if len(got.errs) > 0 || len(got.rows) != len(want) {
				t.Fatalf("rows %d, errors %v; want %d rows", len(got.rows), got.errs, len(want))
			}
			for i, row := range got.rows {
				if strings.Join(row.Values, "|") != strings.Join(want[i], "|") {
					t.Errorf("row %d = %q, want %q", i, row.Values, want[i])
				}
			}
			if got.rows[0].Number != 2 || got.rows[1].Number != 3 {
				t.Errorf("row numbers %d, %d; want the lines 2, 3", got.rows[0].Number, got.rows[1].Number)
			}
			if v, ok := got.rows[1].Cell("住所"); !ok || v != want[1][1] {
				t.Errorf("Cell(住所) = %q, %v", v, ok)
			}
		})
	}
}

// TestCSVDetectsGB18030BeyondASCII: a GB18030 file whose first 64 KiB are
// ASCII is taken as UTF-8; its Chinese rows are then refused one by one,
// naming the cure, rather than read as noise.
func TestCSVDetectsGB18030BeyondASCII(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("a,b\n")
	for b.Len() < 70<<10 {
		b.WriteString("x,y\n")
	}
	b.Write(gb18030(t, "甲,乙\n"))
	b.WriteString("z,w\n")
	got, err := readAll(t, b.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.enc != UTF8 || len(got.errs) != 1 || got.errs[0].Rule != "utf8" || !strings.Contains(got.errs[0].Detail, "gb18030") {
		t.Fatalf("encoding %s, errors %v; want utf-8 and one utf8 error naming gb18030", got.enc, got.errs)
	}
	if last := got.rows[len(got.rows)-1]; last.Values[0] != "z" || last.Number != got.errs[0].Row+1 {
		t.Errorf("last row %+v after the error of row %d: reading did not go on", last, got.errs[0].Row)
	}
}

func TestCSVFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		opt  Options
		want string
	}{
		{"empty", nil, Options{}, "empty"},
		{"blank lines only", []byte("\n\n"), Options{}, "empty"},
		{"xlsx given as csv", []byte("PK\x03\x04\x14\x00rest"), Options{}, "ZIP"},
		{"binary", []byte("a,b\n\x00\x01\x02\n"), Options{}, "NUL"},
		{"utf-16", []byte{0xFF, 0xFE, 'a', 0, ',', 0}, Options{}, "UTF-16"},
		{"neither utf-8 nor gb18030", []byte("a,b\n\xff\xff,\x80\x80\n"), Options{}, "neither"},
		{"bom but gb18030 asked", []byte("\xEF\xBB\xBFa,b\n"), Options{Encoding: GB18030}, "byte order mark"},
		{"duplicate column", []byte("a,b,a\n1,2,3\n"), Options{}, "both named"},
		{"unnamed column", []byte("a,,c\n1,2,3\n"), Options{}, "no name"},
		{"unclosed quote longer than the bound", []byte("a,b\n1,\"" + strings.Repeat("x\n", 50000) + "\n"), Options{MaxRecord: 1000}, "longer than 1000 bytes"},
		{"header broken", []byte("a,b\"c\n1,2\n"), Options{}, "quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.data, tc.opt)
			if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an ErrFile saying %q", err, tc.want)
			}
		})
	}
}

func TestCSVRowErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     []byte
		opt      Options
		wantRule string
		wantRow  int
		wantCol  string
		wantRows int // good rows read around the bad one
	}{
		{"extra column", []byte("a,b\n1,2\n1,2,3\n4,5\n"), Options{}, "columns", 3, "", 2},
		{"missing column", []byte("a,b\n1,2\n1\n4,5\n"), Options{}, "columns", 3, "", 2},
		{"bare quote", []byte("a,b\n1,2\n1,x\"y\n4,5\n"), Options{}, "csv", 3, "", 2},
		{"cut off inside a quote", []byte("a,b\n1,2\n3,\"open\nfield"), Options{}, "csv", 3, "", 1},
		{"cut off mid row", []byte("a,b\n1,2\n3"), Options{}, "columns", 3, "", 1},
		{"bad utf-8", []byte("a,b\n1,2\n1,\xff\n4,5\n"), Options{Encoding: UTF8}, "utf8", 3, "b", 2},
		{"bad gb18030", append(gb18030(t, "a,b\n1,2\n"), []byte("1,\xff\n4,5\n")...), Options{Encoding: GB18030}, "encoding", 3, "b", 2},
		{"gb18030 cut mid character", append(gb18030(t, "a,b\n1,2\n1,"), gb18030(t, "甲")[:1]...), Options{Encoding: GB18030}, "encoding", 3, "b", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.data, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.errs) != 1 {
				t.Fatalf("row errors %v, want one", got.errs)
			}
			e := got.errs[0]
			if e.Rule != tc.wantRule || e.Row != tc.wantRow || e.Column != tc.wantCol || e.Detail == "" {
				t.Errorf("error %+v, want rule %s row %d column %q", e, tc.wantRule, tc.wantRow, tc.wantCol)
			}
			if len(got.rows) != tc.wantRows {
				t.Errorf("%d good rows, want %d", len(got.rows), tc.wantRows)
			}
		})
	}
}

func TestJSONL(t *testing.T) {
	long := `{"a":"` + strings.Repeat("x", 300) + `","b":"1"}`
	data := strings.Join([]string{
		`{"a":"甲","b":1.50}`,
		``,
		`{"b":true,"a":null}`,
		`{"a":"x","c":"1"}`,
		`{"a":{"x":1}}`,
		`{"a":"1","a":"2"}`,
		`["a"]`,
		`{"a":"1"} {"a":"2"}`,
		`{"a":`,
		long,
		"{\"a\":\"\xff\"}",
		`  {"a":"last","b":false}  `,
	}, "\n")
	got, err := readAll(t, []byte(data), Options{Format: JSONL, Encoding: UTF8, MaxRecord: 200})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.header, "|") != "a|b" {
		t.Fatalf("header %q", got.header)
	}
	var rows []string
	for _, r := range got.rows {
		rows = append(rows, strings.Join(r.Values, "|")+"@"+itoa(r.Number))
	}
	if want := "甲|1.50@1 |true@3 last|false@12"; strings.Join(rows, " ") != want {
		t.Errorf("rows %q, want %q", strings.Join(rows, " "), want)
	}
	var errs []string
	for _, e := range got.errs {
		errs = append(errs, e.Rule+"@"+itoa(e.Row))
	}
	if want := "unknown-field@4 type@5 duplicate@6 json-object@7 json@8 json@9 max-length@10 utf8@11"; strings.Join(errs, " ") != want {
		t.Errorf("errors %q, want %q", strings.Join(errs, " "), want)
	}
}

func TestJSONLFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "\n \n", "no JSON object"},
		{"first line not an object", "[1]\n", "json-object"},
		{"first line broken", "{\"a\":\n", "json"},
		{"binary", "\x00\x01{}", "NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, []byte(tc.data), Options{Format: JSONL})
			if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an ErrFile saying %q", err, tc.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
