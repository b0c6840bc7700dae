package ids

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NumberingRule is the pattern of the license number printed on a license's
// face (证照编号), which each license type sets. It is literal text with
// fixed-width placeholders:
//
//	{region}  the six-digit GB/T 2260 code of the issuing region
//	{year}    the four-digit year of issue
//	{seq:N}   the sequence, zero-padded to N digits (1 <= N <= 12)
//
// For example "JY1{region}{seq:7}" gives JY13501000000123 and
// "{region}{year}{seq:8}" gives 350100202600000042. Exactly one {seq:N} is
// required, {region} and {year} appear at most once; literal text is up to
// 32 printable characters, braces only in placeholders. Because every
// placeholder has a fixed width, a number is matched against its rule
// position by position (see Parse), without ambiguity.
type NumberingRule string

// Kinds of the numbering errors.
const (
	kindNumberingRule = "numbering-rule"
	kindLicenseNumber = "license-number"
)

const (
	maxSeqDigits     = 12
	maxLiteralRunes  = 32
	yearPlaceholder  = "{year}"
	regPlaceholder   = "{region}"
	seqPlaceholderPf = "{seq:"
)

// numberPart is one piece of a parsed rule: literal text, or a placeholder
// of kind "region", "year" or "seq" of width digits.
type numberPart struct {
	literal string
	kind    string
	width   int
}

// parse splits the rule into parts, or reports the first broken rule under
// Kind "numbering-rule": "required", "pattern" (syntax), "charset" (literal
// characters) or "length".
func (r NumberingRule) parse() ([]numberPart, *Error) {
	s := string(r)
	if s == "" {
		return nil, newError(kindNumberingRule, ruleRequired, "value is empty")
	}
	if !utf8.ValidString(s) {
		return nil, newError(kindNumberingRule, ruleCharset, "the rule is not valid UTF-8")
	}
	var parts []numberPart
	var seen [3]bool // region, year, seq
	literal := 0
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i != 0 {
			if i < 0 {
				i = len(s)
			}
			for _, c := range s[:i] {
				if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || unicode.IsSpace(c) || c == utf8.RuneError {
					return nil, newError(kindNumberingRule, ruleCharset, "literal text contains %q, which is not printable", c)
				}
			}
			literal += utf8.RuneCountInString(s[:i])
			parts = append(parts, numberPart{literal: s[:i]})
			s = s[i:]
			continue
		}
		end := strings.IndexByte(s, '}')
		if s[0] == '}' || end < 0 {
			return nil, newError(kindNumberingRule, rulePattern, "a brace outside a placeholder: use {region}, {year} or {seq:N}")
		}
		p, ok := placeholder(s[:end+1])
		if !ok {
			return nil, newError(kindNumberingRule, rulePattern, "%q is not {region}, {year} or {seq:N} with N from 1 to %d", s[:end+1], maxSeqDigits)
		}
		if seen[p.slot()] {
			return nil, newError(kindNumberingRule, rulePattern, "{%s} appears more than once", p.kind)
		}
		seen[p.slot()] = true
		parts = append(parts, p)
		s = s[end+1:]
	}
	if !seen[2] { // seq
		return nil, newError(kindNumberingRule, rulePattern, "the rule has no {seq:N}: numbers would not be unique")
	}
	if literal > maxLiteralRunes {
		return nil, newError(kindNumberingRule, ruleLength, "literal text is %d characters, at most %d", literal, maxLiteralRunes)
	}
	return parts, nil
}

// slot numbers the placeholder kinds: region 0, year 1, seq 2.
func (p numberPart) slot() int {
	switch p.kind {
	case "region":
		return 0
	case "year":
		return 1
	}
	return 2
}

// placeholder parses one "{...}".
func placeholder(s string) (numberPart, bool) {
	switch s {
	case regPlaceholder:
		return numberPart{kind: "region", width: 6}, true
	case yearPlaceholder:
		return numberPart{kind: "year", width: 4}, true
	}
	digits, ok := strings.CutPrefix(s, seqPlaceholderPf)
	if !ok {
		return numberPart{}, false
	}
	digits = strings.TrimSuffix(digits, "}")
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > maxSeqDigits || strconv.Itoa(n) != digits {
		return numberPart{}, false
	}
	return numberPart{kind: "seq", width: n}, true
}

// Validate reports whether the rule is well formed. It returns nil or an
// *Error of Kind "numbering-rule" with rule "required", "pattern",
// "charset" or "length".
func (r NumberingRule) Validate() error {
	if _, e := r.parse(); e != nil {
		return e
	}
	return nil
}

// Has reports whether the rule contains the placeholder of kind "region",
// "year" or "seq". A malformed rule has none.
func (r NumberingRule) Has(kind string) bool {
	parts, e := r.parse()
	if e != nil {
		return false
	}
	for _, p := range parts {
		if p.kind == kind {
			return true
		}
	}
	return false
}

// MaxSeq is the largest sequence the rule can print, 10^N - 1 for {seq:N};
// 0 for a malformed rule.
func (r NumberingRule) MaxSeq() uint64 {
	parts, e := r.parse()
	if e != nil {
		return 0
	}
	for _, p := range parts {
		if p.kind == "seq" {
			return pow10(p.width) - 1
		}
	}
	return 0
}

func pow10(n int) uint64 {
	v := uint64(1)
	for range n {
		v *= 10
	}
	return v
}

// Format prints the license number of sequence seq under rule. region (a
// GB/T 2260 code) and year (1000-9999) are checked only when the rule prints
// them. It returns an *Error: Kind "numbering-rule" for a malformed rule,
// else Kind "license-number" with rule "region", "range" (year) or
// "sequence" (seq is 0 or does not fit in N digits: the counter of this
// scope is exhausted and the type needs a wider rule).
func Format(rule NumberingRule, region string, year int, seq uint64) (string, error) {
	parts, e := rule.parse()
	if e != nil {
		return "", e
	}
	var b strings.Builder
	for _, p := range parts {
		switch p.kind {
		case "":
			b.WriteString(p.literal)
		case "region":
			if e := validateRegion(kindLicenseNumber, region); e != nil {
				e.Rule = ruleRegion
				return "", e
			}
			b.WriteString(region)
		case "year":
			if year < 1000 || year > 9999 {
				return "", newError(kindLicenseNumber, ruleRange, "year %d is not four digits", year)
			}
			b.WriteString(strconv.Itoa(year))
		case "seq":
			if seq < 1 || seq > pow10(p.width)-1 {
				return "", newError(kindLicenseNumber, ruleSequence, "sequence %d does not fit in %d digits (1-%d)", seq, p.width, pow10(p.width)-1)
			}
			d := strconv.FormatUint(seq, 10)
			b.WriteString(strings.Repeat("0", p.width-len(d)))
			b.WriteString(d)
		}
	}
	return b.String(), nil
}

// NumberParts are the values a license number carries.
type NumberParts struct {
	Region string // "" when the rule has no {region}
	Year   int    // 0 when the rule has no {year}
	Seq    uint64
}

// Parse matches a license number against the rule, position by position,
// and returns its parts. It returns an *Error: Kind "numbering-rule" for a
// malformed rule, else Kind "license-number" with rule "required",
// "pattern" (literal text or width mismatch, non-digits), "region" or
// "sequence" (all zeros).
func (r NumberingRule) Parse(number string) (NumberParts, error) {
	parts, e := r.parse()
	if e != nil {
		return NumberParts{}, e
	}
	if number == "" {
		return NumberParts{}, newError(kindLicenseNumber, ruleRequired, "value is empty")
	}
	var out NumberParts
	s := number
	for _, p := range parts {
		if p.kind == "" {
			rest, ok := strings.CutPrefix(s, p.literal)
			if !ok {
				return NumberParts{}, newError(kindLicenseNumber, rulePattern, "%q does not follow the rule %q: expected %q", number, string(r), p.literal)
			}
			s = rest
			continue
		}
		if len(s) < p.width || citizenCharsetError(s[:p.width]) >= 0 {
			return NumberParts{}, newError(kindLicenseNumber, rulePattern, "%q does not follow the rule %q: expected %d digits of {%s}", number, string(r), p.width, p.kind)
		}
		v := s[:p.width]
		s = s[p.width:]
		switch p.kind {
		case "region":
			if e := validateRegion(kindLicenseNumber, v); e != nil {
				e.Rule = ruleRegion
				return NumberParts{}, e
			}
			out.Region = v
		case "year":
			out.Year = atoi(v)
		case "seq":
			n, _ := strconv.ParseUint(v, 10, 64) // at most 12 checked digits
			if n == 0 {
				return NumberParts{}, newError(kindLicenseNumber, ruleSequence, "sequence %s is not issued", v)
			}
			out.Seq = n
		}
	}
	if s != "" {
		return NumberParts{}, newError(kindLicenseNumber, rulePattern, "%q does not follow the rule %q: %q is left over", number, string(r), s)
	}
	return out, nil
}

// SequenceScope names one counter of license numbers. Numbers are unique
// per license type; a rule that prints the region or the year restarts its
// counter per region or year, one that does not shares one counter across
// them (otherwise two issuers would print the same number). Build it with
// NumberingRule.Scope, which leaves out what the rule does not print.
type SequenceScope struct {
	TypeCode string
	Region   string // "" when the rule has no {region}
	Year     int    // 0 when the rule has no {year}
}

// Scope returns the counter that the license of type typeCode issued in
// region in year draws its sequence from under this rule.
func (r NumberingRule) Scope(typeCode, region string, year int) SequenceScope {
	s := SequenceScope{TypeCode: typeCode}
	if r.Has("region") {
		s.Region = region
	}
	if r.Has("year") {
		s.Year = year
	}
	return s
}

// Sequencer hands out license-number sequences. NextSeq returns the next
// sequence of scope, starting at 1: never the same value twice for one
// scope, even to several processes issuing at once against one database,
// so it must be backed by the database (a row per scope incremented in
// the caller's transaction, or a sequence), never by memory. A sequence
// drawn by a transaction that rolls back may be lost, leaving a gap; gaps
// are allowed, duplicates are not.
type Sequencer interface {
	NextSeq(ctx context.Context, scope SequenceScope) (uint64, error)
}
