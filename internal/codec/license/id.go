package license

// The identifier's layout (docs/license-format.md, "Identifier"; the
// reference is internal/ids/licenseid.go, which this package may not
// import): positions 1-6 the type code, 7-24 the issuer's credit code,
// 25-34 a ten-digit sequence, 35 a check character. The tests check that
// both agree.
const (
	idLen          = 35
	typeCodeLen    = 6
	creditCodeLen  = 18
	seqOff         = typeCodeLen + creditCodeLen
	checkOff       = seqOff + 10
	alphabet       = "0123456789ABCDEFGHJKLMNPQRTUWXY" // GB 32100-2015
	alphabetModulo = 31
)

// value returns c's value in the GB 32100 alphabet, or -1.
func value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Y':
		for i := 10; i < alphabetModulo; i++ {
			if alphabet[i] == c {
				return i
			}
		}
	}
	return -1
}

// checkChar is the GB 32100-style check character of s, whose characters
// are all in the alphabet: weights 3^i mod 31 for offset i,
// C = 31 - (sum mod 31), 31 mapped to 0. The credit code's own check
// character (its 18th) is this over its first 17 characters, and the
// identifier's over its first 34.
func checkChar(s string) byte {
	sum, w := 0, 1
	for i := 0; i < len(s); i++ {
		sum += value(s[i]) * w
		w = w * 3 % alphabetModulo
	}
	return alphabet[(alphabetModulo-sum%alphabetModulo)%alphabetModulo]
}

// inAlphabet returns the offset of the first character of s outside the
// alphabet, or -1.
func inAlphabet(s string) int {
	for i := 0; i < len(s); i++ {
		if value(s[i]) < 0 {
			return i
		}
	}
	return -1
}

// checkID checks the identifier's layout and its check character. The
// check character covers the embedded credit code too, so any single
// changed character is caught here; the registration tables of the credit
// code are the issuing service's concern.
func checkID(field, id string) error {
	if len(id) != idLen {
		return invalid(field, "%d characters, want %d", len(id), idLen)
	}
	if i := inAlphabet(id); i >= 0 {
		return invalid(field, "character %q at position %d is not in the GB 32100 alphabet", id[i], i+1)
	}
	for i := seqOff; i < checkOff; i++ {
		if id[i] < '0' || id[i] > '9' {
			return invalid(field, "position %d of the sequence is not a digit", i+1)
		}
	}
	if id[seqOff:checkOff] == "0000000000" {
		return invalid(field, "sequence 0000000000 is not issued")
	}
	if err := checkCreditCode(field+" positions 7-24", id[typeCodeLen:seqOff]); err != nil {
		return err
	}
	if want := checkChar(id[:checkOff]); id[checkOff] != want {
		return invalid(field, "check character is %q, want %q", id[checkOff], want)
	}
	return nil
}

// checkTypeCode checks a license type code: six alphabet characters.
func checkTypeCode(field, code string) error {
	if len(code) != typeCodeLen || inAlphabet(code) >= 0 {
		return invalid(field, "%q is not %d characters of the GB 32100 alphabet", code, typeCodeLen)
	}
	return nil
}

// checkCreditCode checks a unified social credit code's alphabet and its
// check character.
func checkCreditCode(field, code string) error {
	if len(code) != creditCodeLen || inAlphabet(code) >= 0 {
		return invalid(field, "%q is not %d characters of the GB 32100 alphabet", code, creditCodeLen)
	}
	if want := checkChar(code[:creditCodeLen-1]); code[creditCodeLen-1] != want {
		return invalid(field, "credit code check character is %q, want %q", code[creditCodeLen-1], want)
	}
	return nil
}
