package ids

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// validProvinces is the list of GB/T 2260 province-level codes as given in
// the specification, kept independent of the provinces table.
const validProvinces = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82"

func TestValidateRegion(t *testing.T) {
	tests := []struct {
		name, in     string
		rule, detail string
	}{
		{"Beijing", "110000", "", ""},
		{"Beijing Chaoyang district", "110105", "", ""},
		{"Fuzhou", "350100", "", ""},
		{"Xinjiang", "650102", "", ""},
		{"Taiwan", "710000", "", ""},
		{"Hong Kong", "810000", "", ""},
		{"Macao", "820000", "", ""},
		{"Beijing, prefecture level 1101", "110100", "", ""},
		{"county-level city a province administers", "429004", "", ""},
		{"abolished prefecture (Laiwu, 2019)", "371202", "", ""},
		{"county not checked", "110199", "", ""},
		{"unknown prefecture", "119901", ruleRegion, "\"1199\" is not a GB/T 2260 prefecture-level code"},
		{"unknown prefecture of Fujian", "355001", ruleRegion, ""},
		{"empty", "", ruleRequired, "value is empty"},
		{"five digits", "11010", ruleLength, "length is 5 characters, want 6"},
		{"seven digits", "1101050", ruleLength, ""},
		{"surrounding space", " 110105", ruleLength, ""},
		{"letter", "11010a", ruleCharset, "character 'a' at position 6 is not allowed"},
		{"sign", "+11010", ruleCharset, ""},
		{"full-width digit", "11010５", ruleCharset, "character '５' at position 6 is not allowed"},
		{"invalid UTF-8", "11\xff101", ruleCharset, "byte 0xff at position 3 is not valid UTF-8"},
		{"all zeros", "000000", ruleRegion, "region code 000000 is not a region"},
		{"central 100000 is not a GB/T 2260 code", "100000", ruleRegion, "\"10\" is not a GB/T 2260 province-level code"},
		{"province 16", "160000", ruleRegion, ""},
		{"province 66", "660000", ruleRegion, ""},
		{"province 83", "830000", ruleRegion, ""},
		{"province 99", "990000", ruleRegion, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ruleError(t, ValidateRegion(tt.in), kindRegion, tt.rule)
			if e != nil && tt.detail != "" && e.Detail != tt.detail {
				t.Errorf("Detail = %q, want %q", e.Detail, tt.detail)
			}
		})
	}
}

// TestValidateRegionProvinces checks every province code against the list.
func TestValidateRegionProvinces(t *testing.T) {
	valid := map[string]bool{}
	for _, p := range strings.Fields(validProvinces) {
		valid[p] = true
	}
	if len(valid) != 34 {
		t.Fatalf("validProvinces has %d codes, want 34", len(valid))
	}
	for p := 0; p < 100; p++ {
		prefix := fmt.Sprintf("%02d", p)
		err := ValidateRegion(prefix + "0000")
		if valid[prefix] {
			if err != nil {
				t.Errorf("ValidateRegion(%q) = %v, want nil", prefix+"0000", err)
			}
		} else {
			checkRule(t, err, kindRegion, ruleRegion)
		}
	}
}

// randRegion returns a random valid region code: a known prefecture prefix
// and any county digits.
func randRegion(rng *rand.Rand) string {
	var known []int
	for p, ok := range prefectures {
		if ok {
			known = append(known, p)
		}
	}
	return fmt.Sprintf("%04d%02d", known[rng.IntN(len(known))], rng.IntN(100))
}
