package ids

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// knownCreditCodes are unified social credit codes that circulate publicly
// (the GB 32100-2015 illustration 91350100M000100Y43, and codes printed on
// business licences and used in open-source test suites). Which organization
// holds each one is not asserted here; what is asserted is that both check
// characters are right, verified by the implementation and by hand below.
//
// Values in the GB 32100-2015 alphabet: digits 0-9, A10 B11 C12 D13 E14 F15
// G16 H17 J18 K19 L20 M21 N22 P23 Q24 R25 T26 U27 W28 X29 Y30.
// Weights W1..W17: 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28.
// GB 11714 values: digits 0-9, A10 ... Z35 (so M is 22, Y is 34);
// weights 3 7 9 10 5 8 4 2.
var knownCreditCodes = []string{
	// Organization code M000100Y|4:
	//   22*3 + 0 + 0 + 0 + 1*5 + 0 + 0 + 34*2 = 66+5+68 = 139; 139 mod 11 = 7; 11-7 = 4 -> '4'.
	// Check character: 9*1 + 1*3 + 3*9 + 5*27 + 0*19 + 1*26 + 0*16 + 0*17
	//   + M21*20 + 0*29 + 0*25 + 0*13 + 1*8 + 0*24 + 0*10 + Y30*30 + 4*28
	//   = 9+3+27+135+26+420+8+900+112 = 1640; 1640 mod 31 = 28; 31-28 = 3 -> '3'.
	"91350100M000100Y43",
	// Organization code 19220382|1:
	//   1*3 + 9*7 + 2*9 + 2*10 + 0*5 + 3*8 + 8*4 + 2*2 = 3+63+18+20+24+32+4 = 164;
	//   164 mod 11 = 10; 11-10 = 1 -> '1'.
	// Check character: 9 + 1*3 + 4*9 + 4*27 + 0 + 3*26 + 0 + 0 + 1*20 + 9*29 + 2*25
	//   + 2*13 + 0*8 + 3*24 + 8*10 + 2*30 + 1*28
	//   = 9+3+36+108+78+20+261+50+26+72+80+60+28 = 831; 831 mod 31 = 25; 31-25 = 6 -> '6'.
	"914403001922038216",
	// Organization code 70846113|6:
	//   7*3 + 0*7 + 8*9 + 4*10 + 6*5 + 1*8 + 1*4 + 3*2 = 21+72+40+30+8+4+6 = 181;
	//   181 mod 11 = 5; 11-5 = 6 -> '6'.
	// Check character: 9 + 1*3 + 4*9 + 4*27 + 0 + 3*26 + 0 + 0 + 7*20 + 0*29 + 8*25
	//   + 4*13 + 6*8 + 1*24 + 1*10 + 3*30 + 6*28
	//   = 9+3+36+108+78+140+200+52+48+24+10+90+168 = 966; 966 mod 31 = 5; 31-5 = 26 -> 'T'.
	"91440300708461136T",
	// Organization code 79965505|8:
	//   7*3 + 9*7 + 9*9 + 6*10 + 5*5 + 5*8 + 0*4 + 5*2 = 21+63+81+60+25+40+10 = 300;
	//   300 mod 11 = 3; 11-3 = 8 -> '8'.
	// Check character: 9 + 1*3 + 3*9 + 3*27 + 0 + 1*26 + 0 + 0 + 7*20 + 9*29 + 9*25
	//   + 6*13 + 5*8 + 5*24 + 0*10 + 5*30 + 8*28
	//   = 9+3+27+81+26+140+261+225+78+40+120+150+224 = 1384; 1384 mod 31 = 20; 31-20 = 11 -> 'B'.
	"91330100799655058B",
	// Organization code 77578555|2:
	//   7*3 + 7*7 + 5*9 + 7*10 + 8*5 + 5*8 + 5*4 + 5*2 = 21+49+45+70+40+40+20+10 = 295;
	//   295 mod 11 = 9; 11-9 = 2 -> '2'.
	// Check character: 9 + 1*3 + 3*9 + 1*27 + 0 + 0 + 0 + 0 + 7*20 + 7*29 + 5*25
	//   + 7*13 + 8*8 + 5*24 + 5*10 + 5*30 + 2*28
	//   = 9+3+27+27+140+203+125+91+64+120+50+150+56 = 1065; 1065 mod 31 = 11; 31-11 = 20 -> 'L'.
	"91310000775785552L",
	// Organization code 55138508|2:
	//   5*3 + 5*7 + 1*9 + 3*10 + 8*5 + 5*8 + 0*4 + 8*2 = 15+35+9+30+40+40+16 = 185;
	//   185 mod 11 = 9; 11-9 = 2 -> '2'.
	// Check character: 9 + 1*3 + 1*9 + 1*27 + 0 + 1*26 + 0 + 8*17 + 5*20 + 5*29 + 1*25
	//   + 3*13 + 8*8 + 5*24 + 0*10 + 8*30 + 2*28
	//   = 9+3+9+27+26+136+100+145+25+39+64+120+240+56 = 999; 999 mod 31 = 7; 31-7 = 24 -> 'Q'.
	"91110108551385082Q",
}

// rejectedCreditCandidates were candidate "real" codes that do not pass the
// check characters, kept to make sure they stay rejected.
var rejectedCreditCandidates = []struct{ code, rule string }{
	// Organization code 10000039|3: 1*3 + 3*4 + 9*2 = 33; 33 mod 11 = 0; C = 11 -> '0', not '3'.
	{"911100001000003936", ruleOrgCodeCheckCharacter},
	// Organization code MA1G4L1W|X: the GB 11714 check character is '0'.
	{"91310115MA1G4L1WXK", ruleOrgCodeCheckCharacter},
}

// validCreditPairs is the list of GB 32100-2015 authority/category pairs as
// given in the specification, kept independent of creditCategories.
const validCreditPairs = "11 12 13 19 21 29 31 32 33 34 35 39 41 49 51 52 53 59 61 62 69 71 72 79 81 89 91 92 93 A1 A9 N1 N2 N3 N9 Y1"

// testCreditCodes returns the known codes plus codes built with NewCreditCode
// that exercise letters, the central region and both special GB 11714 check
// characters ('X' for C = 10 and '0' for C = 11).
func testCreditCodes(t testing.TB) []string {
	t.Helper()
	codes := append([]string(nil), knownCreditCodes...)
	for _, p := range []struct {
		a, c        byte
		region, org string
	}{
		{'1', '1', "100000", "00000000"}, // org check: sum 0 -> C = 11 -> '0'
		{'5', '3', "110105", "00000006"}, // org check: 6*2 = 12, 12 mod 11 = 1 -> C = 10 -> 'X'
		{'Y', '1', "820000", "YXWUTRQP"},
		{'N', '9', "650102", "HJKLMNPA"},
		{'A', '9', "710000", "12345678"},
	} {
		code, err := NewCreditCode(p.a, p.c, p.region, p.org)
		if err != nil {
			t.Fatalf("NewCreditCode(%q, %q, %q, %q): %v", p.a, p.c, p.region, p.org, err)
		}
		codes = append(codes, code)
	}
	return codes
}

func TestCreditCodeTables(t *testing.T) {
	if len(creditAlphabet) != 31 {
		t.Fatalf("len(creditAlphabet) = %d, want 31", len(creditAlphabet))
	}
	var want strings.Builder
	for c := byte('0'); c <= '9'; c++ {
		want.WriteByte(c)
	}
	for c := byte('A'); c <= 'Z'; c++ {
		if !strings.ContainsRune("IOZSV", rune(c)) {
			want.WriteByte(c)
		}
	}
	if creditAlphabet != want.String() {
		t.Errorf("creditAlphabet = %q, want %q", creditAlphabet, want.String())
	}
	for b := 0; b < 256; b++ {
		got := creditValue[b]
		wantV := int8(strings.IndexByte(creditAlphabet, byte(b)))
		if got != wantV {
			t.Errorf("creditValue[%#02x] = %d, want %d", b, got, wantV)
		}
	}
	w := 1
	for i := range creditWeights {
		if creditWeights[i] != w {
			t.Errorf("creditWeights[%d] = %d, want 3^%d mod 31 = %d", i, creditWeights[i], i, w)
		}
		w = w * 3 % 31
	}
	if orgWeights != [8]int{3, 7, 9, 10, 5, 8, 4, 2} {
		t.Errorf("orgWeights = %v", orgWeights)
	}
	// The authority/category table accepts exactly the listed pairs.
	valid := map[string]bool{}
	for _, p := range strings.Fields(validCreditPairs) {
		valid[p] = true
	}
	for a := 0; a < 256; a++ {
		for c := 0; c < 256; c++ {
			pair := string([]byte{byte(a), byte(c)})
			got := checkAuthorityCategory(byte(a), byte(c)) == nil
			if got != valid[pair] {
				t.Errorf("checkAuthorityCategory(%q) valid = %v, want %v", pair, got, valid[pair])
			}
		}
	}
}

func TestValidateCreditCodeKnownGood(t *testing.T) {
	for _, code := range testCreditCodes(t) {
		if err := ValidateCreditCode(code); err != nil {
			t.Errorf("ValidateCreditCode(%q) = %v, want nil", code, err)
		}
		if got, err := CreditCodeCheckChar(code[:17]); err != nil || got != code[17] {
			t.Errorf("CreditCodeCheckChar(%q) = %q, %v, want %q, nil", code[:17], got, err, code[17])
		}
		if got, err := OrgCodeCheckChar(code[8:16]); err != nil || got != code[16] {
			t.Errorf("OrgCodeCheckChar(%q) = %q, %v, want %q, nil", code[8:16], got, err, code[16])
		}
	}
	for _, c := range rejectedCreditCandidates {
		if err := ValidateCreditCode(c.code); err == nil {
			t.Errorf("ValidateCreditCode(%q) = nil, want rule %q", c.code, c.rule)
		} else {
			checkRule(t, err, kindCreditCode, c.rule)
		}
	}
}

func TestValidateCreditCodeRules(t *testing.T) {
	const good = "91350100M000100Y43"
	tests := []struct {
		name   string
		in     string
		rule   string
		detail string // checked when not empty
	}{
		{"valid", good, "", ""},
		{"empty", "", ruleRequired, "value is empty"},
		{"17 characters", good[:17], ruleLength, "length is 17 characters, want 18"},
		{"19 characters", good + "0", ruleLength, "length is 19 characters, want 18"},
		{"15-digit registration number", "110108000000016", ruleLength, ""},
		{"not normalized: surrounding space", " " + good, ruleLength, ""},
		{"not normalized: lower case", "91350100m000100y43", ruleCharset, "character 'm' at position 9 is not allowed"},
		{"letter I", setByte(good, 9, 'I'), ruleCharset, "character 'I' at position 10 is not allowed"},
		{"letter O", setByte(good, 9, 'O'), ruleCharset, ""},
		{"letter Z", setByte(good, 9, 'Z'), ruleCharset, ""},
		{"letter S", setByte(good, 9, 'S'), ruleCharset, ""},
		{"letter V", setByte(good, 17, 'V'), ruleCharset, "character 'V' at position 18 is not allowed"},
		{"hyphen", setByte(good, 8, '-'), ruleCharset, ""},
		{"NUL byte", setByte(good, 0, 0), ruleCharset, ""},
		{"full-width digit, 18 characters", "９1350100M000100Y43", ruleCharset, "character '９' at position 1 is not allowed"},
		{"invalid UTF-8", setByte(good, 4, 0xff), ruleCharset, "byte 0xff at position 5 is not valid UTF-8"},
		{"authority 0", setByte(good, 0, '0'), ruleRegistrationAuthority, "registration authority code '0' is not defined"},
		{"authority B", setByte(good, 0, 'B'), ruleRegistrationAuthority, ""},
		{"authority X", setByte(good, 0, 'X'), ruleRegistrationAuthority, ""},
		{"category 94", setByte(good, 1, '4'), ruleCategory, "organization category code '4' is not defined for registration authority '9'"},
		{"category 90", setByte(good, 1, '0'), ruleCategory, ""},
		{"category 14", "14" + good[2:], ruleCategory, ""},
		{"category Y2", "Y2" + good[2:], ruleCategory, ""},
		{"category A2", "A2" + good[2:], ruleCategory, ""},
		{"category 1A", "1A" + good[2:], ruleCategory, ""},
		{"region 000000", good[:2] + "000000" + good[8:], ruleRegion, ""},
		{"region province 99", good[:2] + "990100" + good[8:], ruleRegion, "registration region: \"99\" is not a GB/T 2260 province-level code"},
		{"region province 10 other than 100000", good[:2] + "100100" + good[8:], ruleRegion, ""},
		{"region with a letter", good[:2] + "3501A0" + good[8:], ruleRegion, ""},
		{"organization code check character", setByte(good, 16, '5'), ruleOrgCodeCheckCharacter, "organization code check character is '5', want '4'"},
		{"organization code body", setByte(good, 15, 'X'), ruleOrgCodeCheckCharacter, ""},
		{"check character", setByte(good, 17, 'X'), ruleCheckCharacter, "check character is 'X', want '3'"},
		{"check character 0", setByte(good, 17, '0'), ruleCheckCharacter, "check character is '0', want '3'"},
		// Order of checks: the first broken rule is reported.
		{"order: length before charset", "abc", ruleLength, ""},
		{"order: charset before authority", "0I350100M000100Y43", ruleCharset, ""},
		{"order: authority before category", "04350100M000100Y43", ruleRegistrationAuthority, ""},
		{"order: category before region", "94000000M000100Y43", ruleCategory, ""},
		{"order: region before org check", "91000000M000100Y53", ruleRegion, ""},
		{"order: org check before check character", "91350100M000100Y5X", ruleOrgCodeCheckCharacter, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ruleError(t, ValidateCreditCode(tt.in), kindCreditCode, tt.rule)
			if e != nil && tt.detail != "" && e.Detail != tt.detail {
				t.Errorf("Detail = %q, want %q", e.Detail, tt.detail)
			}
		})
	}
}

// TestCreditCodeSingleSubstitution replaces every position of every test code
// with every other byte value and asserts rejection. GB 32100-2015 guarantees
// this: for positions 1-17 the weighted sum changes by (v'-v)*W_i, and since
// 31 is prime, 0 < |v'-v| < 31 and W_i = 3^(i-1) is not a multiple of 31, the
// change is never 0 mod 31, so the check character no longer matches; a change
// of position 18 itself is a mismatch by definition. Bytes outside the
// alphabet fail the charset rule. The rule must be one that can see the
// changed position.
func TestCreditCodeSingleSubstitution(t *testing.T) {
	for _, code := range testCreditCodes(t) {
		for i := 0; i < len(code); i++ {
			for b := 0; b < 256; b++ {
				c := byte(b)
				if c == code[i] {
					continue
				}
				s := setByte(code, i, c)
				err := ValidateCreditCode(s)
				if err == nil {
					t.Errorf("ValidateCreditCode(%q) = nil (position %d %q -> %q), want an error", s, i+1, code[i], c)
					continue
				}
				e := asError(t, err, kindCreditCode)
				var allowed []string
				switch {
				case creditValue[c] < 0:
					allowed = []string{ruleCharset}
				case i == 0:
					allowed = []string{ruleRegistrationAuthority, ruleCategory, ruleCheckCharacter}
				case i == 1:
					allowed = []string{ruleCategory, ruleCheckCharacter}
				case i < 8:
					allowed = []string{ruleRegion, ruleCheckCharacter}
				case i < 16:
					// GB 11714 works mod 11, so a change by a multiple of 11
					// slips past it and is caught by the MOD 31 check.
					allowed = []string{ruleOrgCodeCheckCharacter, ruleCheckCharacter}
				case i == 16:
					allowed = []string{ruleOrgCodeCheckCharacter}
				default:
					allowed = []string{ruleCheckCharacter}
				}
				if !contains(allowed, e.Rule) {
					t.Errorf("ValidateCreditCode(%q) rule = %q, want one of %q", s, e.Rule, allowed)
				}
			}
		}
	}
}

// TestCreditCodeAdjacentTransposition swaps every pair of adjacent, differing
// characters and asserts rejection. Within positions 1-17 this is guaranteed
// by the MOD 31 check: swapping a at i and b at i+1 changes the sum by
// (b-a)*W_i + (a-b)*3*W_i = 2*(a-b)*W_i, which is not 0 mod 31. Swapping
// positions 17 and 18 is not covered by the MOD 31 check, but position 17 is
// the GB 11714 check character of positions 9-16, so any other character
// there is rejected by the organization code check.
func TestCreditCodeAdjacentTransposition(t *testing.T) {
	for _, code := range testCreditCodes(t) {
		for i := 0; i+1 < len(code); i++ {
			if code[i] == code[i+1] {
				continue
			}
			s := swap(code, i, i+1)
			if err := ValidateCreditCode(s); err == nil {
				t.Errorf("ValidateCreditCode(%q) = nil (positions %d and %d swapped), want an error", s, i+1, i+2)
			} else {
				checkError(t, err, kindCreditCode)
			}
		}
	}
}

// TestCreditCodeCheckCharIsUnique asserts that for a structurally valid first
// 17 characters exactly one of the 31 final characters is accepted, and it is
// the one CreditCodeCheckChar returns.
func TestCreditCodeCheckCharIsUnique(t *testing.T) {
	for _, code := range testCreditCodes(t) {
		want, err := CreditCodeCheckChar(code[:17])
		if err != nil {
			t.Fatalf("CreditCodeCheckChar(%q): %v", code[:17], err)
		}
		for j := 0; j < len(creditAlphabet); j++ {
			c := creditAlphabet[j]
			err := ValidateCreditCode(code[:17] + string(c))
			if (err == nil) != (c == want) {
				t.Errorf("ValidateCreditCode(%q) = %v; check character is %q", code[:17]+string(c), err, want)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestNormalizeCreditCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"91350100M000100Y43", "91350100M000100Y43"},
		{"91350100m000100y43", "91350100M000100Y43"},
		{"  91350100m000100Y43\t\n", "91350100M000100Y43"},
		{"\u3000914403001922038216\u3000", "914403001922038216"}, // ideographic space
		{"", ""},
		{"   ", ""},
		{"9135 0100", "9135 0100"}, // inner spaces are not removed
	}
	for _, tt := range tests {
		if got := NormalizeCreditCode(tt.in); got != tt.want {
			t.Errorf("NormalizeCreditCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := NormalizeCreditCode(tt.want); got != tt.want {
			t.Errorf("NormalizeCreditCode(%q) = %q, not idempotent", tt.want, got)
		}
	}
	if err := ValidateCreditCode(NormalizeCreditCode(" 91350100m000100y43 ")); err != nil {
		t.Errorf("normalized code does not validate: %v", err)
	}
}

func TestCreditCodeCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		rule string
	}{
		{"91350100M000100Y4", '3', ""},
		{"91440300708461136", 'T', ""},
		{"00000000000000000", '0', ""}, // sum 0 -> 31 -> 0; the structure is not checked
		{"", 0, ruleRequired},
		{"91350100M000100Y", 0, ruleLength},
		{"91350100M000100Y43", 0, ruleLength},
		{"91350100M000100YI", 0, ruleCharset},
		{"91350100m000100Y4", 0, ruleCharset},
	}
	for _, tt := range tests {
		got, err := CreditCodeCheckChar(tt.in)
		checkRule(t, err, kindCreditCode, tt.rule)
		if got != tt.want {
			t.Errorf("CreditCodeCheckChar(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every check character value 0..30 is reachable: varying position 1's
	// weight-1 contribution walks through all residues.
	seen := map[byte]bool{}
	for j := 0; j < len(creditAlphabet); j++ {
		c, err := CreditCodeCheckChar(string(creditAlphabet[j]) + "0000000000000000")
		if err != nil {
			t.Fatal(err)
		}
		seen[c] = true
	}
	if len(seen) != 31 {
		t.Errorf("check characters reached: %d, want 31", len(seen))
	}
}

func TestOrgCodeCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		rule string
	}{
		{"M000100Y", '4', ""},
		{"19220382", '1', ""},
		{"00000000", '0', ""}, // sum 0: C = 11 -> '0'
		{"00000006", 'X', ""}, // 6*2 = 12, 12 mod 11 = 1: C = 10 -> 'X'
		{"I0000000", '1', ""}, // GB 11714 allows I: 18*3 = 54, 54 mod 11 = 10: C = 1
		{"Z0000000", '5', ""}, // 35*3 = 105, 105 mod 11 = 6: C = 5
		{"", 0, ruleRequired},
		{"1234567", 0, ruleLength},
		{"123456789", 0, ruleLength},
		{"1234567a", 0, ruleCharset},
		{"1234-567", 0, ruleCharset},
	}
	for _, tt := range tests {
		got, err := OrgCodeCheckChar(tt.in)
		checkRule(t, err, kindCreditCode, tt.rule)
		if got != tt.want {
			t.Errorf("OrgCodeCheckChar(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewCreditCode(t *testing.T) {
	tests := []struct {
		name        string
		a, c        byte
		region, org string
		want, rule  string
	}{
		{"GB 32100 illustration", '9', '1', "350100", "M000100Y", "91350100M000100Y43", ""},
		{"central registration", '1', '1', "100000", "00000000", "", ""},
		{"bad authority", 'Z', '1', "350100", "M000100Y", "", ruleRegistrationAuthority},
		{"lower-case authority", 'y', '1', "350100", "M000100Y", "", ruleRegistrationAuthority},
		{"bad category", '9', '9', "350100", "M000100Y", "", ruleCategory},
		{"short region", '9', '1', "35010", "M000100Y", "", ruleRegion},
		{"region with letter", '9', '1', "35010A", "M000100Y", "", ruleRegion},
		{"unknown province", '9', '1', "000000", "M000100Y", "", ruleRegion},
		{"short org body", '9', '1', "350100", "M000100", "", ruleLength},
		{"empty org body", '9', '1', "350100", "", "", ruleRequired},
		{"org body with I", '9', '1', "350100", "M000100I", "", ruleCharset},
		{"lower-case org body", '9', '1', "350100", "m000100Y", "", ruleCharset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewCreditCode(tt.a, tt.c, tt.region, tt.org)
			checkRule(t, err, kindCreditCode, tt.rule)
			if tt.rule != "" {
				if got != "" {
					t.Errorf("code = %q, want empty on error", got)
				}
				return
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
			if err := ValidateCreditCode(got); err != nil {
				t.Errorf("ValidateCreditCode(%q) = %v", got, err)
			}
		})
	}
}

// TestCreditCodeRoundTrip builds random valid codes and checks that they
// validate and that the check character functions agree with them.
func TestCreditCodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(32100, 2015))
	pairs := strings.Fields(validCreditPairs)
	n := 5000
	if testing.Short() {
		n = 500
	}
	for range n {
		p := pairs[rng.IntN(len(pairs))]
		var region string
		if rng.IntN(10) == 0 {
			region = "100000"
		} else {
			region = randRegion(rng)
		}
		org := randString(rng, creditAlphabet, 8)
		code, err := NewCreditCode(p[0], p[1], region, org)
		if err != nil {
			t.Fatalf("NewCreditCode(%q, %q, %q, %q): %v", p[0], p[1], region, org, err)
		}
		if len(code) != 18 || code[:2] != p || code[2:8] != region || code[8:16] != org {
			t.Fatalf("NewCreditCode(%q, %q, %q, %q) = %q: parts not in place", p[0], p[1], region, org, code)
		}
		if err := ValidateCreditCode(code); err != nil {
			t.Fatalf("ValidateCreditCode(%q) = %v", code, err)
		}
		if NormalizeCreditCode(code) != code {
			t.Fatalf("NormalizeCreditCode(%q) changed a valid code", code)
		}
		if c, err := CreditCodeCheckChar(code[:17]); err != nil || c != code[17] {
			t.Fatalf("CreditCodeCheckChar(%q) = %q, %v, want %q", code[:17], c, err, code[17])
		}
		if c, err := OrgCodeCheckChar(code[8:16]); err != nil || c != code[16] {
			t.Fatalf("OrgCodeCheckChar(%q) = %q, %v, want %q", code[8:16], c, err, code[16])
		}
		if lower := strings.ToLower(code); lower != code {
			if ValidateCreditCode(lower) == nil {
				t.Fatalf("ValidateCreditCode(%q) accepted a lower-case code", lower)
			}
			if NormalizeCreditCode(lower) != code {
				t.Fatalf("NormalizeCreditCode(%q) = %q, want %q", lower, NormalizeCreditCode(lower), code)
			}
		}
	}
}

func randString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
