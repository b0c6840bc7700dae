package ids

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// knownCitizenIDs are valid citizen identification numbers. Weights
// W1..W17: 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; check = "10X98765432"[sum mod 11].
var knownCitizenIDs = []string{
	// The GB 11643-1999 example (Beijing Chaoyang, born 1949-12-31, sequence 002):
	// 1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9
	//   + 3*10 + 1*5 + 0*8 + 0*4 + 2*2
	//   = 7+9+5+20+2+9+24+27+7+18+30+5+4 = 167; 167 mod 11 = 2 -> 'X'.
	"11010519491231002X",
	// The second GB 11643-1999 example (born 1880-01-01):
	// 4*7 + 4*9 + 0*10 + 5*5 + 2*8 + 4*4 + 1*2 + 8*1 + 8*6 + 0*3 + 0*7 + 1*9
	//   + 0*10 + 1*5 + 0*8 + 0*4 + 1*2
	//   = 28+36+25+16+16+2+8+48+9+5+2 = 195; 195 mod 11 = 8 -> '4'.
	"440524188001010014",
	// Built for the tests: leap day of a year divisible by 400.
	// 1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 2*2 + 0*1 + 0*6 + 0*3 + 0*7 + 2*9
	//   + 2*10 + 9*5 + 1*8 + 2*4 + 3*2
	//   = 7+9+5+20+4+18+20+45+8+8+6 = 150; 150 mod 11 = 7 -> '5'.
	"110105200002291235",
}

func TestCitizenIDTables(t *testing.T) {
	// ISO 7064 MOD 11-2: W_i = 2^(18-i) mod 11.
	for i := range citizenWeights {
		w := 1
		for range 17 - i {
			w = w * 2 % 11
		}
		if citizenWeights[i] != w {
			t.Errorf("citizenWeights[%d] = %d, want 2^%d mod 11 = %d", i, citizenWeights[i], 17-i, w)
		}
	}
	// The check value a18 (X = 10) makes the whole weighted sum, with weight
	// 1 for position 18, congruent to 1 mod 11.
	for r := 0; r < 11; r++ {
		c := citizenCheckChars[r]
		v := int(c - '0')
		if c == 'X' {
			v = 10
		}
		if (r+v)%11 != 1 {
			t.Errorf("check character for r=%d is %q: (r + %d) mod 11 = %d, want 1", r, c, v, (r+v)%11)
		}
	}
}

func TestValidateCitizenIDKnownGood(t *testing.T) {
	for _, id := range knownCitizenIDs {
		if err := ValidateCitizenID(id); err != nil {
			t.Errorf("ValidateCitizenID(%q) = %v, want nil", id, err)
		}
		if c, err := CitizenIDCheckChar(id[:17]); err != nil || c != id[17] {
			t.Errorf("CitizenIDCheckChar(%q) = %q, %v, want %q", id[:17], c, err, id[17])
		}
	}
}

func TestValidateCitizenIDRules(t *testing.T) {
	const good = "11010519491231002X"
	// withDate returns a valid number (correct check character) with the
	// given birth date, so that only the date can be wrong.
	withDate := func(date string) string {
		first17 := good[:6] + date + good[14:17]
		c, err := CitizenIDCheckChar(first17)
		if err != nil {
			t.Fatalf("CitizenIDCheckChar(%q): %v", first17, err)
		}
		return first17 + string(c)
	}
	withRegion := func(region string) string {
		first17 := region + good[6:17]
		c, _ := CitizenIDCheckChar(first17)
		return first17 + string(c)
	}
	tests := []struct {
		name         string
		in           string
		rule, detail string
	}{
		{"valid", good, "", ""},
		{"empty", "", ruleRequired, "value is empty"},
		{"17 characters", good[:17], ruleLength, "length is 17 characters, want 18"},
		{"19 characters", good + "1", ruleLength, ""},
		{"obsolete 15 digits", "110105491231002", ruleLength, "length is 15 characters, want 18"},
		{"not normalized: space", good + " ", ruleLength, ""},
		{"not normalized: lower-case x", "11010519491231002x", ruleCharset, "character 'x' at position 18 is not allowed"},
		{"X before position 18", "1101051949123100X2", ruleCharset, "character 'X' at position 17 is not allowed"},
		{"letter", "11010519491231A02X", ruleCharset, ""},
		{"hyphen", "110105-9491231002X", ruleCharset, ""},
		{"full-width digit", "１1010519491231002X", ruleCharset, "character '１' at position 1 is not allowed"},
		{"region 000000", withRegion("000000"), ruleRegion, ""},
		{"region province 99", withRegion("990105"), ruleRegion, "address code: \"99\" is not a GB/T 2260 province-level code"},
		{"region 100000 is for credit codes only", withRegion("100000"), ruleRegion, ""},
		{"year 1849", withDate("18491231"), ruleBirthDate, "birth date 18491231 is not a calendar date in or after 1850"},
		{"year 0000", withDate("00000101"), ruleBirthDate, ""},
		{"year 1850", withDate("18500101"), "", ""},
		{"far future accepted (no clock)", withDate("29991231"), "", ""},
		{"month 00", withDate("19490031"), ruleBirthDate, ""},
		{"month 13", withDate("19491331"), ruleBirthDate, ""},
		{"day 00", withDate("19491200"), ruleBirthDate, ""},
		{"day 32", withDate("19490132"), ruleBirthDate, ""},
		{"April 31", withDate("19490431"), ruleBirthDate, ""},
		{"April 30", withDate("19490430"), "", ""},
		{"June 31", withDate("19490631"), ruleBirthDate, ""},
		{"September 31", withDate("19490931"), ruleBirthDate, ""},
		{"November 31", withDate("19491131"), ruleBirthDate, ""},
		{"December 31", withDate("19491231"), "", ""},
		{"February 29 common year", withDate("19490229"), ruleBirthDate, ""},
		{"February 29 leap year", withDate("19480229"), "", ""},
		{"February 29 1900 (not leap)", withDate("19000229"), ruleBirthDate, ""},
		{"February 29 2000 (leap)", withDate("20000229"), "", ""},
		{"February 29 2100 (not leap)", withDate("21000229"), ruleBirthDate, ""},
		{"February 30 leap year", withDate("20000230"), ruleBirthDate, ""},
		{"check character", "110105194912310021", ruleCheckCharacter, "check character is '1', want 'X'"},
		{"check character X", "44052418800101001X", ruleCheckCharacter, "check character is 'X', want '4'"},
		// Order of checks: the first broken rule is reported.
		{"order: length before charset", "abc", ruleLength, ""},
		{"order: charset before region", "00010519491231002x", ruleCharset, ""},
		{"order: region before birth date", "000105194913310021", ruleRegion, ""},
		{"order: birth date before check character", "110105194913310021", ruleBirthDate, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ruleError(t, ValidateCitizenID(tt.in), kindCitizenID, tt.rule)
			if e != nil && tt.detail != "" && e.Detail != tt.detail {
				t.Errorf("Detail = %q, want %q", e.Detail, tt.detail)
			}
		})
	}
}

// testCitizenIDs returns the known numbers plus random valid ones.
func testCitizenIDs(t testing.TB, n int) []string {
	t.Helper()
	ids := append([]string(nil), knownCitizenIDs...)
	rng := rand.New(rand.NewPCG(11643, 1999))
	for range n {
		ids = append(ids, randCitizenID(t, rng))
	}
	return ids
}

// randCitizenID builds a random valid citizen identification number.
func randCitizenID(t testing.TB, rng *rand.Rand) string {
	t.Helper()
	year := 1850 + rng.IntN(200)
	month := 1 + rng.IntN(12)
	day := 1 + rng.IntN(daysIn(year, month))
	first17 := fmt.Sprintf("%s%04d%02d%02d%03d", randRegion(rng), year, month, day, rng.IntN(1000))
	c, err := CitizenIDCheckChar(first17)
	if err != nil {
		t.Fatalf("CitizenIDCheckChar(%q): %v", first17, err)
	}
	return first17 + string(c)
}

// TestCitizenIDSingleSubstitution replaces every position with every other
// byte value and asserts rejection. ISO 7064 MOD 11-2 guarantees this for
// digits: the weighted sum changes by (d'-d)*W_i with 0 < |d'-d| <= 10 and
// W_i = 2^(18-i) not a multiple of the prime 11, hence never by 0 mod 11.
func TestCitizenIDSingleSubstitution(t *testing.T) {
	for _, id := range testCitizenIDs(t, 50) {
		for i := 0; i < len(id); i++ {
			for b := 0; b < 256; b++ {
				c := byte(b)
				if c == id[i] {
					continue
				}
				s := setByte(id, i, c)
				err := ValidateCitizenID(s)
				if err == nil {
					t.Fatalf("ValidateCitizenID(%q) = nil (position %d %q -> %q), want an error", s, i+1, id[i], c)
				}
				e := asError(t, err, kindCitizenID)
				var allowed []string
				switch {
				case c < '0' || c > '9':
					if i == 17 && c == 'X' {
						allowed = []string{ruleCheckCharacter}
					} else {
						allowed = []string{ruleCharset}
					}
				case i < 6:
					allowed = []string{ruleRegion, ruleCheckCharacter}
				case i < 14:
					allowed = []string{ruleBirthDate, ruleCheckCharacter}
				default:
					allowed = []string{ruleCheckCharacter}
				}
				if !contains(allowed, e.Rule) {
					t.Errorf("ValidateCitizenID(%q) rule = %q, want one of %q", s, e.Rule, allowed)
				}
			}
		}
	}
}

// TestCitizenIDAdjacentTransposition swaps every pair of adjacent, differing
// characters and asserts rejection. ISO 7064 MOD 11-2 guarantees this: with
// W_i = 2*W_(i+1) mod 11 (and W_18 = 1), swapping a and b at positions i and
// i+1 changes the full weighted sum by (a-b)*(W_i - W_(i+1)) = (a-b)*W_(i+1),
// which is not 0 mod 11. A swap that moves 'X' away from position 18 fails
// the charset rule.
func TestCitizenIDAdjacentTransposition(t *testing.T) {
	for _, id := range testCitizenIDs(t, 2000) {
		for i := 0; i+1 < len(id); i++ {
			if id[i] == id[i+1] {
				continue
			}
			s := swap(id, i, i+1)
			if err := ValidateCitizenID(s); err == nil {
				t.Fatalf("ValidateCitizenID(%q) = nil (positions %d and %d of %q swapped), want an error", s, i+1, i+2, id)
			} else {
				checkError(t, err, kindCitizenID)
			}
		}
	}
}

// TestCitizenIDCheckCharIsUnique asserts that exactly one of the eleven
// possible final characters is accepted.
func TestCitizenIDCheckCharIsUnique(t *testing.T) {
	for _, id := range testCitizenIDs(t, 200) {
		accepted := 0
		for _, c := range "0123456789X" {
			s := id[:17] + string(c)
			err := ValidateCitizenID(s)
			if err == nil {
				accepted++
				if s != id {
					t.Errorf("ValidateCitizenID(%q) = nil, but %q is the valid number", s, id)
				}
			} else {
				checkRule(t, err, kindCitizenID, ruleCheckCharacter)
			}
		}
		if accepted != 1 {
			t.Errorf("%d final characters accepted after %q, want 1", accepted, id[:17])
		}
	}
}

func TestNormalizeCitizenID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"11010519491231002X", "11010519491231002X"},
		{"11010519491231002x", "11010519491231002X"},
		{" \t11010519491231002x\n", "11010519491231002X"},
		{"\u3000440524188001010014\u3000", "440524188001010014"},
		{"1101051949123100x2", "1101051949123100x2"}, // only a trailing x
		{"x", "X"},
		{"", ""},
		{"  ", ""},
	}
	for _, tt := range tests {
		if got := NormalizeCitizenID(tt.in); got != tt.want {
			t.Errorf("NormalizeCitizenID(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := NormalizeCitizenID(tt.want); got != tt.want {
			t.Errorf("NormalizeCitizenID(%q) = %q, not idempotent", tt.want, got)
		}
	}
}

func TestCitizenIDCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		rule string
	}{
		{"11010519491231002", 'X', ""},
		{"44052418800101001", '4', ""},
		{"00000000000000000", '1', ""}, // r = 0 -> '1'; region and date are not checked here
		{"", 0, ruleRequired},
		{"1101051949123100", 0, ruleLength},
		{"11010519491231002X", 0, ruleLength},
		{"1101051949123100X", 0, ruleCharset},
		{"1101051949123100a", 0, ruleCharset},
	}
	for _, tt := range tests {
		got, err := CitizenIDCheckChar(tt.in)
		checkRule(t, err, kindCitizenID, tt.rule)
		if got != tt.want {
			t.Errorf("CitizenIDCheckChar(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCitizenIDRoundTrip checks random valid numbers.
func TestCitizenIDRoundTrip(t *testing.T) {
	for _, id := range testCitizenIDs(t, 5000) {
		if err := ValidateCitizenID(id); err != nil {
			t.Fatalf("ValidateCitizenID(%q) = %v", id, err)
		}
		if NormalizeCitizenID(id) != id {
			t.Fatalf("NormalizeCitizenID(%q) changed a valid number", id)
		}
		if id[17] == 'X' {
			lower := id[:17] + "x"
			if ValidateCitizenID(lower) == nil {
				t.Fatalf("ValidateCitizenID(%q) accepted a lower-case x", lower)
			}
			if got := NormalizeCitizenID(lower); got != id {
				t.Fatalf("NormalizeCitizenID(%q) = %q, want %q", lower, got, id)
			}
		}
	}
}
