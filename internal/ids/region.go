package ids

// ValidateRegion reports whether s is a well-formed GB/T 2260 administrative
// division code: exactly six ASCII digits (rules "length" and "charset"), not
// "000000", whose first two digits are a province-level code and whose first
// four digits a prefecture-level code of GB/T 2260 (rule "region"). It
// returns nil or an *Error of Kind "region".
//
// Province and prefecture are checked against every edition from 1980 to
// 2019 (see prefectures), so codes of abolished prefectures, still found in
// older ID numbers, are accepted. The county digits (5-6) are checked for
// form only: counties change every year, and a table embedded in the binary
// would soon reject new ones that are perfectly valid.
func ValidateRegion(s string) error {
	if e := validateRegion(kindRegion, s); e != nil {
		return e
	}
	return nil
}

// validateRegion implements ValidateRegion, reporting failures under kind.
func validateRegion(kind, s string) *Error {
	if e := checkLength(kind, s, 6); e != nil {
		return e
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return charsetError(kind, s, i)
		}
	}
	if s == "000000" {
		return newError(kind, ruleRegion, "region code 000000 is not a region")
	}
	province := int(s[0]-'0')*1000 + int(s[1]-'0')*100
	if !prefectures[province] {
		return newError(kind, ruleRegion, "%q is not a GB/T 2260 province-level code", s[:2])
	}
	if !prefectures[province+int(s[2]-'0')*10+int(s[3]-'0')] {
		return newError(kind, ruleRegion, "%q is not a GB/T 2260 prefecture-level code", s[:4])
	}
	return nil
}
