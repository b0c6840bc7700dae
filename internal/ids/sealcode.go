package ids

import "fmt"

// Seal codes. GB/T 38540 leaves the seal identifier (esID) to the platform;
// zhengzhao makes it unique platform-wide and self-checking:
//
//	positions  1–6   administrative region code of the owning organization (GB/T 2260)
//	positions  7–24  unified social credit code of the owning organization (GB 32100)
//	positions 25–26  seal kind code, two digits
//	positions 27–29  sequence number of that kind within the organization, 001–999
//	position  30     check character
//
// The check character uses the GB 32100 scheme over 29 characters: values in
// the 31-character alphabet 0-9 A-H J-N P-R T U W-Y, weights 3^(i-1) mod 31,
// C30 = 31 − (Σ mod 31), 31 mapped to 0. Every single-character
// substitution and every adjacent transposition of differing characters is
// caught.
const (
	SealCodeLen  = 30
	kindSealCode = "seal-code"
)

func sealCheckChar(first29 string) byte {
	return mod31CheckChar(first29)
}

// NewSealCode builds the seal code of the seq-th seal of kind (two digits)
// of the organization with credit code creditCode in region.
func NewSealCode(region, creditCode string, kind, seq int) (string, error) {
	if err := ValidateRegion(region); err != nil {
		return "", err
	}
	if err := ValidateCreditCode(creditCode); err != nil {
		return "", err
	}
	if kind < 1 || kind > 99 {
		return "", newError(kindSealCode, ruleCharset, "kind code %d is not 01–99", kind)
	}
	if seq < 1 || seq > 999 {
		return "", newError(kindSealCode, ruleLength, "sequence %d is not 001–999", seq)
	}
	s := fmt.Sprintf("%s%s%02d%03d", region, creditCode, kind, seq)
	return s + string(sealCheckChar(s)), nil
}

// ValidateSealCode checks a seal code's layout and check character.
func ValidateSealCode(s string) error {
	if err := checkLength(kindSealCode, s, SealCodeLen); err != nil {
		return err
	}
	for i := 0; i < len(s); i++ {
		if creditValue[s[i]] < 0 {
			return newError(kindSealCode, ruleCharset, "character %q at position %d is not allowed", s[i], i+1)
		}
	}
	if err := ValidateRegion(s[:6]); err != nil {
		return newError(kindSealCode, ruleRegion, "positions 1–6: %v", err)
	}
	if err := ValidateCreditCode(s[6:24]); err != nil {
		return newError(kindSealCode, ruleCreditCode, "positions 7–24: %v", err)
	}
	for i := 24; i < 29; i++ {
		if s[i] < '0' || s[i] > '9' {
			return newError(kindSealCode, ruleCharset, "position %d must be a digit", i+1)
		}
	}
	if want := sealCheckChar(s[:29]); s[29] != want {
		return newError(kindSealCode, ruleCheckCharacter, "check character is %q, want %q", s[29], want)
	}
	return nil
}
