package httpapi

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseJSONFast decodes the JSON value b as encoding/json decodes into
// an any (objects map[string]any, arrays []any, numbers float64), for the
// common shape of API bodies only: strings of printable ASCII, or valid
// UTF-8 beyond it, without escapes, which is what base64 documents and
// signatures, QR payloads and most names are. It answers
// ok == false on anything else — escapes, other characters, malformed
// input — and the caller decodes with encoding/json, so that every answer,
// error messages included, stays the standard library's. It exists
// because encoding/json walks a long string byte by byte through its
// state machine twice.
func parseJSONFast(b []byte) (v any, ok bool) {
	p := fastJSON{b: b}
	p.space()
	if v, ok = p.value(0); !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(b)
}

type fastJSON struct {
	b []byte
	i int
}

// maxFastDepth bounds nesting; deeper bodies go to encoding/json.
const maxFastDepth = 64

func (p *fastJSON) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastJSON) value(depth int) (any, bool) {
	if p.i >= len(p.b) || depth > maxFastDepth {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.string()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *fastJSON) literal(s string) bool {
	if !strings.HasPrefix(string(p.b[p.i:min(len(p.b), p.i+len(s))]), s) {
		return false
	}
	p.i += len(s)
	return true
}

func (p *fastJSON) object(depth int) (any, bool) {
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.string()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k.(string)] = v // the last of duplicate names wins, as in encoding/json
		if done, ok := p.next('}'); !ok || done {
			return m, ok
		}
	}
}

func (p *fastJSON) array(depth int) (any, bool) {
	p.i++ // [
	a := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		p.space()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if done, ok := p.next(']'); !ok || done {
			return a, ok
		}
	}
}

// next reads what follows a member or element: a comma (more follow) or
// closer (done); anything else is malformed.
func (p *fastJSON) next(closer byte) (done, ok bool) {
	p.space()
	if p.i >= len(p.b) {
		return false, false
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return false, true
	case closer:
		p.i++
		return true, true
	}
	return false, false
}

// string reads a string of printable ASCII or valid UTF-8 beyond ASCII
// (a matter in Chinese), without escapes.
func (p *fastJSON) string() (any, bool) {
	start, wide := p.i+1, false
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			if wide && !utf8.Valid(p.b[start:j]) {
				return nil, false // encoding/json replaces bad bytes; strictJSON refuses them
			}
			p.i = j + 1
			return string(p.b[start:j]), true
		case c >= 0x80:
			wide = true
		case c < 0x20 || c == 0x7f || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *fastJSON) number() (any, bool) {
	start, b := p.i, p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil {
		return nil, false // out of range: encoding/json says why
	}
	p.i = i
	return f, true
}
