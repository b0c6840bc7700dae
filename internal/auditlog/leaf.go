package auditlog

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendLeaf writes the RFC 8785 bytes of e's leaf directly, without
// marshalling and re-parsing JSON, which cost the integrator most of its
// time. It covers what entries hold: valid UTF-8, detail names in ASCII
// (whose UTF-16 order is their byte order), a year in 0..9999 and an index
// below 2^53 (an exact ECMAScript number). For anything else it reports
// false and Leaf takes the general path; a test holds both paths to the
// same bytes.
func appendLeaf(b []byte, e Entry) ([]byte, bool) {
	at := e.At.UTC()
	if at.Year() < 0 || at.Year() > 9999 || e.Index >= 1<<53 {
		return nil, false
	}
	for _, s := range []string{e.Action, e.Actor, e.Org, e.Subject} {
		if !utf8.ValidString(s) {
			return nil, false
		}
	}
	names := make([]string, 0, len(e.Details))
	for k, v := range e.Details {
		if !ascii(k) || !utf8.ValidString(v) {
			return nil, false
		}
		names = append(names, k)
	}
	slices.Sort(names)
	// Members in RFC 8785 order: action, actor, at, details, index, org,
	// subject.
	b = append(b, `{"action":`...)
	b = appendString(b, e.Action)
	b = append(b, `,"actor":`...)
	b = appendString(b, e.Actor)
	b = append(b, `,"at":"`...)
	b = at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if len(names) > 0 {
		b = append(b, `,"details":{`...)
		for i, k := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Details[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"index":`...)
	b = strconv.AppendUint(b, e.Index, 10)
	b = append(b, `,"org":`...)
	b = appendString(b, e.Org)
	b = append(b, `,"subject":`...)
	b = appendString(b, e.Subject)
	return append(b, '}'), true
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendString writes s as an RFC 8785 string: only '"', '\\' and control
// characters are escaped, the short forms where JSON has them and
// otherwise \u00xx in lower case; everything else stays as it is.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	return append(b, '"')
}
