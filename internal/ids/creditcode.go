package ids

import "strings"

// Layout of a unified social credit code, GB 32100-2015 code structure
// (positions are 1-based in the standard, offsets here are 0-based):
//
//	position  1      registration authority code  (offset 0)
//	position  2      organization category code   (offset 1)
//	positions 3-8    registration region code     (offsets 2-7, GB/T 2260)
//	positions 9-17   organization code            (offsets 8-16, GB 11714)
//	position  18     check character              (offset 17, GB/T 17710)
const (
	creditCodeLen = 18
	orgBodyLen    = 8
)

// centralRegion is the region code used in credit codes issued by
// central-level registration authorities; it is not a GB/T 2260 code.
const centralRegion = "100000"

// creditAlphabet is the GB 32100-2015 character set: the ten digits and the
// upper-case Latin letters except I, O, Z, S and V (which are too easily
// confused with 1, 0, 2, 5 and U). The index of a character is its value in
// the check character computation.
const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditValue maps a byte to its GB 32100-2015 character value, or -1 when
// the byte is not in creditAlphabet. It is computed once and never written.
var creditValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(creditAlphabet); i++ {
		t[creditAlphabet[i]] = int8(i)
	}
	return t
}()

// creditWeights are the GB 32100-2015 check character weighting factors
// W_i = 3^(i-1) mod 31 for positions i = 1..17.
var creditWeights = [creditCodeLen - 1]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// creditCategories lists, for each registration authority code of
// GB 32100-2015 (position 1), the organization category codes (position 2)
// defined under it. An authority code absent from the table is invalid.
//
//	1 staffing administration   11 organ, 12 public institution,
//	                            13 mass organization, 19 other
//	2 foreign affairs           21, 29
//	3 judicial administration   31 law firm, 32 notary office,
//	                            33 legal service office, 34 forensic
//	                            appraisal, 35 arbitration commission, 39
//	4 culture                   41, 49
//	5 civil affairs             51 social organization, 52 private
//	                            non-enterprise unit, 53 foundation, 59
//	6 tourism                   61, 62, 69
//	7 religious affairs         71, 72, 79
//	8 trade unions              81, 89
//	9 market regulation         91 enterprise, 92 individual business,
//	                            93 farmers' cooperative
//	A military staffing         A1, A9
//	N agriculture               N1, N2, N3, N9
//	Y other                     Y1
var creditCategories = [256]string{
	'1': "1239",
	'2': "19",
	'3': "123459",
	'4': "19",
	'5': "1239",
	'6': "129",
	'7': "129",
	'8': "19",
	'9': "123",
	'A': "19",
	'N': "1239",
	'Y': "1",
}

// orgWeights are the GB 11714-1997 check character weighting factors for the
// eight body characters of an organization code.
var orgWeights = [orgBodyLen]int{3, 7, 9, 10, 5, 8, 4, 2}

// NormalizeCreditCode returns s with leading and trailing white space removed
// and letters upper-cased, the form that ValidateCreditCode expects and that
// the platform stores. It does not otherwise repair the input.
func NormalizeCreditCode(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= 0x80 {
			return strings.ToUpper(s)
		}
	}
	return s
}

// ValidateCreditCode reports whether s is a valid unified social credit code
// of GB 32100-2015 in normalized form (18 characters, upper case; see
// NormalizeCreditCode). It returns nil or an *Error of Kind "credit-code".
//
// The rules are checked in this order, and the first broken one is reported:
//
//   - "required", "length": s has 18 characters;
//   - "charset": every character is in the GB 32100-2015 character set, the
//     digits and the upper-case letters except I, O, Z, S and V;
//   - "registration-authority": position 1 is a registration authority code
//     (1-9, A, N or Y);
//   - "category": position 2 is an organization category code defined under
//     that authority;
//   - "region": positions 3-8 are a region code accepted by ValidateRegion,
//     or 100000 (central-level registration);
//   - "org-code-check-character": position 17 is the GB 11714 check
//     character of positions 9-16;
//   - "check-character": position 18 is the GB 32100-2015 check character of
//     positions 1-17.
func ValidateCreditCode(s string) error {
	if e := validateCreditCode(s); e != nil {
		return e
	}
	return nil
}

func validateCreditCode(s string) *Error {
	if e := checkLength(kindCreditCode, s, creditCodeLen); e != nil {
		return e
	}
	for i := 0; i < len(s); i++ {
		if creditValue[s[i]] < 0 {
			return charsetError(kindCreditCode, s, i)
		}
	}
	if e := checkAuthorityCategory(s[0], s[1]); e != nil {
		return e
	}
	if e := checkCreditRegion(s[2:8]); e != nil {
		return e
	}
	if want := orgCheckChar(s[8:16]); s[16] != want {
		return newError(kindCreditCode, ruleOrgCodeCheckCharacter,
			"organization code check character is %q, want %q", s[16], want)
	}
	if want := creditCheckChar(s[:17]); s[17] != want {
		return newError(kindCreditCode, ruleCheckCharacter,
			"check character is %q, want %q", s[17], want)
	}
	return nil
}

// checkAuthorityCategory checks positions 1 and 2 of a credit code.
func checkAuthorityCategory(authority, category byte) *Error {
	categories := creditCategories[authority]
	if categories == "" {
		return newError(kindCreditCode, ruleRegistrationAuthority,
			"registration authority code %q is not defined", rune(authority))
	}
	if strings.IndexByte(categories, category) < 0 {
		return newError(kindCreditCode, ruleCategory,
			"organization category code %q is not defined for registration authority %q",
			rune(category), rune(authority))
	}
	return nil
}

// checkCreditRegion checks positions 3-8 of a credit code; every failure is
// reported under the rule "region".
func checkCreditRegion(region string) *Error {
	if region == centralRegion {
		return nil
	}
	if e := validateRegion(kindCreditCode, region); e != nil {
		e.Rule = ruleRegion
		e.Detail = "registration region: " + e.Detail
		return e
	}
	return nil
}

// creditCheckChar computes the GB 32100-2015 check character of first17,
// which must be 17 characters of creditAlphabet:
// C18 = 31 - (sum of value_i * W_i mod 31), with 31 mapped to 0.
func creditCheckChar(first17 string) byte {
	sum := 0
	for i, w := range creditWeights {
		sum += int(creditValue[first17[i]]) * w
	}
	return creditAlphabet[(31-sum%31)%31]
}

// orgValue returns the GB 11714 value of an organization code character:
// digits are 0-9 and letters A-Z are 10-35; other bytes yield -1.
func orgValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// orgCheckChar computes the GB 11714 check character of body8, which must be
// eight digits or upper-case letters: C = 11 - (sum of value_i * W_i mod 11),
// where C = 10 is written 'X' and C = 11 is written '0'.
func orgCheckChar(body8 string) byte {
	sum := 0
	for i, w := range orgWeights {
		sum += orgValue(body8[i]) * w
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// CreditCodeCheckChar returns the GB 32100-2015 check character (position 18)
// for the first 17 characters of a unified social credit code. first17 must
// be 17 characters of the GB 32100-2015 character set (rules "required",
// "length" and "charset"); the structural rules (authority, category, region,
// organization code) are not checked here, ValidateCreditCode does that.
func CreditCodeCheckChar(first17 string) (byte, error) {
	if e := checkLength(kindCreditCode, first17, creditCodeLen-1); e != nil {
		return 0, e
	}
	for i := 0; i < len(first17); i++ {
		if creditValue[first17[i]] < 0 {
			return 0, charsetError(kindCreditCode, first17, i)
		}
	}
	return creditCheckChar(first17), nil
}

// OrgCodeCheckChar returns the GB 11714-1997 check character ('0'-'9' or 'X')
// of the eight body characters of an organization code, which must be digits
// or upper-case letters (rules "required", "length" and "charset"; errors
// have Kind "credit-code"). GB 11714 allows all 26 letters in the body; inside
// a credit code the narrower GB 32100-2015 character set applies as well.
func OrgCodeCheckChar(body8 string) (byte, error) {
	if e := checkLength(kindCreditCode, body8, orgBodyLen); e != nil {
		return 0, e
	}
	for i := 0; i < len(body8); i++ {
		if orgValue(body8[i]) < 0 {
			return 0, charsetError(kindCreditCode, body8, i)
		}
	}
	return orgCheckChar(body8), nil
}

// NewCreditCode builds a complete unified social credit code of GB 32100-2015
// from its parts, computing the organization code check character
// (position 17, GB 11714) and the check character (position 18). authority
// and category are positions 1 and 2, region positions 3-8 (a code accepted
// by ValidateRegion, or 100000) and orgBody8 positions 9-16, which must be
// eight characters of the GB 32100-2015 character set. All parts must be in
// normalized (upper-case) form. It returns an *Error naming the first invalid
// part, with the same rules as ValidateCreditCode ("length" and "charset"
// refer to orgBody8).
func NewCreditCode(authority, category byte, region, orgBody8 string) (string, error) {
	if e := checkAuthorityCategory(authority, category); e != nil {
		return "", e
	}
	if e := checkCreditRegion(region); e != nil {
		return "", e
	}
	if e := checkLength(kindCreditCode, orgBody8, orgBodyLen); e != nil {
		e.Detail = "organization code: " + e.Detail
		return "", e
	}
	for i := 0; i < len(orgBody8); i++ {
		if creditValue[orgBody8[i]] < 0 {
			e := charsetError(kindCreditCode, orgBody8, i)
			e.Detail = "organization code: " + e.Detail
			return "", e
		}
	}
	var b [creditCodeLen]byte
	b[0], b[1] = authority, category
	copy(b[2:8], region)
	copy(b[8:16], orgBody8)
	b[16] = orgCheckChar(orgBody8)
	b[17] = creditCheckChar(string(b[:17]))
	return string(b[:]), nil
}
