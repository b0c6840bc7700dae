package ids

import (
	"strings"
	"testing"
)

// knownLicenseID was computed by hand: values of
// "BL000191350100M000100Y430000000001" in the GB 32100 alphabet times
// 3^i mod 31 sum to 1256; 1256 mod 31 = 16; 31 - 16 = 15 -> 'F'.
const knownLicenseID = "BL000191350100M000100Y430000000001F"

func TestMod31Weights(t *testing.T) {
	// The first 17 weights are those of GB 32100-2015.
	for i, w := range creditWeights {
		if mod31Weights[i] != w {
			t.Errorf("mod31Weights[%d] = %d, want the GB 32100 weight %d", i, mod31Weights[i], w)
		}
	}
	// 3 is a primitive root of 31: the 30 weights are 1..30, each once.
	seen := map[int]bool{}
	for _, w := range mod31Weights {
		seen[w] = true
	}
	if len(seen) != 30 || seen[0] {
		t.Errorf("weights %v are not a permutation of 1..30", mod31Weights)
	}
	if got := mod31CheckChar("91350100M000100Y4"); got != '3' {
		t.Errorf("mod31CheckChar of a credit code = %q, want its check character '3'", got)
	}
}

func TestNewLicenseID(t *testing.T) {
	tests := []struct {
		name, typeCode, issuer string
		seq                    uint64
		want, rule             string
	}{
		{"known", "BL0001", "91350100M000100Y43", 1, knownLicenseID, ""},
		{"largest sequence", "BL0001", "91350100M000100Y43", MaxLicenseSeq, "", ""},
		{"sequence 0", "BL0001", "91350100M000100Y43", 0, "", ruleSequence},
		{"sequence too large", "BL0001", "91350100M000100Y43", MaxLicenseSeq + 1, "", ruleSequence},
		{"short type code", "BL001", "91350100M000100Y43", 1, "", ruleLength},
		{"type code with O", "BLO001", "91350100M000100Y43", 1, "", ruleCharset},
		{"lower-case type code", "bl0001", "91350100M000100Y43", 1, "", ruleCharset},
		{"issuer check character", "BL0001", "91350100M000100Y44", 1, "", ruleCreditCode},
		{"issuer empty", "BL0001", "", 1, "", ruleCreditCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewLicenseID(tt.typeCode, tt.issuer, tt.seq)
			checkRule(t, err, kindLicenseID, tt.rule)
			if err != nil {
				return
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("NewLicenseID = %q, want %q", got, tt.want)
			}
			id, err := ParseLicenseID(got)
			if err != nil {
				t.Fatalf("ParseLicenseID(%q) = %v", got, err)
			}
			if want := (LicenseID{tt.typeCode, tt.issuer, tt.seq}); id != want || id.String() != got {
				t.Errorf("ParseLicenseID(%q) = %+v (%q), want %+v", got, id, id.String(), want)
			}
		})
	}
}

func TestParseLicenseIDRules(t *testing.T) {
	good := knownLicenseID
	// withCheck replaces the check character with a correct one, so that
	// only the part under test is wrong.
	withCheck := func(first34 string) string { return first34 + string(mod31CheckChar(first34)) }
	tests := []struct {
		name, in     string
		rule, detail string
	}{
		{"valid", good, "", ""},
		{"empty", "", ruleRequired, "value is empty"},
		{"34 characters", good[:34], ruleLength, "length is 34 characters, want 35"},
		{"36 characters", good + "1", ruleLength, ""},
		{"surrounding space", " " + good[1:], ruleCharset, "character ' ' at position 1 is not allowed"},
		{"lower-case", strings.ToLower(good[:2]) + good[2:], ruleCharset, "character 'b' at position 1 is not allowed"},
		{"letter I", "I" + good[1:], ruleCharset, ""},
		{"full-width digit", "BL000１" + good[6:], ruleCharset, "character '１' at position 6 is not allowed"},
		{"letter in the sequence", withCheck(good[:30] + "A001"), ruleCharset, "character 'A' at position 31 is not allowed"},
		{"issuer check character", withCheck(good[:23] + "4" + good[24:34]), ruleCreditCode,
			"positions 7-24: invalid credit-code (check-character): check character is '4', want '3'"},
		{"issuer category", withCheck(good[:7] + "4" + good[8:34]), ruleCreditCode, ""},
		{"sequence zero", withCheck(good[:24] + "0000000000"), ruleSequence, "sequence 0000000000 is not issued"},
		{"check character", good[:34] + "G", ruleCheckCharacter, "check character is 'G', want 'F'"},
		{"order: charset before credit code", "BL00019135O100M000100Y430000000001F", ruleCharset, ""},
		{"order: credit code before check character", good[:23] + "4" + good[24:], ruleCreditCode, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateLicenseID(tt.in)
			e := ruleError(t, err, kindLicenseID, tt.rule)
			if e != nil && tt.detail != "" && e.Detail != tt.detail {
				t.Errorf("Detail = %q, want %q", e.Detail, tt.detail)
			}
			if _, perr := ParseLicenseID(tt.in); (perr == nil) != (err == nil) {
				t.Errorf("ParseLicenseID error %v disagrees with ValidateLicenseID %v", perr, err)
			}
		})
	}
}

// testLicenseIDs returns valid identifiers over random credit codes, type
// codes and sequences.
func testLicenseIDs(t testing.TB) []string {
	t.Helper()
	out := []string{knownLicenseID}
	for i, code := range testCreditCodes(t) {
		tc := string([]byte{creditAlphabet[i%31], creditAlphabet[(i*7)%31], '0', '0', creditAlphabet[(i*11)%31], '1'})
		s, err := NewLicenseID(tc, code, uint64(i*7919+1))
		if err != nil {
			t.Fatalf("NewLicenseID(%q, %q): %v", tc, code, err)
		}
		out = append(out, s)
	}
	return out
}

// TestLicenseIDErrorDetection: every substitution of one character by
// another of the alphabet, and every swap of two adjacent differing
// characters, is refused, whichever rule catches it.
func TestLicenseIDErrorDetection(t *testing.T) {
	for _, id := range testLicenseIDs(t) {
		if err := ValidateLicenseID(id); err != nil {
			t.Fatalf("ValidateLicenseID(%q) = %v", id, err)
		}
		for i := 0; i < len(id); i++ {
			for j := 0; j < len(creditAlphabet); j++ {
				if c := creditAlphabet[j]; c != id[i] {
					if s := setByte(id, i, c); ValidateLicenseID(s) == nil {
						t.Fatalf("substitution %q at position %d accepted: %s", c, i+1, s)
					}
				}
			}
			if i+1 < len(id) && id[i] != id[i+1] {
				if s := swap(id, i, i+1); ValidateLicenseID(s) == nil {
					t.Fatalf("transposition at positions %d-%d accepted: %s", i+1, i+2, s)
				}
			}
		}
	}
}

func FuzzParseLicenseID(f *testing.F) {
	for _, s := range []string{
		knownLicenseID, "", knownLicenseID[:34], knownLicenseID + " ", "bl000191350100M000100Y430000000001F",
		"BL000191350100M000100Y430000000000X", "\xff" + knownLicenseID[1:],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseLicenseID(s)
		if err != nil {
			checkError(t, err, kindLicenseID)
			if ValidateLicenseID(s) == nil {
				t.Fatalf("ValidateLicenseID(%q) = nil, ParseLicenseID = %v", s, err)
			}
			return
		}
		if mod31CheckChar(s[:34]) != s[34] {
			t.Fatalf("accepted %q with a wrong check character", s)
		}
		if ValidateCreditCode(id.Issuer) != nil || ValidateLicenseTypeCode(id.TypeCode) != nil {
			t.Fatalf("accepted %q with bad parts %+v", s, id)
		}
		if rebuilt := id.String(); rebuilt != s {
			t.Fatalf("ParseLicenseID(%q) = %+v, which prints as %q", s, id, rebuilt)
		}
	})
}

func BenchmarkValidateLicenseID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateLicenseID(knownLicenseID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewLicenseID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewLicenseID("BL0001", "91350100M000100Y43", 1234567); err != nil {
			b.Fatal(err)
		}
	}
}

func TestValidateLicenseIDDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = ValidateLicenseID(knownLicenseID) }); n != 0 {
		t.Errorf("ValidateLicenseID: %v allocations per run, want 0", n)
	}
}

func TestValidateLicenseTypeCode(t *testing.T) {
	for in, rule := range map[string]string{
		"BL0001": "", "FP0001": "", "": ruleRequired, "BL00011": ruleLength, "BL-001": ruleCharset, "YYZZ01": ruleCharset,
	} {
		checkRule(t, ValidateLicenseTypeCode(in), kindLicenseTypeCode, rule)
	}
}
