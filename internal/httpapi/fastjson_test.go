package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var fastJSONSeeds = []string{
	`{"signature":"MEUCIQ+/=","document":"aGk=","digest":""}`,
	`{"a":[1,-2.5e3,0,0.5,true,false,null,{"b":[]}],"c":{}}`,
	`  {"x" : "y" , "x":"z"}  `,
	`{"payload":"ZZ1:NCF%RN6D $*+-./:","matter":"户籍业务办理"}`, "\"\u2028\U0001F600\"", `{"s":"é"}`,
	`[]`, `"s"`, `0`, `-0`, `1E+2`, `null`,
	// What the fast path leaves to encoding/json:
	`{"s":"a\"b"}`, `{"s":"\u00e9"}`, "{\"s\":\"a\tb\"}", `{"n":01}`, `{"n":1.}`, `{"n":-}`,
	`{"n":1e999}`, "{\"s\":\"\xff\"}", "\"\xe6\x88\"", "\"\xed\xa0\x80\"", "\"\x7f\"", `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `tru`, `truex`, `{"a":1}x`, `{"a":[}`, `"unterminated`,
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

// TestParseJSONFast: whatever the fast path accepts, encoding/json accepts
// and decodes to the same value; what it declines goes to encoding/json.
func TestParseJSONFast(t *testing.T) {
	accepted := 0
	for _, s := range fastJSONSeeds {
		if checkFastJSON(t, []byte(s)) {
			accepted++
		}
	}
	if accepted < 11 {
		t.Fatalf("the fast path accepted %d of the plain bodies, want at least 11", accepted)
	}
}

func FuzzParseJSONFast(f *testing.F) {
	for _, s := range fastJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFastJSON(t, b) })
}

func checkFastJSON(t *testing.T, b []byte) bool {
	t.Helper()
	got, ok := parseJSONFast(b)
	if !ok {
		return false
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("fast path accepted %q, which encoding/json refuses: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: fast path %#v, encoding/json %#v", b, got, want)
	}
	return true
}
