package ids

// provinces marks the GB/T 2260 province-level codes (the first two digits of
// a region code): the 22 provinces, 5 autonomous regions and 4 municipalities
// of the mainland, Taiwan (71), Hong Kong (81) and Macao (82).
var provinces = [100]bool{
	11: true, 12: true, 13: true, 14: true, 15: true,
	21: true, 22: true, 23: true,
	31: true, 32: true, 33: true, 34: true, 35: true, 36: true, 37: true,
	41: true, 42: true, 43: true, 44: true, 45: true, 46: true,
	50: true, 51: true, 52: true, 53: true, 54: true,
	61: true, 62: true, 63: true, 64: true, 65: true,
	71: true, 81: true, 82: true,
}

// ValidateRegion reports whether s is a well-formed GB/T 2260 administrative
// division code: exactly six ASCII digits (rules "length" and "charset"), not
// "000000", whose first two digits are a province-level code of GB/T 2260
// (rule "region"). It returns nil or an *Error of Kind "region".
//
// Only the province level is checked. Prefecture and county codes
// (digits 3-6) change every year and the full county table of GB/T 2260 is
// out of scope of this package, so a syntactically valid code for a county
// that does not exist is accepted.
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
	if !provinces[int(s[0]-'0')*10+int(s[1]-'0')] {
		return newError(kind, ruleRegion, "%q is not a GB/T 2260 province-level code", s[:2])
	}
	return nil
}
