package catalog

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// FieldType is the type of a face field's value.
type FieldType string

// The field types and how a value is written in face JSON.
const (
	TypeString  FieldType = "string"  // a JSON string
	TypeDate    FieldType = "date"    // a JSON string YYYY-MM-DD
	TypeInteger FieldType = "integer" // a JSON number without fraction or exponent, 64-bit
	TypeDecimal FieldType = "decimal" // a JSON string of digits with an optional fraction, "1000.50"
	TypeEnum    FieldType = "enum"    // a JSON string, one of the field's Enum values
	TypeBoolean FieldType = "boolean" // true or false
	TypeImage   FieldType = "image"   // a JSON string "sha256:" + 64 lower-case hex digits
)

// fieldTypes lists every field type.
func fieldTypes() []FieldType {
	return []FieldType{TypeString, TypeDate, TypeInteger, TypeDecimal, TypeEnum, TypeBoolean, TypeImage}
}

// textual reports whether values of the type are text whose characters can
// be masked one by one.
func (t FieldType) textual() bool {
	return t == TypeString || t == TypeDate || t == TypeInteger || t == TypeDecimal
}

// Format is an identifier format a string field must follow, checked with
// its check characters (internal/ids).
type Format string

// The formats.
const (
	FormatNone       Format = ""
	FormatCitizenID  Format = "citizen-id"  // GB 11643-1999
	FormatCreditCode Format = "credit-code" // GB 32100-2015
	FormatRegion     Format = "region"      // GB/T 2260
)

// Sensitivity is the sensitivity class of a field (R-CAT-1).
type Sensitivity string

// The sensitivity classes.
const (
	// SensitivityPublic: may be shown as is.
	SensitivityPublic Sensitivity = "public"
	// SensitivityPersonal: personal information, masked when shown to
	// anyone but the holder and the issuer.
	SensitivityPersonal Sensitivity = "personal"
	// SensitivitySensitive: sensitive personal information (identity
	// numbers, health, finance), masked likewise and never exported in clear.
	SensitivitySensitive Sensitivity = "sensitive"
)

// MaskRule is how a value is masked when shown masked.
type MaskRule string

// The masking rules.
const (
	MaskNone      MaskRule = "none"       // shown as is
	MaskKeepEnds  MaskRule = "keep-ends"  // keep the first First and last Last characters
	MaskKeepFirst MaskRule = "keep-first" // keep the first First characters
	MaskFull      MaskRule = "full"       // hide everything, the length included
)

// Masking is the masking rule of a field with its parameters.
type Masking struct {
	Rule  MaskRule `json:"rule"`
	First int      `json:"first,omitempty"`
	Last  int      `json:"last,omitempty"`
}

// Field is one field of a license face.
type Field struct {
	// Key names the field in face data: a lower-case ASCII letter, then up
	// to 39 lower-case letters, digits or underscores.
	Key   string    `json:"key"`
	Label Label     `json:"label"`
	Type  FieldType `json:"type"`
	// Required fields must be present and not empty.
	Required bool `json:"required,omitempty"`
	// MinLength and MaxLength bound a string in characters (not bytes);
	// MaxLength is required for strings.
	MinLength int `json:"min_length,omitempty"`
	MaxLength int `json:"max_length,omitempty"`
	// Pattern is an RE2 regular expression (Go regexp syntax) a string
	// must match as a whole.
	Pattern string `json:"pattern,omitempty"`
	// Enum lists the values of an enum field.
	Enum []string `json:"enum,omitempty"`
	// Format is an identifier format a string must follow.
	Format Format `json:"format,omitempty"`
	// Multiline allows line feeds in a string (business scope, remarks).
	Multiline bool `json:"multiline,omitempty"`
	// Holder marks the field that carries the holder's identifier (the
	// company's credit code on a business license, the citizen ID number on
	// a personal certificate): issuance refuses face data whose value is not
	// the holder's. At most one field, of format citizen-id or credit-code
	// as the type's holder kind wants.
	Holder      bool        `json:"holder,omitempty"`
	Sensitivity Sensitivity `json:"sensitivity"`
	Masking     Masking     `json:"masking"`
}

// Template is the face template of a license type version: the fields a
// license of the type carries, and only those (R-CAT-4).
type Template struct {
	Fields []Field `json:"fields"`
}

// Limits of a template.
const (
	maxFields      = 200
	maxKeyLen      = 40
	maxTextLength  = 4000
	maxPatternLen  = 500
	maxEnumValues  = 200
	maxEnumValueLn = 100
)

// Field returns the field of the key.
func (t Template) Field(key string) (Field, bool) {
	i := slices.IndexFunc(t.Fields, func(f Field) bool { return f.Key == key })
	if i < 0 {
		return Field{}, false
	}
	return t.Fields[i], true
}

// validKey reports whether k is a field key: [a-z][a-z0-9_]{0,39}.
func validKey(k string) bool {
	if k == "" || len(k) > maxKeyLen || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// compilePattern compiles a field pattern anchored at both ends.
func compilePattern(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, fmt.Errorf("compile pattern: %w", err)
	}
	return re, nil
}

// Validate checks the template itself: at least one field and at most 200,
// unique keys of the key syntax, labels in both languages, a known type,
// lengths, pattern, enum values and format only where the type takes them
// and sane, a sensitivity class, and a masking rule that applies to the
// type and hides something of personal and sensitive fields. It returns
// every broken rule at once, as an *apperr.Error of kind Invalid with
// fields "fields[i].key" and so on, or nil.
func (t Template) Validate() error {
	var fs apperr.Fields
	switch {
	case len(t.Fields) == 0:
		fs.Add("fields", "required", "a template has at least one field")
	case len(t.Fields) > maxFields:
		fs.Add("fields", "max-length", fmt.Sprintf("at most %d fields", maxFields))
	}
	seen := map[string]bool{}
	holders := 0
	for i, f := range t.Fields {
		p := fmt.Sprintf("fields[%d]", i)
		if f.Holder {
			if holders++; holders > 1 {
				fs.Add(p+".holder", "unique", "one field at most carries the holder's identifier")
			}
			if f.Type != TypeString || (f.Format != FormatCitizenID && f.Format != FormatCreditCode) {
				fs.Add(p+".holder", "holder-format", "the holder's identifier is a string of format citizen-id or credit-code")
			}
		}
		switch {
		case !validKey(f.Key):
			fs.Add(p+".key", "key", "a key is a lower-case letter, then up to 39 lower-case letters, digits or underscores")
		case seen[f.Key]:
			fs.Add(p+".key", "unique", "another field has the key "+f.Key)
		}
		seen[f.Key] = true
		f.Label.check(&fs, p+".label")
		if !slices.Contains(fieldTypes(), f.Type) {
			fs.Add(p+".type", "enum", "the type is string, date, integer, decimal, enum, boolean or image")
		}
		f.checkConstraints(&fs, p)
		f.checkProtection(&fs, p)
	}
	return fs.Err()
}

// checkConstraints checks lengths, pattern, enum values, format and
// multiline against the field type.
func (f Field) checkConstraints(fs *apperr.Fields, p string) {
	isString := f.Type == TypeString
	if isString {
		if f.MaxLength < 1 || f.MaxLength > maxTextLength {
			fs.Add(p+".max_length", "range", fmt.Sprintf("a string field has a max_length from 1 to %d", maxTextLength))
		}
		if f.MinLength < 0 || f.MinLength > f.MaxLength {
			fs.Add(p+".min_length", "range", "min_length is from 0 to max_length")
		}
	} else {
		notFor(fs, f.MaxLength != 0, p+".max_length", f.Type)
		notFor(fs, f.MinLength != 0, p+".min_length", f.Type)
		notFor(fs, f.Pattern != "", p+".pattern", f.Type)
		notFor(fs, f.Format != FormatNone, p+".format", f.Type)
		notFor(fs, f.Multiline, p+".multiline", f.Type)
	}
	if f.Pattern != "" && isString {
		if len(f.Pattern) > maxPatternLen {
			fs.Add(p+".pattern", "max-length", fmt.Sprintf("at most %d bytes", maxPatternLen))
		} else if _, err := compilePattern(f.Pattern); err != nil {
			fs.Add(p+".pattern", "regexp", err.Error())
		}
	}
	if !slices.Contains([]Format{FormatNone, FormatCitizenID, FormatCreditCode, FormatRegion}, f.Format) {
		fs.Add(p+".format", "enum", "the format is citizen-id, credit-code or region")
	}
	if isString && f.Format != FormatNone && f.Multiline {
		fs.Add(p+".multiline", "not-applicable", "an identifier is one line")
	}
	if f.Type != TypeEnum {
		notFor(fs, len(f.Enum) > 0, p+".enum", f.Type)
		return
	}
	switch {
	case len(f.Enum) == 0:
		fs.Add(p+".enum", "required", "an enum field lists its values")
	case len(f.Enum) > maxEnumValues:
		fs.Add(p+".enum", "max-length", fmt.Sprintf("at most %d values", maxEnumValues))
	}
	for j, v := range f.Enum {
		vp := fmt.Sprintf("%s.enum[%d]", p, j)
		if fs.Name(vp, v, maxEnumValueLn, true) && slices.Index(f.Enum, v) < j {
			fs.Add(vp, "unique", "the value is listed twice")
		}
	}
}

// notFor adds a "not-applicable" error for a constraint set on a type that
// does not take it.
func notFor(fs *apperr.Fields, set bool, field string, t FieldType) {
	if set {
		fs.Add(field, "not-applicable", fmt.Sprintf("does not apply to a field of type %s", t))
	}
}

// checkProtection checks the sensitivity class and the masking rule.
func (f Field) checkProtection(fs *apperr.Fields, p string) {
	if !slices.Contains(Sensitivities(), f.Sensitivity) {
		fs.Add(p+".sensitivity", "enum", "the sensitivity is public, personal or sensitive")
	}
	m, mp := f.Masking, p+".masking"
	switch m.Rule {
	case MaskNone, MaskFull:
		if m.First != 0 || m.Last != 0 {
			fs.Add(mp, "masking", fmt.Sprintf("the %s rule keeps no characters: first and last are 0", m.Rule))
		}
	case MaskKeepFirst, MaskKeepEnds:
		switch {
		case !f.Type.textual():
			fs.Add(mp, "masking", fmt.Sprintf("characters of a field of type %s cannot be kept: use none or full", f.Type))
		case m.First < 0 || m.Last < 0 || m.First+m.Last < 1:
			fs.Add(mp, "masking", "keep at least one character, and none negative")
		case m.Rule == MaskKeepFirst && m.Last != 0:
			fs.Add(mp, "masking", "keep-first keeps no last characters: use keep-ends")
		case f.Type == TypeString && m.First+m.Last >= f.MaxLength:
			fs.Add(mp, "masking", "the characters kept are as many as the longest value: nothing would be hidden")
		}
	default:
		fs.Add(mp+".rule", "enum", "the masking rule is none, keep-ends, keep-first or full")
	}
	if m.Rule == MaskNone && (f.Sensitivity == SensitivityPersonal || f.Sensitivity == SensitivitySensitive) {
		fs.Add(mp, "masking", "a personal or sensitive field is masked: choose keep-ends, keep-first or full")
	}
}

// HolderField returns the field that carries the holder's identifier.
func (t Template) HolderField() (Field, bool) {
	for _, f := range t.Fields {
		if f.Holder {
			return f, true
		}
	}
	return Field{}, false
}

// CheckHolderKind refuses a holder field whose format is not the
// identifier of kind: a credit code for organizations, a citizen ID number
// for persons.
func (t Template) CheckHolderKind(kind HolderKind) error {
	want := FormatCreditCode
	if kind == HolderPerson {
		want = FormatCitizenID
	}
	for i, f := range t.Fields {
		if f.Holder && f.Format != want {
			field := fmt.Sprintf("fields[%d].format", i)
			return &apperr.Error{Kind: apperr.Invalid, Detail: fmt.Sprintf("the holder of this type is identified by format %s", want),
				Fields: []apperr.FieldError{{Field: field, Rule: "holder-kind", Detail: fmt.Sprintf("the holder of this type is identified by format %s", want)}}}
		}
	}
	return nil
}
