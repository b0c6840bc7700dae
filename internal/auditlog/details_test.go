package auditlog

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// referenceDetailsJSON is what DetailsJSON wrote before its direct path.
func referenceDetailsJSON(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// referenceParseDetails is what ParseDetails did before its direct path.
func referenceParseDetails(s string) (map[string]string, error) {
	var d map[string]string
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, err
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}

func checkDetails(t *testing.T, d map[string]string) {
	t.Helper()
	got, want := DetailsJSON(d), referenceDetailsJSON(d)
	if got != want {
		t.Fatalf("DetailsJSON(%q) = %s, encoding/json writes %s", d, got, want)
	}
	back, err := ParseDetails(got)
	wantBack, wantErr := referenceParseDetails(got)
	if err != nil || wantErr != nil || !maps.Equal(back, wantBack) {
		t.Fatalf("ParseDetails(%s) = %q, %v; encoding/json reads %q, %v", got, back, err, wantBack, wantErr)
	}
}

func checkParse(t *testing.T, s string) {
	t.Helper()
	got, err := ParseDetails(s)
	want, wantErr := referenceParseDetails(s)
	if (err != nil) != (wantErr != nil) || !maps.Equal(got, want) || (got == nil) != (want == nil) {
		t.Fatalf("ParseDetails(%q) = %q, %v; encoding/json reads %q, %v", s, got, err, want, wantErr)
	}
}

func TestDetailsAsEncodingJSON(t *testing.T) {
	for _, d := range []map[string]string{
		nil,
		{},
		{"valid": "true", "unit": "91350100M000100Y43", "matter": "户籍业务办理", "kid": "3f2a9c0e5b7d1f4a"},
		{"b": "", "a": "x", "B": "y", "_": "z"},
		{"reason": `a "quoted" \ value`},
		{"html": "<script>&amp;</script>"},
		{"ctl": "line\nbreak\ttab\x01"},
		{"sep": "a\u2028b\u2029c"},
		{"bad": "\xff\xfe"},
		{"fffd": "\ufffd"},
		{"名": "值", "del": "\x7f"},
	} {
		checkDetails(t, d)
	}
	for _, s := range []string{
		"", " ", "{}", "{ }", `{"a":"b"}`, `{"a":"b","a":"c"}`, `{"a":"b",}`, `{"a":"b"`, `{"a":1}`,
		`{"a":"b" }`, `{"a" :"b"}`, `{"a":"\u00e9"}`, `{"a":"x\ny"}`, "{\"a\":\"\xff\"}", `{"a":"b"}x`,
		`{"":""}`, `{"a":"b","c"}`, `{"a":"b""c":"d"}`, `{,}`, `{"a":null}`, `[]`, `null`,
	} {
		checkParse(t, s)
	}
}

func FuzzDetails(f *testing.F) {
	f.Add("matter", "户籍业务办理", `{"a":"b","c":"d"}`)
	f.Add("reason", "<&>\"\\\n", `{"a":"\u2028"}`)
	f.Fuzz(func(t *testing.T, k, v, s string) {
		checkDetails(t, map[string]string{k: v, "valid": v, k + "x": k})
		checkParse(t, s)
	})
}
