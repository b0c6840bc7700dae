package ids

import (
	"fmt"
	"unicode/utf8"
)

// Kinds of identifier, used in Error.Kind.
const (
	kindCreditCode = "credit-code"
	kindCitizenID  = "citizen-id"
	kindRegion     = "region"
)

// Rule names, used in Error.Rule. They are part of the package contract.
const (
	ruleRequired              = "required"
	ruleLength                = "length"
	ruleCharset               = "charset"
	ruleRegistrationAuthority = "registration-authority"
	ruleCategory              = "category"
	ruleRegion                = "region"
	ruleOrgCodeCheckCharacter = "org-code-check-character"
	ruleCheckCharacter        = "check-character"
	ruleBirthDate             = "birth-date"
	ruleCreditCode            = "credit-code"
	ruleSequence              = "sequence"
	rulePattern               = "pattern"
	ruleRange                 = "range"
)

// Error reports why an identifier is invalid. Rule is a stable, machine-readable
// kebab-case name of the broken rule; callers map it to a field error.
//
// Kind is one of "credit-code", "citizen-id", "region", "seal-code",
// "license-id", "license-type-code", "numbering-rule" or "license-number".
// Rule is one of "required", "length", "charset", "registration-authority",
// "category", "region", "org-code-check-character", "check-character",
// "birth-date", "credit-code", "sequence", "pattern" or "range".
type Error struct {
	Kind   string // see above
	Rule   string // see below
	Detail string // one English sentence, e.g. "check character is 'X', want '3'"
}

// Error returns a message of the form
// "invalid credit-code (check-character): check character is 'X', want '3'".
func (e *Error) Error() string {
	return "invalid " + e.Kind + " (" + e.Rule + "): " + e.Detail
}

func newError(kind, rule, format string, args ...any) *Error {
	return &Error{Kind: kind, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// checkLength reports the "required" or "length" rule for s, which must be
// exactly want bytes long. A string of want characters that is longer than
// want bytes contains a non-ASCII character and is reported as "charset",
// since that is what the user has to fix.
func checkLength(kind, s string, want int) *Error {
	if s == "" {
		return newError(kind, ruleRequired, "value is empty")
	}
	if len(s) == want {
		return nil
	}
	if n := utf8.RuneCountInString(s); n == want {
		for i, r := range s {
			if r >= utf8.RuneSelf {
				return charsetError(kind, s, i)
			}
		}
	} else {
		return newError(kind, ruleLength, "length is %d characters, want %d", n, want)
	}
	return newError(kind, ruleLength, "length is %d bytes, want %d", len(s), want)
}

// charsetError reports the character starting at byte offset i of s as not
// allowed. Positions in messages are 1-based, as in the standards.
func charsetError(kind, s string, i int) *Error {
	r, size := utf8.DecodeRuneInString(s[i:])
	pos := utf8.RuneCountInString(s[:i]) + 1
	if r == utf8.RuneError && size <= 1 {
		return newError(kind, ruleCharset, "byte %#02x at position %d is not valid UTF-8", s[i], pos)
	}
	return newError(kind, ruleCharset, "character %q at position %d is not allowed", r, pos)
}
