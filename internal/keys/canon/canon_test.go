package canon

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPublishedVectors runs the input/output pairs shipped in testdata/jcs
// (see testdata/jcs/SOURCE.md).
func TestPublishedVectors(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "jcs", "input", "*.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no vectors found: %v", err)
	}
	for _, in := range inputs {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "jcs", "output", name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Transform(raw)
			if err != nil {
				t.Fatalf("Transform error = %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Transform = %s\nwant        %s", got, want)
			}
			// Canonical output is a fixed point.
			again, err := Transform(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("Transform(canonical) = %s, %v; want unchanged", again, err)
			}
		})
	}
}

// TestRFC8785Examples types in the examples of RFC 8785 sections 3.2.2 and
// 3.2.3 directly, independent of the shipped files.
func TestRFC8785Examples(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "3.2.2 sample",
			in: `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			name: "3.2.3 sorting",
			in: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{
			name: "nested and arrays keep order",
			in:   `[3, {"b": [2, 1], "a": {"z": 1, "y": 2}}]`,
			want: `[3,{"a":{"y":2,"z":1},"b":[2,1]}]`,
		},
	}
	for _, tt := range tests {
		got, err := Transform([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: Transform error = %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s: Transform = %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// TestRFC8785Numbers checks the IEEE-754 → JSON table of RFC 8785
// Appendix B through JSON, which goes via encoding/json.
func TestRFC8785Numbers(t *testing.T) {
	tests := []struct {
		hex, want string // want "" means the value must be rejected
	}{
		{"0000000000000000", "0"},
		{"8000000000000000", "0"}, // minus zero
		{"0000000000000001", "5e-324"},
		{"8000000000000001", "-5e-324"},
		{"7fefffffffffffff", "1.7976931348623157e+308"},
		{"ffefffffffffffff", "-1.7976931348623157e+308"},
		{"4340000000000000", "9007199254740992"},
		{"c340000000000000", "-9007199254740992"},
		{"4430000000000000", "295147905179352830000"},
		{"7fffffffffffffff", ""}, // NaN
		{"7ff0000000000000", ""}, // Infinity
		{"44b52d02c7e14af5", "9.999999999999997e+22"},
		{"44b52d02c7e14af6", "1e+23"},
		{"44b52d02c7e14af7", "1.0000000000000001e+23"},
		{"444b1ae4d6e2ef4e", "999999999999999700000"},
		{"444b1ae4d6e2ef4f", "999999999999999900000"},
		{"444b1ae4d6e2ef50", "1e+21"},
		{"3eb0c6f7a0b5ed8c", "9.999999999999997e-7"},
		{"3eb0c6f7a0b5ed8d", "0.000001"},
		{"41b3de4355555553", "333333333.3333332"},
		{"41b3de4355555554", "333333333.33333325"},
		{"41b3de4355555555", "333333333.3333333"},
		{"41b3de4355555556", "333333333.3333334"},
		{"41b3de4355555557", "333333333.33333343"},
		{"becbf647612f3696", "-0.0000033333333333333333"},
		{"43143ff3c1cb0959", "1424953923781206.2"},
	}
	for _, tt := range tests {
		bits, err := strconv.ParseUint(tt.hex, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		f := math.Float64frombits(bits)
		got, err := JSON(f)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Errorf("JSON(%s = %v) = %s, %v; want ErrInvalidJSON", tt.hex, f, got, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("JSON(%s) = %s, %v; want %s", tt.hex, got, err, tt.want)
		}
	}
}

func TestJSONGoValues(t *testing.T) {
	type licence struct {
		Number  string            `json:"number"`
		Holder  string            `json:"holder"`
		Issued  int               `json:"issued"`
		Extra   map[string]string `json:"extra,omitempty"`
		Comment string            `json:"-"`
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"struct fields sorted", licence{Number: "A<1>&", Holder: "张三", Issued: 20240101, Extra: map[string]string{"b": "1", "a": "2"}},
			`{"extra":{"a":"2","b":"1"},"holder":"张三","issued":20240101,"number":"A<1>&"}`},
		{"nil", nil, `null`},
		{"raw message re-canonicalized", json.RawMessage(`{ "b" : 1.0, "a" : "\u00e9" }`), `{"a":"é","b":1}`},
		{"slice", []any{1, "x", true, nil}, `[1,"x",true,null]`},
	}
	for _, tt := range tests {
		got, err := JSON(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: JSON = %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(-1), make(chan int), func() {}} {
		if _, err := JSON(bad); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("JSON(%T) error = %v, want ErrInvalidJSON", bad, err)
		}
	}
}

func TestTransformInvalid(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"white space only", "  \n"},
		{"nil", "\x00"},
		{"truncated object", `{"a":1`},
		{"trailing comma", `{"a":1,}`},
		{"two values", `{} {}`},
		{"single quotes", `{'a':1}`},
		{"bare word", `hello`},
		{"leading zero", `[01]`},
		{"NaN literal", `[NaN]`},
		{"invalid UTF-8", "\"\xff\xfe\""},
		{"duplicate names", `{"a":1,"a":2}`},
		{"duplicate names via escape", `{"a":1,"\u0061":2}`},
		{"nested duplicate", `[{"x":{"k":1,"k":1}}]`},
		{"lone high surrogate", `"\ud800"`},
		{"lone low surrogate", `["\udc00"]`},
		{"high surrogate then letter", `"\ud83dA"`},
		{"high surrogate then non-low escape", `"\ud83d\u0041"`},
		{"unterminated string", `"abc`},
		{"control char in string", "\"a\nb\""},
	}
	for _, tt := range tests {
		got, err := Transform([]byte(tt.in))
		if !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("%s: Transform(%q) = %q, %v; want ErrInvalidJSON", tt.name, tt.in, got, err)
		}
	}
	if _, err := Transform(nil); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("Transform(nil) error = %v, want ErrInvalidJSON", err)
	}
	// Same names in different objects are not duplicates.
	if got, err := Transform([]byte(`{"a":{"a":1},"b":[{"a":2},{"a":3}]}`)); err != nil || !strings.HasPrefix(string(got), `{"a":{"a":1}`) {
		t.Errorf("Transform(sibling names) = %s, %v; want success", got, err)
	}
}

func FuzzTransform(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"\ud83d\ude00"]}`, `"\u20ac"`, `[{"b":1,"a":null}]`, `1E30`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := Transform(raw)
		if err != nil {
			return
		}
		again, err := Transform(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Transform not idempotent: %q -> %q -> %q, %v", raw, out, again, err)
		}
	})
}
