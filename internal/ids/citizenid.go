package ids

import "strings"

// Layout of a citizen identification number, GB 11643-1999 clause 5.1
// (positions are 1-based in the standard, offsets here are 0-based):
//
//	positions  1-6   address code          (offsets 0-5, GB/T 2260, clause 5.2)
//	positions  7-14  birth date YYYYMMDD   (offsets 6-13, clause 5.3)
//	positions 15-17  sequence code         (offsets 14-16, clause 5.4)
//	position  18     check character       (offset 17, clause 5.5)
const citizenIDLen = 18

// minBirthYear is the earliest birth year accepted. GB 11643-1999 sets no
// lower bound; the platform's floor of 1850 rejects obvious typing errors and
// still admits the standard's own example number, of a person born in 1880.
const minBirthYear = 1850

// citizenWeights are the ISO 7064:1983 MOD 11-2 weighting factors
// W_i = 2^(18-i) mod 11 for positions i = 1..17, GB 11643-1999 clause 5.5.
var citizenWeights = [citizenIDLen - 1]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// citizenCheckChars maps r = (sum of a_i * W_i) mod 11 to the check
// character, GB 11643-1999 clause 5.5 (10 is written 'X').
const citizenCheckChars = "10X98765432"

// NormalizeCitizenID returns s with leading and trailing white space removed
// and a trailing lower-case 'x' (the check character 10, GB 11643-1999
// clause 5.5) upper-cased, the form that ValidateCitizenID expects and that
// the platform stores.
func NormalizeCitizenID(s string) string {
	s = strings.TrimSpace(s)
	if n := len(s); n > 0 && s[n-1] == 'x' {
		return s[:n-1] + "X"
	}
	return s
}

// ValidateCitizenID reports whether s is a valid citizen identification
// number of GB 11643-1999 in normalized form (see NormalizeCitizenID). It
// returns nil or an *Error of Kind "citizen-id".
//
// The rules are checked in this order, and the first broken one is reported:
//
//   - "required", "length": s has 18 characters;
//   - "charset": positions 1-17 are digits and position 18 is a digit or 'X';
//   - "region": positions 1-6 (address code, clause 5.2) are a region code
//     accepted by ValidateRegion;
//   - "birth-date": positions 7-14 (clause 5.3) are a date YYYYMMDD of the
//     Gregorian calendar with a year not before 1850. The date is not
//     compared with the current date (the package reads no clock); callers
//     that need that must check it themselves;
//   - "check-character": position 18 is the ISO 7064 MOD 11-2 check
//     character of positions 1-17 (clause 5.5).
//
// Positions 15-17 (sequence code, clause 5.4) are any three digits.
// The obsolete 15-digit numbers of GB 11643-1989 are not accepted.
func ValidateCitizenID(s string) error {
	if e := validateCitizenID(s); e != nil {
		return e
	}
	return nil
}

func validateCitizenID(s string) *Error {
	if e := checkLength(kindCitizenID, s, citizenIDLen); e != nil {
		return e
	}
	if i := citizenCharsetError(s[:17]); i >= 0 {
		return charsetError(kindCitizenID, s, i)
	}
	if c := s[17]; (c < '0' || c > '9') && c != 'X' {
		return charsetError(kindCitizenID, s, 17)
	}
	if e := validateRegion(kindCitizenID, s[0:6]); e != nil {
		e.Detail = "address code: " + e.Detail
		return e
	}
	if !validBirthDate(s[6:14]) {
		return newError(kindCitizenID, ruleBirthDate,
			"birth date %s is not a calendar date in or after %d", s[6:14], minBirthYear)
	}
	if want := citizenCheckChar(s[:17]); s[17] != want {
		return newError(kindCitizenID, ruleCheckCharacter,
			"check character is %q, want %q", s[17], want)
	}
	return nil
}

// citizenCharsetError returns the offset of the first non-digit in s, or -1.
func citizenCharsetError(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return i
		}
	}
	return -1
}

// validBirthDate reports whether d, eight ASCII digits YYYYMMDD, is a date of
// the (proleptic) Gregorian calendar with a year not before minBirthYear.
func validBirthDate(d string) bool {
	year := atoi(d[0:4])
	month := atoi(d[4:6])
	day := atoi(d[6:8])
	if year < minBirthYear || month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= daysIn(year, month)
}

// daysIn returns the number of days of month (1-12) in year.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

// atoi converts a string of ASCII digits, already checked, to an int.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// citizenCheckChar computes the GB 11643-1999 clause 5.5 check character of
// first17, which must be 17 ASCII digits.
func citizenCheckChar(first17 string) byte {
	sum := 0
	for i, w := range citizenWeights {
		sum += int(first17[i]-'0') * w
	}
	return citizenCheckChars[sum%11]
}

// CitizenIDCheckChar returns the GB 11643-1999 check character (position 18,
// clause 5.5, ISO 7064 MOD 11-2: '0'-'9' or 'X') for the first 17 characters
// of a citizen identification number. first17 must be 17 ASCII digits
// (rules "required", "length" and "charset"); the region and birth date are
// not checked here, ValidateCitizenID does that.
func CitizenIDCheckChar(first17 string) (byte, error) {
	if e := checkLength(kindCitizenID, first17, citizenIDLen-1); e != nil {
		return 0, e
	}
	if i := citizenCharsetError(first17); i >= 0 {
		return 0, charsetError(kindCitizenID, first17, i)
	}
	return citizenCheckChar(first17), nil
}
