package ids

import (
	"errors"
	"testing"
)

func TestSealCode(t *testing.T) {
	code, err := NewSealCode("350100", "91350100M000100Y43", 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != SealCodeLen || code[:29] != "35010091350100M000100Y4301007" {
		t.Fatalf("code %q has the wrong layout", code)
	}
	if err := ValidateSealCode(code); err != nil {
		t.Fatalf("valid code rejected: %v", err)
	}
	// Every single substitution at every position is caught.
	for i := 0; i < len(code); i++ {
		for j := 0; j < len(creditAlphabet); j++ {
			c := creditAlphabet[j]
			if c == code[i] {
				continue
			}
			bad := code[:i] + string(c) + code[i+1:]
			if ValidateSealCode(bad) == nil {
				t.Fatalf("substitution %q at %d accepted: %s", c, i+1, bad)
			}
		}
	}
	// Adjacent transpositions of differing characters are caught.
	for i := 0; i+1 < len(code); i++ {
		if code[i] == code[i+1] {
			continue
		}
		b := []byte(code)
		b[i], b[i+1] = b[i+1], b[i]
		if ValidateSealCode(string(b)) == nil {
			t.Fatalf("transposition at %d accepted: %s", i+1, b)
		}
	}
	for _, tc := range []struct {
		in, rule string
	}{
		{"", "required"}, {"123", "length"}, {code[:29] + "I", "charset"},
		{"99" + code[2:], "region"}, {code[:29] + string(creditAlphabet[(int(creditValue[code[29]])+1)%31]), "check-character"},
	} {
		var e *Error
		if err := ValidateSealCode(tc.in); !errors.As(err, &e) || e.Rule != tc.rule {
			t.Errorf("ValidateSealCode(%q) = %v, want rule %s", tc.in, err, tc.rule)
		}
	}
	for _, bad := range []struct{ kind, seq int }{{0, 1}, {100, 1}, {1, 0}, {1, 1000}} {
		if _, err := NewSealCode("350100", "91350100M000100Y43", bad.kind, bad.seq); err == nil {
			t.Errorf("NewSealCode kind %d seq %d accepted", bad.kind, bad.seq)
		}
	}
}

func FuzzValidateSealCode(f *testing.F) {
	f.Add("35010091350100M000100Y4301007X")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateSealCode(s) == nil && sealCheckChar(s[:29]) != s[29] {
			t.Fatalf("accepted %q with a wrong check character", s)
		}
	})
}
