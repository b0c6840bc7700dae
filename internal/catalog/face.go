package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// Face is validated face data: field key to value, normalized. Values are
// string (string, date YYYY-MM-DD, decimal, enum, image reference), int64
// (integer) or bool (boolean). Optional fields left out, null or "" are
// absent.
type Face map[string]any

// facePath is the field path of a face field in error reports.
func facePath(key string) string {
	if validKey(key) {
		return "face." + key
	}
	// A key outside the key syntax is quoted, so that no character of it
	// (a dot, a bidi override) changes how the path reads.
	return "face." + strconv.QuoteToASCII(key)
}

// ImageRefPrefix opens an image reference: "sha256:" and the 64 lower-case
// hex digits of the SHA-256 of the image bytes, stored apart.
const ImageRefPrefix = "sha256:"

// ValidateFace checks face data, a JSON object, against the template and
// returns it normalized (identifiers in their normalized form). It returns
// every broken rule at once as an *apperr.Error of kind Invalid, each
// FieldError naming the field ("face.name") and the rule:
//
//   - "utf8", "json", "type" on "face": the data is not valid UTF-8, not
//     JSON, or not one object;
//   - "unknown-field": a key the template does not name, refused rather
//     than ignored (R-CAT-4); "duplicate": a key given twice;
//   - "required": a required field is missing, null or "";
//   - "type": a value of the wrong JSON type, an integer with a fraction
//     or out of the 64-bit range;
//   - "date", "decimal", "image-ref", "enum": the value is not of its form;
//   - "min-length", "max-length", "pattern", and the text rules of
//     apperr.Fields.Name ("bidi-control", "invisible", "no-control");
//   - for fields with a format, the rule of internal/ids that failed
//     ("check-character", "birth-date", "region", ...).
func (t Template) ValidateFace(raw json.RawMessage) (Face, error) {
	var fs apperr.Fields
	if !utf8.Valid(raw) {
		// encoding/json would replace the bad bytes with U+FFFD: what is
		// validated would not be what was sent.
		fs.Add("face", "utf8", "the face data is not valid UTF-8")
		return nil, fs.Err()
	}
	values, err := decodeObject(raw, &fs)
	if err != nil {
		// Whatever was found before the syntax error says nothing.
		fs = apperr.Fields{}
		fs.Add("face", "json", err.Error())
		return nil, fs.Err()
	}
	if values == nil {
		return nil, fs.Err()
	}
	face := Face{}
	failed := map[string]bool{}
	for _, kv := range values {
		f, ok := t.Field(kv.key)
		if !ok {
			fs.Add(facePath(kv.key), "unknown-field", "the template has no such field")
			continue
		}
		v, ok := f.value(&fs, kv.value)
		failed[f.Key] = !ok
		if ok && v != nil {
			face[f.Key] = v
		}
	}
	for _, f := range t.Fields {
		if _, ok := face[f.Key]; !ok && f.Required && !failed[f.Key] {
			fs.Add(facePath(f.Key), "required", "a value is required")
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return face, nil
}

type keyValue struct {
	key   string
	value json.RawMessage
}

// decodeObject reads one JSON object into its members in order, adding a
// "type" error on "face" if raw is not an object and a "duplicate" error
// for a key given twice. A syntax error is returned.
func decodeObject(raw json.RawMessage, fs *apperr.Fields) ([]keyValue, error) {
	if out, dups, ok := splitObject(raw); ok {
		for _, key := range dups {
			fs.Add(facePath(key), "duplicate", "the field is given twice")
		}
		return out, nil
	}
	return decodeObjectJSON(raw, fs)
}

// splitObject is decodeObject for what nearly every face is, a valid JSON
// object whose keys have no escapes, without encoding/json's Decoder:
// that spent two thirds of a face's validation, mostly making the error
// its scanner records after every member value, which bulk imports paid
// on millions of rows. It returns the members and the keys given twice
// (dropped, as decodeObjectJSON drops them); ok is false for anything
// else, which decodeObjectJSON then decides as before.
func splitObject(raw []byte) (out []keyValue, dups []string, ok bool) {
	if !json.Valid(raw) {
		return nil, nil, false
	}
	i := skipSpace(raw, 0)
	if raw[i] != '{' {
		return nil, nil, false
	}
	out = []keyValue{}
	for i = skipSpace(raw, i+1); raw[i] != '}'; i = skipSpace(raw, i) {
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
		// Valid JSON: raw[i] opens the key, a string.
		end := bytes.IndexByte(raw[i+1:], '"') + i + 1
		if bytes.IndexByte(raw[i+1:end], '\\') >= 0 {
			return nil, nil, false
		}
		key := string(raw[i+1 : end])
		i = skipSpace(raw, skipSpace(raw, end+1)+1) // past the colon
		vend := valueEnd(raw, i)
		if slices.ContainsFunc(out, func(kv keyValue) bool { return kv.key == key }) {
			dups = append(dups, key)
		} else {
			out = append(out, keyValue{key, json.RawMessage(raw[i:vend])})
		}
		i = vend
	}
	return out, dups, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the JSON value of valid JSON starting at i.
func valueEnd(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			for j++; b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return j
			}
		}
	}
	return len(b)
}

// decodeObjectJSON is decodeObject through encoding/json's Decoder.
func decodeObjectJSON(raw json.RawMessage, fs *apperr.Fields) ([]keyValue, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("read face data: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		fs.Add("face", "type", "the face data is one JSON object")
		return nil, nil
	}
	var out []keyValue
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read face data: %w", err)
		}
		key, _ := tok.(string) // object keys are strings once Token succeeded
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("read face field %s: %w", facePath(key), err)
		}
		if seen[key] {
			fs.Add(facePath(key), "duplicate", "the field is given twice")
			continue
		}
		seen[key] = true
		out = append(out, keyValue{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("read face data: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("read face data: data after the object")
	}
	if out == nil {
		out = []keyValue{}
	}
	return out, nil
}

// value checks one value of the field and returns it normalized, nil for an
// absent optional value. ok is false when an error was added.
func (f Field) value(fs *apperr.Fields, raw json.RawMessage) (any, bool) {
	path := facePath(f.Key)
	switch raw[0] {
	case 'n': // null: absent
		return nil, true
	case 't', 'f':
		if f.Type != TypeBoolean {
			return nil, typeError(fs, path, f.Type)
		}
		return raw[0] == 't', true
	case '{', '[':
		return nil, typeError(fs, path, f.Type)
	case '"':
		if f.Type == TypeBoolean || f.Type == TypeInteger {
			return nil, typeError(fs, path, f.Type)
		}
		s, err := unquote(raw)
		if err != nil {
			fs.Add(path, "json", err.Error())
			return nil, false
		}
		if s == "" {
			return nil, true
		}
		return f.text(fs, path, s)
	default: // a number
		if f.Type != TypeInteger {
			return nil, typeError(fs, path, f.Type)
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			fs.Add(path, "type", "a whole number from -2^63 to 2^63-1, without fraction or exponent")
			return nil, false
		}
		return n, true
	}
}

// unquote returns the JSON string raw, which the decoder has already
// read as one. Without a backslash it has no escape to resolve, and its
// bytes are the value: bulk imports validate millions of faces, and
// json.Unmarshal was a fifth of the time of each.
func unquote(raw json.RawMessage) (string, error) {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	// The error is reported as the rule's detail, unchanged.
	err := json.Unmarshal(raw, &s)
	return s, err
}

func typeError(fs *apperr.Fields, path string, t FieldType) bool {
	fs.Add(path, "type", "a value of type "+string(t)+" is "+jsonForm(t))
	return false
}

// jsonForm says how a value of the type is written.
func jsonForm(t FieldType) string {
	switch t {
	case TypeBoolean:
		return "true or false"
	case TypeInteger:
		return "a JSON number without fraction"
	case TypeDate:
		return `a string "YYYY-MM-DD"`
	case TypeDecimal:
		return `a string of digits, "1000.50"`
	case TypeImage:
		return `a string "sha256:" and 64 hex digits`
	}
	return "a string"
}

var (
	decimalRE  = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,29})(\.[0-9]{1,10})?$`)
	imageRefRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// text checks a non-empty string value of a string-valued field.
func (f Field) text(fs *apperr.Fields, path, s string) (any, bool) {
	switch f.Type {
	case TypeDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil || len(s) != len(time.DateOnly) {
			fs.Add(path, "date", "a date YYYY-MM-DD")
			return nil, false
		}
		return s, true
	case TypeDecimal:
		if !decimalRE.MatchString(s) {
			fs.Add(path, "decimal", "digits with an optional fraction of up to 10 digits, e.g. 1000.50, no exponent or grouping")
			return nil, false
		}
		return s, true
	case TypeImage:
		if !imageRefRE.MatchString(s) {
			fs.Add(path, "image-ref", `"sha256:" and the 64 lower-case hex digits of the image`)
			return nil, false
		}
		return s, true
	case TypeEnum:
		for _, v := range f.Enum {
			if v == s {
				return s, true
			}
		}
		fs.Add(path, "enum", "not one of the values of the field")
		return nil, false
	}
	return f.stringValue(fs, path, s)
}

// stringValue checks a value of a string field. An identifier is
// normalized first (surrounding white space, letter case) so that what is
// measured and matched is what is stored.
func (f Field) stringValue(fs *apperr.Fields, path, s string) (any, bool) {
	switch f.Format {
	case FormatCitizenID:
		s = ids.NormalizeCitizenID(s)
	case FormatCreditCode:
		s = ids.NormalizeCreditCode(s)
	}
	max := f.MaxLength
	if max <= 0 {
		max = maxTextLength
	}
	if f.Multiline {
		if !fs.Text(path, s, max, false) {
			return nil, false
		}
		for line := range strings.SplitSeq(s, "\n") {
			if !fs.Name(path, line, math.MaxInt, false) {
				return nil, false
			}
		}
	} else if !fs.Name(path, s, max, false) {
		return nil, false
	}
	if n := utf8.RuneCountInString(s); n < f.MinLength {
		fs.Add(path, "min-length", fmt.Sprintf("at least %d characters", f.MinLength))
		return nil, false
	}
	if f.Pattern != "" {
		re, err := compilePattern(f.Pattern)
		if err != nil || !re.MatchString(s) {
			fs.Add(path, "pattern", "does not match the pattern "+f.Pattern)
			return nil, false
		}
	}
	var err error
	switch f.Format {
	case FormatCitizenID:
		err = ids.ValidateCitizenID(s)
	case FormatCreditCode:
		err = ids.ValidateCreditCode(s)
	case FormatRegion:
		err = ids.ValidateRegion(s)
	}
	if err != nil {
		addIDError(fs, path, err)
		return nil, false
	}
	return s, true
}
