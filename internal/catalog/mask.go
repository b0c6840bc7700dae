package catalog

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaskChar replaces each hidden character of a value masked with keep-ends
// or keep-first.
const MaskChar = '*'

// fullMask is what a value masked with the full rule is shown as: always
// the same, so that not even its length is revealed.
const fullMask = "***"

// Mask returns value as it is shown masked under the field's masking rule.
// It counts characters (runes), never bytes, so Chinese text is masked
// character by character: keep-first 1 shows 张三丰 as 张**.
//
// A masked value always hides at least one character: when a value has no
// more characters than the rule keeps, fewer are kept, the first ones before
// the last ones (keep-ends 1,1 shows 张三 as 张*, and 张 as *). An unknown
// rule masks fully: a mistake hides too much rather than too little.
func Mask(f Field, value string) string {
	switch f.Masking.Rule {
	case MaskNone:
		return value
	case MaskKeepFirst:
		return keep(value, f.Masking.First, 0)
	case MaskKeepEnds:
		return keep(value, f.Masking.First, f.Masking.Last)
	default:
		return fullMask
	}
}

// keep shows the first and last characters of s and masks the others.
func keep(s string, first, last int) string {
	if !utf8.ValidString(s) {
		return fullMask
	}
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return ""
	}
	first, last = max(first, 0), max(last, 0)
	if first+last >= n {
		if first >= n {
			first, last = n-1, 0
		} else {
			last = n - 1 - first
		}
	}
	r := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(string(r[:first]))
	b.WriteString(strings.Repeat(string(MaskChar), n-first-last))
	b.WriteString(string(r[n-last:]))
	return b.String()
}

// MaskFace returns the face with every field masked under its rule, as
// shown to someone who may not see it in clear. Fields with the none rule
// keep their value and type; masked values are strings. A key the template
// does not name is left out.
func (t Template) MaskFace(face Face) Face {
	out := make(Face, len(face))
	for k, v := range face {
		f, ok := t.Field(k)
		switch {
		case !ok:
			continue
		case f.Masking.Rule == MaskNone:
			out[k] = v
		default:
			out[k] = Mask(f, fmt.Sprint(v))
		}
	}
	return out
}
