package canon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
)

// checkDuplicateNames walks syntactically valid JSON and reports the first
// object that has two members with the same (unescaped) name.
func checkDuplicateNames(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	// Each open container is a frame; objects track seen names and whether
	// the next string token is a name.
	type frame struct {
		names     map[string]struct{}
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tokenize: %w", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				if top != nil && top.names != nil {
					top.expectKey = true
				}
				stack = append(stack, &frame{names: map[string]struct{}{}, expectKey: true})
			case '[':
				if top != nil && top.names != nil {
					top.expectKey = true
				}
				stack = append(stack, &frame{})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || top.names == nil {
			continue
		}
		if top.expectKey {
			name, _ := tok.(string)
			if _, dup := top.names[name]; dup {
				return fmt.Errorf("duplicate object member name %q", name)
			}
			top.names[name] = struct{}{}
			top.expectKey = false
			continue
		}
		top.expectKey = true
	}
}

// checkSurrogates reports a \u escape in syntactically valid JSON that
// encodes a lone UTF-16 surrogate, which has no Unicode scalar value.
func checkSurrogates(raw []byte) error {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			i++ // raw is valid JSON, so an escape is complete.
			if raw[i] != 'u' {
				continue
			}
			r1 := hex4(raw[i+1 : i+5])
			i += 4
			if !utf16.IsSurrogate(r1) {
				continue
			}
			if r1 >= 0xdc00 || i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return fmt.Errorf("lone UTF-16 surrogate \\u%04x", r1)
			}
			r2 := hex4(raw[i+3 : i+7])
			if utf16.DecodeRune(r1, r2) == '\uFFFD' {
				return fmt.Errorf("invalid UTF-16 surrogate pair \\u%04x\\u%04x", r1, r2)
			}
			i += 6
		}
	}
	return nil
}

// hex4 decodes four hex digits already validated by json.Valid.
func hex4(b []byte) rune {
	v, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(v)
}
