package auditlog

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// DetailsJSON renders details for storage: the bytes encoding/json writes
// for the map (keys sorted, HTML characters escaped). Details of plain
// text, the usual case, are written directly: marshalling a map through
// reflection was a fifth of what an audited redemption's entry cost to
// write and to integrate. Anything that needs escaping goes through
// encoding/json; a test holds both paths to the same bytes.
func DetailsJSON(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	names := make([]string, 0, len(d))
	n := 2
	for k, v := range d {
		if !plainJSON(k) || !plainJSON(v) {
			b, _ := json.Marshal(d)
			return string(b)
		}
		names = append(names, k)
		n += len(k) + len(v) + 6
	}
	slices.Sort(names)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":"`...)
		b = append(b, d[k]...)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

// plainJSON reports whether encoding/json writes s between its quotes as it
// is: valid UTF-8 without control characters, '"', '\\', the HTML
// characters '<', '>', '&' and the line and paragraph separators U+2028 and
// U+2029, all of which it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// ParseDetails reads stored details. A flat object of strings without
// escapes, what DetailsJSON writes for plain text, is read directly:
// decoding through encoding/json was about a sixth of an integration.
// Anything else (an escape, another type, malformed input) is left to
// encoding/json, which also makes the errors.
func ParseDetails(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if d, ok := parsePlainDetails(s); ok {
		return d, nil
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, err
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}

// parsePlainDetails reads s when it is exactly `{}` or `{"k":"v",…}` with
// no whitespace and no backslash, its strings valid UTF-8 without control
// characters; ok is false for anything else. A name given twice keeps its
// last value, as encoding/json does.
func parsePlainDetails(s string) (map[string]string, bool) {
	if s == "{}" {
		return nil, true
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	d := map[string]string{}
	rest := s[1 : len(s)-1]
	for {
		k, after, ok := plainString(rest)
		if !ok || len(after) == 0 || after[0] != ':' {
			return nil, false
		}
		v, after, ok := plainString(after[1:])
		if !ok {
			return nil, false
		}
		d[k] = v
		if after == "" {
			return d, true
		}
		if after[0] != ',' {
			return nil, false
		}
		rest = after[1:]
	}
}

// plainString reads a JSON string at the start of s that needs no
// unescaping, and returns it and what follows it.
func plainString(s string) (string, string, bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	v := s[1 : 1+end]
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == '\\' {
			return "", "", false
		}
	}
	if !utf8.ValidString(v) {
		return "", "", false
	}
	return v, s[2+end:], true
}
