package license

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// appendCanonical appends the RFC 8785 canonical JSON of a valid license,
// written for the license's fixed shape instead of marshalled with
// encoding/json and canonicalized again, which cost an import a quarter of
// its time a license. The members are written in sorted order; strings get
// RFC 8785's minimal escaping; integers are within MaxSafeInteger (Validate
// holds them there), which RFC 8785 writes as plain decimals; times are UTC
// whole seconds. The face is read by a strict scanner and its members
// sorted by their UTF-16 code units. ok is false for whatever the writer
// is not sure to write as canon.JSON would (a face it cannot read, text
// that is not UTF-8): the caller falls back to the general canonicalizer.
// The tests and a fuzz target hold it to canon.JSON.
func (l *License) appendCanonical(b []byte) ([]byte, bool) {
	face, ok := scanFace(l.Face)
	if !ok {
		return nil, false
	}
	for _, s := range []string{l.Format, l.ID, l.Number, l.Type.Code, l.Issuer.CreditCode, l.Issuer.Name, string(l.Holder.Kind),
		l.Holder.Identifier, l.Holder.Name} {
		if !utf8.ValidString(s) {
			return nil, false
		}
	}
	b = append(b, `{"face":`...)
	b = face.appendCanonical(b)
	b = appendMember(b, `,"format":`, l.Format)
	b = appendMember(b, `,"holder":{"identifier":`, l.Holder.Identifier)
	b = appendMember(b, `,"kind":`, string(l.Holder.Kind))
	b = appendMember(b, `,"name":`, l.Holder.Name)
	b = appendMember(b, `},"id":`, l.ID)
	b = appendTime(append(b, `,"issued_at":`...), l.IssuedAt)
	b = appendMember(b, `,"issuer":{"credit_code":`, l.Issuer.CreditCode)
	b = appendMember(b, `,"name":`, l.Issuer.Name)
	b = appendMember(b, `},"number":`, l.Number)
	b = append(b, `,"status":[`...)
	for i, e := range l.Status {
		if i > 0 {
			b = append(b, ',')
		}
		if !utf8.ValidString(e.ListURL) || !utf8.ValidString(string(e.Purpose)) {
			return nil, false
		}
		b = strconv.AppendInt(append(b, `{"index":`...), e.Index, 10)
		b = appendMember(b, `,"list_url":`, e.ListURL)
		b = appendMember(b, `,"purpose":`, string(e.Purpose))
		b = append(b, '}')
	}
	b = append(b, ']')
	if s := l.Supersedes; s != nil {
		if !utf8.ValidString(s.ID) {
			return nil, false
		}
		b = appendMember(b, `,"supersedes":{"id":`, s.ID)
		b = strconv.AppendInt(append(b, `,"version":`...), s.Version, 10)
		b = append(b, '}')
	}
	b = appendMember(b, `,"type":{"code":`, l.Type.Code)
	b = strconv.AppendInt(append(b, `,"version":`...), l.Type.Version, 10)
	b = appendTime(append(b, `},"valid_from":`...), l.ValidFrom)
	if l.ValidUntil != nil {
		b = appendTime(append(b, `,"valid_until":`...), *l.ValidUntil)
	}
	b = strconv.AppendInt(append(b, `,"version":`...), l.Version, 10)
	return append(b, '}'), true
}

// appendMember appends name (already written with its punctuation) and
// the canonical string s.
func appendMember(b []byte, name, s string) []byte {
	return appendString(append(b, name...), s)
}

// appendTime appends a valid time (UTC, whole seconds, years 1-9999) as
// encoding/json writes it, which canonicalization leaves as it is.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s, valid UTF-8, as an RFC 8785 string: only the
// quotation mark, the reverse solidus and the control characters are
// escaped, the latter by their short form where JSON has one.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// faceMember is one member of a face as scanFace read it: its key
// decoded, and its value decoded (a string) or as written (a literal or
// an integer).
type faceMember struct {
	key   string
	value string
	str   bool
}

// face is the members of a face object, in the order written.
type face []faceMember

// scanFace reads a face object of scalar members strictly: JSON white
// space, string keys and values (valid UTF-8, escapes but for lone
// surrogates), true, false, null and integers without fraction, exponent
// or leading zero, each key once, at most maxFaceFields members, nothing
// after the object. ok is false for anything else, which the general
// reader then judges: what scanFace accepts, checkFace accepts too.
func scanFace(raw []byte) (face, bool) {
	s := faceScanner{raw: raw}
	s.space()
	if !s.byte('{') {
		return nil, false
	}
	var f face
	s.space()
	if !s.byte('}') {
		for {
			s.space()
			key, ok := s.string()
			if !ok || key == "" || len(f) == maxFaceFields {
				return nil, false
			}
			s.space()
			if !s.byte(':') {
				return nil, false
			}
			s.space()
			m := faceMember{key: key}
			if m.value, m.str, ok = s.value(); !ok {
				return nil, false
			}
			f = append(f, m)
			s.space()
			if s.byte('}') {
				break
			}
			if !s.byte(',') {
				return nil, false
			}
		}
	}
	s.space()
	if s.i != len(raw) {
		return nil, false
	}
	slices.SortFunc(f, func(a, b faceMember) int { return compareUTF16(a.key, b.key) })
	for i := 1; i < len(f); i++ {
		if f[i].key == f[i-1].key {
			return nil, false
		}
	}
	return f, true
}

// appendCanonical appends the face with its members sorted as scanFace
// left them.
func (f face) appendCanonical(b []byte) []byte {
	b = append(b, '{')
	for i, m := range f {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, m.key), ':')
		if m.str {
			b = appendString(b, m.value)
		} else {
			b = append(b, m.value...)
		}
	}
	return append(b, '}')
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785
// sorts member names. Byte order is the same unless a character beyond
// the Basic Multilingual Plane (four UTF-8 bytes) meets one of U+E000 to
// U+FFFF at the first difference.
func compareUTF16(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n || (a[i] < 0xf0 && b[i] < 0xf0) || (a[i] >= 0xf0 && b[i] >= 0xf0) {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

// faceScanner reads raw from i on.
type faceScanner struct {
	raw []byte
	i   int
}

func (s *faceScanner) space() {
	for s.i < len(s.raw) {
		switch s.raw[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *faceScanner) byte(c byte) bool {
	if s.i < len(s.raw) && s.raw[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value reads a string (decoded, str) or a literal or safe integer (as
// written).
func (s *faceScanner) value() (v string, str, ok bool) {
	if s.i >= len(s.raw) {
		return "", false, false
	}
	switch c := s.raw[s.i]; {
	case c == '"':
		v, ok = s.string()
		return v, true, ok
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.raw)-s.i >= len(lit) && string(s.raw[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return lit, false, true
			}
		}
		return "", false, false
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		s.i++
		for s.i < len(s.raw) && s.raw[s.i] >= '0' && s.raw[s.i] <= '9' {
			s.i++
		}
		v = string(s.raw[start:s.i])
		return v, false, safeInteger(v)
	}
	return "", false, false
}

// string reads a JSON string and returns it decoded.
func (s *faceScanner) string() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.raw) {
		c := s.raw[s.i]
		switch {
		case c == '"':
			v := s.raw[start:s.i]
			s.i++
			return string(v), utf8.Valid(v)
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", false
		}
		s.i++
	}
	return "", false
}

// escaped reads on a string from its first escape, at s.i; start is where
// its text began.
func (s *faceScanner) escaped(start int) (string, bool) {
	out := append([]byte(nil), s.raw[start:s.i]...)
	for s.i < len(s.raw) {
		c := s.raw[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), utf8.Valid(out)
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.raw) {
			return "", false
		}
		e := s.raw[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || !s.byte('\\') || !s.byte('u') {
					return "", false
				}
				lo, ok := s.hex4()
				if !ok {
					return "", false
				}
				if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
					return "", false
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (s *faceScanner) hex4() (rune, bool) {
	if len(s.raw)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.raw[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}
