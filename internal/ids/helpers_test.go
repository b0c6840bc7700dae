package ids

import (
	"errors"
	"testing"
)

// allRules is every rule name of the package contract.
var allRules = []string{
	ruleRequired, ruleLength, ruleCharset, ruleRegistrationAuthority, ruleCategory,
	ruleRegion, ruleOrgCodeCheckCharacter, ruleCheckCharacter, ruleBirthDate,
	ruleCreditCode, ruleSequence, rulePattern, ruleRange,
}

// The assertions return nothing; asError and ruleError run them and also
// return the *Error for tests that look further. Kept apart so that a caller
// discarding that *Error does not look like one ignoring a failure.

// checkError asserts that err is an *Error of the given kind, reachable with
// errors.As, with a known rule and a non-empty detail.
func checkError(t testing.TB, err error, kind string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Kind != kind {
		t.Errorf("Kind = %q, want %q (error %v)", e.Kind, kind, e)
	}
	known := false
	for _, r := range allRules {
		known = known || e.Rule == r
	}
	if !known {
		t.Errorf("Rule = %q is not one of %q", e.Rule, allRules)
	}
	if e.Detail == "" {
		t.Errorf("Detail is empty (error %v)", e)
	}
}

// asError is checkError returning the *Error.
func asError(t testing.TB, err error, kind string) *Error {
	t.Helper()
	checkError(t, err, kind)
	var e *Error
	errors.As(err, &e)
	return e
}

// checkRule asserts that err is nil if rule is empty and otherwise an *Error
// of the given kind and rule.
func checkRule(t testing.TB, err error, kind, rule string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("error = nil, want rule %q", rule)
	}
	e := asError(t, err, kind)
	if e.Rule != rule {
		t.Errorf("Rule = %q, want %q (error %v)", e.Rule, rule, e)
	}
}

// ruleError is checkRule returning the *Error, nil if rule is empty.
func ruleError(t testing.TB, err error, kind, rule string) *Error {
	t.Helper()
	checkRule(t, err, kind, rule)
	var e *Error
	errors.As(err, &e)
	return e
}

// setByte returns s with the byte at offset i replaced by c.
func setByte(s string, i int, c byte) string {
	b := []byte(s)
	b[i] = c
	return string(b)
}

// swap returns s with the bytes at offsets i and j exchanged.
func swap(s string, i, j int) string {
	b := []byte(s)
	b[i], b[j] = b[j], b[i]
	return string(b)
}

func TestErrorString(t *testing.T) {
	e := &Error{Kind: "credit-code", Rule: "check-character", Detail: "check character is 'X', want '3'"}
	const want = "invalid credit-code (check-character): check character is 'X', want '3'"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestValidatorsReturnUntypedNil guards against returning a typed nil
// pointer in the error interface, which would make err != nil.
func TestValidatorsReturnUntypedNil(t *testing.T) {
	for name, err := range map[string]error{
		"ValidateCreditCode": ValidateCreditCode("91350100M000100Y43"),
		"ValidateCitizenID":  ValidateCitizenID("11010519491231002X"),
		"ValidateRegion":     ValidateRegion("110105"),
	} {
		if err != nil {
			t.Errorf("%s: error = %#v, want untyped nil", name, err)
		}
	}
}

// TestEveryRuleIsProduced checks that each rule name of the contract is
// reachable through the exported API, and that errors.As finds it.
func TestEveryRuleIsProduced(t *testing.T) {
	cases := []struct {
		rule string
		err  error
	}{
		{ruleRequired, ValidateCreditCode("")},
		{ruleLength, ValidateCitizenID("1101051949123100")},
		{ruleCharset, ValidateRegion("11010a")},
		{ruleRegistrationAuthority, ValidateCreditCode("01350100M000100Y43")},
		{ruleCategory, ValidateCreditCode("94350100M000100Y43")},
		{ruleRegion, ValidateRegion("990000")},
		{ruleOrgCodeCheckCharacter, ValidateCreditCode("91350100M000100Y53")},
		{ruleCheckCharacter, ValidateCreditCode("91350100M000100Y4X")},
		{ruleBirthDate, ValidateCitizenID("110105194902300000")},
		{ruleCreditCode, ValidateLicenseID("BL000191350100M000100Y440000000001F")},
		{ruleSequence, ValidateLicenseID("BL000191350100M000100Y430000000000G")},
		{rulePattern, NumberingRule("{seq}").Validate()},
		{ruleRange, func() error { _, err := Format("{year}{seq:2}", "", 99, 1); return err }()},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		var e *Error
		if !errors.As(c.err, &e) {
			t.Errorf("rule %q: error %v is not an *Error", c.rule, c.err)
			continue
		}
		if e.Rule != c.rule {
			t.Errorf("Rule = %q, want %q (error %v)", e.Rule, c.rule, e)
		}
		seen[e.Rule] = true
	}
	for _, r := range allRules {
		if !seen[r] {
			t.Errorf("rule %q never produced", r)
		}
	}
}

func TestCheckLengthNonASCII(t *testing.T) {
	tests := []struct {
		name, in  string
		want      int
		rule, det string
	}{
		{"empty", "", 6, ruleRequired, "value is empty"},
		{"short", "12345", 6, ruleLength, "length is 5 characters, want 6"},
		{"long runes", "1234567", 6, ruleLength, "length is 7 characters, want 6"},
		{"full-width digit", "11010５", 6, ruleCharset, "character '５' at position 6 is not allowed"},
		{"han character", "1中1010", 6, ruleCharset, "character '中' at position 2 is not allowed"},
		{"invalid UTF-8 of the right byte length is left to the charset check", "11\xff\xfe10", 6, "", ""},
		{"exact", "110105", 6, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := checkLength(kindRegion, tt.in, tt.want)
			if tt.rule == "" {
				if e != nil {
					t.Fatalf("checkLength(%q) = %v, want nil", tt.in, e)
				}
				return
			}
			if e == nil {
				t.Fatalf("checkLength(%q) = nil, want rule %q", tt.in, tt.rule)
			}
			if e.Rule != tt.rule || e.Detail != tt.det {
				t.Errorf("checkLength(%q) = (%q, %q), want (%q, %q)", tt.in, e.Rule, e.Detail, tt.rule, tt.det)
			}
		})
	}
}
