package ids

// License identifiers. Every license the platform issues carries one
// platform-wide identifier, in the style of GB/T 36904-2018 (a type code,
// the issuing organization's code, a sequence and a check character). The
// layout is fixed-length so that the parts are found by position, never by
// separators (positions are 1-based, offsets 0-based):
//
//	positions  1-6   license type code      (offsets 0-5)   6 characters of the GB 32100 alphabet
//	positions  7-24  issuer credit code     (offsets 6-23)  a valid GB 32100-2015 code
//	positions 25-34  sequence               (offsets 24-33) 10 digits, 0000000001-9999999999
//	position  35     check character        (offset 34)     GB 32100-style weighted mod 31
//
// Every character is from the 31-character GB 32100 alphabet (digits and
// upper-case letters without I, O, Z, S, V), so the identifier can be read
// aloud and retyped without the confusions 0/O, 1/I, 2/Z, 5/S and U/V. The
// check character is computed as for the credit code and the seal code:
// values are the indexes in that alphabet, weights W_i = 3^(i-1) mod 31 for
// i = 1..34, C35 = 31 - (sum mod 31), 31 mapped to 0. The modulus 31 is
// prime and 3 is a primitive root of it, so every weight is non-zero and
// W_(i+1) - W_i = 2*W_i is non-zero too: every single-character
// substitution and every transposition of two adjacent differing characters
// is detected. ISO 7064 MOD 37,36 would catch the same errors but over
// 0-9 A-Z, whose confusable letters the embedded credit code already
// excludes; one alphabet and one algorithm for every identifier of the
// platform is simpler to implement, document and check by hand.
//
// The check character covers the whole identifier, the embedded credit
// code with its own two check characters included, so the identifier is
// self-checking even for a reader that does not know GB 32100.
const (
	// LicenseIDLen is the length of a license identifier.
	LicenseIDLen = 35
	// LicenseTypeCodeLen is the length of a license type code.
	LicenseTypeCodeLen = 6
	// LicenseSeqDigits is the number of digits of the sequence.
	LicenseSeqDigits = 10
	// MaxLicenseSeq is the largest sequence a license identifier can hold.
	MaxLicenseSeq = 9_999_999_999

	kindLicenseID       = "license-id"
	kindLicenseTypeCode = "license-type-code"

	licenseIssuerOff = LicenseTypeCodeLen
	licenseSeqOff    = licenseIssuerOff + creditCodeLen
	licenseCheckOff  = licenseSeqOff + LicenseSeqDigits
)

// mod31Weights are 3^i mod 31 for i = 0..29; 3 has order 30 modulo 31, so
// the weight of offset i is mod31Weights[i%30].
var mod31Weights = func() (w [30]int) {
	v := 1
	for i := range w {
		w[i] = v
		v = v * 3 % 31
	}
	return w
}()

// mod31CheckChar computes the GB 32100-style check character of s, which
// must consist of characters of creditAlphabet: weights 3^i mod 31 for
// offset i, C = 31 - (sum mod 31), 31 mapped to 0.
func mod31CheckChar[T string | []byte](s T) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += int(creditValue[s[i]]) * mod31Weights[i%30]
	}
	return creditAlphabet[(31-sum%31)%31]
}

// LicenseID is a parsed license identifier.
type LicenseID struct {
	TypeCode string // positions 1-6
	Issuer   string // positions 7-24, the issuer's unified social credit code
	Seq      uint64 // positions 25-34
}

// String returns the identifier in its 35-character form. It is only
// meaningful for a LicenseID that ParseLicenseID returned or whose parts
// NewLicenseID accepts.
func (id LicenseID) String() string {
	s, err := NewLicenseID(id.TypeCode, id.Issuer, id.Seq)
	if err != nil {
		return ""
	}
	return s
}

// ValidateLicenseTypeCode reports whether s is a license type code: six
// characters of the GB 32100 alphabet (digits and upper-case letters
// without I, O, Z, S, V). It returns nil or an *Error of Kind
// "license-type-code" with rule "required", "length" or "charset".
func ValidateLicenseTypeCode(s string) error {
	if e := validateTypeCode(kindLicenseTypeCode, s); e != nil {
		return e
	}
	return nil
}

func validateTypeCode(kind, s string) *Error {
	if e := checkLength(kind, s, LicenseTypeCodeLen); e != nil {
		return e
	}
	for i := 0; i < len(s); i++ {
		if creditValue[s[i]] < 0 {
			return charsetError(kind, s, i)
		}
	}
	return nil
}

// NewLicenseID builds the identifier of the seq-th license of type typeCode
// issued by the organization with credit code issuer. It returns an *Error
// of Kind "license-id" naming the first bad part: "charset" or "length" for
// the type code, "credit-code" for the issuer, "sequence" for a sequence
// outside 1-9999999999.
func NewLicenseID(typeCode, issuer string, seq uint64) (string, error) {
	if e := validateTypeCode(kindLicenseID, typeCode); e != nil {
		e.Detail = "type code: " + e.Detail
		return "", e
	}
	if err := validateCreditCode(issuer); err != nil {
		return "", newError(kindLicenseID, ruleCreditCode, "issuer: %v", err)
	}
	if seq < 1 || seq > MaxLicenseSeq {
		return "", newError(kindLicenseID, ruleSequence, "sequence %d is not 1-%d", seq, uint64(MaxLicenseSeq))
	}
	var b [LicenseIDLen]byte
	copy(b[:], typeCode)
	copy(b[licenseIssuerOff:], issuer)
	for i := licenseCheckOff - 1; i >= licenseSeqOff; i-- {
		b[i] = byte('0' + seq%10)
		seq /= 10
	}
	b[licenseCheckOff] = mod31CheckChar(b[:licenseCheckOff])
	return string(b[:]), nil
}

// ValidateLicenseID reports whether s is a license identifier (see
// ParseLicenseID for the rules).
func ValidateLicenseID(s string) error {
	if _, e := parseLicenseID(s); e != nil {
		return e
	}
	return nil
}

// ParseLicenseID parses a license identifier in the layout above. It
// returns an *Error of Kind "license-id" for the first broken rule, checked
// in this order:
//
//   - "required", "length": s has 35 characters;
//   - "charset": every character is in the GB 32100 alphabet, and positions
//     25-34 are digits;
//   - "credit-code": positions 7-24 are a valid credit code (the detail
//     names the credit-code rule that failed);
//   - "sequence": the sequence is not zero;
//   - "check-character": position 35 is the check character of 1-34.
//
// Identifiers are case-sensitive: lower-case letters are refused, not
// folded, since what is validated is what is stored and printed.
func ParseLicenseID(s string) (LicenseID, error) {
	id, e := parseLicenseID(s)
	if e != nil {
		return LicenseID{}, e
	}
	return id, nil
}

func parseLicenseID(s string) (LicenseID, *Error) {
	if e := checkLength(kindLicenseID, s, LicenseIDLen); e != nil {
		return LicenseID{}, e
	}
	for i := 0; i < len(s); i++ {
		if creditValue[s[i]] < 0 || (i >= licenseSeqOff && i < licenseCheckOff && (s[i] < '0' || s[i] > '9')) {
			return LicenseID{}, charsetError(kindLicenseID, s, i)
		}
	}
	if e := validateCreditCode(s[licenseIssuerOff:licenseSeqOff]); e != nil {
		return LicenseID{}, newError(kindLicenseID, ruleCreditCode, "positions 7-24: %v", e)
	}
	seq := uint64(atoi(s[licenseSeqOff:licenseCheckOff])) //nolint:gosec // G115: ten checked digits fit an int64 and are not negative
	if seq == 0 {
		return LicenseID{}, newError(kindLicenseID, ruleSequence, "sequence 0000000000 is not issued")
	}
	if want := mod31CheckChar(s[:licenseCheckOff]); s[licenseCheckOff] != want {
		return LicenseID{}, newError(kindLicenseID, ruleCheckCharacter,
			"check character is %q, want %q", s[licenseCheckOff], want)
	}
	return LicenseID{TypeCode: s[:licenseIssuerOff], Issuer: s[licenseIssuerOff:licenseSeqOff], Seq: seq}, nil
}
