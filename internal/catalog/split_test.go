package catalog

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// FuzzSplitObject: wherever the fast path takes a face, it finds the very
// members and duplicates encoding/json's Decoder finds.
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b":"x\"y" ,"c":[1,{"d":"}"}],"e":{"f":[]},"g":null,"h":true,"i":-1.5e3}  `,
		`{"a":1,"a":2,"b":3,"a":4}`, `{"\u0061":1}`, `{"a\"b":1}`, `[]`, `"x"`, `{"a":}`, `{"a":"\\"}`, "{\"a\":\"\u2028\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !utf8.Valid(raw) {
			return
		}
		got, dups, ok := splitObject(raw)
		if !ok {
			return
		}
		var fs apperr.Fields
		want, err := decodeObjectJSON(raw, &fs)
		if err != nil {
			t.Fatalf("the fast path took %q, the decoder refuses it: %v", raw, err)
		}
		if len(got) != len(want) || len(dups) != len(fs) {
			t.Fatalf("%q: fast %v %v, decoder %v %v", raw, got, dups, want, fs)
		}
		for i := range got {
			if got[i].key != want[i].key || !bytes.Equal(got[i].value, want[i].value) {
				t.Fatalf("%q: member %d fast %q=%s, decoder %q=%s", raw, i, got[i].key, got[i].value, want[i].key, want[i].value)
			}
		}
		for i, k := range dups {
			if fs[i].Field != facePath(k) || fs[i].Rule != "duplicate" {
				t.Fatalf("%q: duplicate %d fast %q, decoder %+v", raw, i, k, fs[i])
			}
		}
	})
}
