package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// generalSigningInput is SigningInput through the general canonicalizer,
// which the written-out one must match byte for byte.
func generalSigningInput(l License) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return canon.JSON(l)
}

// checkCanonical compares SigningInput with the general canonicalizer on
// l, and reports whether the written-out path took it.
func checkCanonical(t *testing.T, l License) bool {
	t.Helper()
	got, err := SigningInput(l)
	want, wantErr := generalSigningInput(l)
	if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("SigningInput %s (%v), general %s (%v)", got, err, want, wantErr)
	}
	if err != nil && !errors.Is(err, ErrInvalid) {
		t.Fatalf("error without ErrInvalid: %v", err)
	}
	_, quick := l.appendCanonical(nil)
	return quick
}

// faceCases are faces the scanner reads (quick) or leaves to the general
// path.
var faceCases = []struct {
	face  string
	quick bool
}{
	{`{}`, true},
	{` { "b" : 1 , "a" : -2 } `, true},
	{`{"z":true,"y":false,"x":null,"w":"中文"}`, true},
	{`{"a":"\"\\\/\b\f\n\r\t\u0000\u001f\u007f\u00e9\u2028<>&"}`, true},
	{`{"\u00e9":1,"e":2,"\ud83d\ude00":3,"\uffff":4,"\ue000":5}`, true},
	{"{\"\U0001F600\":1,\"\uFFFF\":2,\"\uE000\":3,\"a\\u0062\":4}", true},
	{`{"a":9007199254740991,"b":-9007199254740991,"c":0}`, true},
	{`{"a":9007199254740992}`, false},
	{`{"a":1.5}`, false},
	{`{"a":1e2}`, false},
	{`{"a":01}`, false},
	{`{"a":-0}`, false},
	{`{"a":[1]}`, false},
	{`{"a":{}}`, false},
	{`{"a":1,"a":2}`, false},
	{`{"a":1,"\u0061":2}`, false},
	{`{"":1}`, false},
	{`{"a":"\ud800"}`, false},
	{`{"a":"\udc00\ud800"}`, false},
	{"{\"a\":\"\xff\"}", false},
	{"{\"a\":\"\t\"}", false},
	{`{"a":1}x`, false},
	{`{"a":1,}`, false},
	{`{"a" 1}`, false},
	{`{"a":tru}`, false},
	{`{"a":"\x"}`, false},
	{`[]`, false},
	{``, false},
}

// TestCanonicalMatchesGeneral: the signing input written for the
// license's shape is the general canonicalizer's, on the sample, on
// versions that supersede, on text that needs escapes and on faces of
// every kind the format allows; what it does not read it leaves to the
// general path, which then answers.
func TestCanonicalMatchesGeneral(t *testing.T) {
	if !checkCanonical(t, sample()) {
		t.Fatal("the sample took the general path")
	}
	l := sample()
	l.ValidUntil, l.Version, l.Supersedes = nil, 2, &Ref{ID: l.ID, Version: 1}
	l.Holder.Name, l.Issuer.Name = `甲"乙\丙<&>`, "局\u2028名"
	if !checkCanonical(t, l) {
		t.Fatal("a second version took the general path")
	}
	for _, tc := range faceCases {
		l := sample()
		l.Face = json.RawMessage(tc.face)
		if quick := checkCanonical(t, l); quick != tc.quick {
			t.Errorf("face %q: written-out path taken %v, want %v", tc.face, quick, tc.quick)
		}
	}
}

// FuzzCanonical holds the written-out signing input to the general
// canonicalizer on any face and holder name.
func FuzzCanonical(f *testing.F) {
	for _, tc := range faceCases {
		f.Add([]byte(tc.face), "福州闽江示例科技有限公司")
	}
	f.Add([]byte(sample().Face), "a\"b")
	f.Fuzz(func(t *testing.T, face []byte, name string) {
		l := sample()
		l.Face, l.Holder.Name = face, name
		checkCanonical(t, l)
	})
}
