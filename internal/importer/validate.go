package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// Record is a row that passed validation: a license as it will be
// imported, the row the license service's import batch takes.
type Record = license.ImportRow

// Problem is one broken rule of a rejected row. Value is the cell as the
// report may show it: masked under the template's rule, the holder's
// identifier always masked.
type Problem struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	// Field is the target: "number", "holder_id", "valid_from",
	// "face.name", ...; "" for a problem of the row as a whole.
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule"`
	Value  string `json:"value,omitempty"`
	Detail string `json:"detail"`
}

// maxNumber bounds the license number on the face, in characters.
const maxNumber = 64

// chinaTime is the zone whose calendar the dates of a file are in (UTC+8
// has no daylight saving time).
var chinaTime = time.FixedZone("CST", 8*3600)

// Validator checks rows against one license type under one mapping. It
// reuses a buffer from row to row: one goroutine uses it at a time (a
// parallel import gives each worker its own).
type Validator struct {
	entry    catalog.Entry
	template catalog.Template
	mapping  Mapping
	plan     *plan
	now      func() time.Time
	holder   catalog.Field
	buf      bytes.Buffer
}

// NewValidator returns a validator of rows of license type e under the
// template of the version to import into. now is the clock: the
// completion date may not lie after its day.
func NewValidator(e catalog.Entry, t catalog.Template, m Mapping, now func() time.Time) *Validator {
	v := &Validator{entry: e, template: t, mapping: m, now: now}
	// The holder's identifier is never shown in clear in a report, even
	// where the template shows it (a company's credit code is public on
	// the face, a report travels by mail): the holder field's own rule
	// when it masks, else the first four and last four characters.
	v.holder = catalog.Field{Masking: catalog.Masking{Rule: catalog.MaskKeepEnds, First: 4, Last: 4}}
	if hf, ok := t.HolderField(); ok && hf.Masking.Rule != catalog.MaskNone {
		v.holder = hf
	}
	return v
}

// Bind checks the header of the file against the mapping, before any row
// is read; see Mapping.resolve for the errors.
func (v *Validator) Bind(h *Header) error {
	p, err := v.mapping.resolve(h, v.entry, v.template)
	if err != nil {
		return err
	}
	v.plan = p
	return nil
}

// Check validates one row as the issuance of the same license would be
// validated (license.Check), plus what a stock license carries that an
// issuance does not: its number and the date its case completed. It
// returns the record, or the row's problems, every broken rule at once.
// Bind must have been called.
func (v *Validator) Check(row Row) (Record, []Problem) {
	p := v.plan
	cell := func(i int) string {
		if i < 0 || i >= len(row.Values) {
			return ""
		}
		return row.Values[i]
	}
	var fs apperr.Fields
	rec := Record{Row: row.Number, Number: strings.TrimSpace(cell(p.number)), HolderID: cell(p.holderID), HolderName: cell(p.holderName)}
	fs.Name(TargetNumber, rec.Number, maxNumber, true)
	n := license.NewLicense{Type: v.entry.Code, HolderID: rec.HolderID, HolderName: rec.HolderName, Face: v.face(row)}
	if from, ok := date(&fs, TargetValidFrom, cell(p.validFrom), true); ok {
		n.ValidFrom = &from
	}
	if until, ok := date(&fs, TargetValidUntil, cell(p.validUntil), false); ok {
		n.ValidUntil = &until
	}
	today := v.now().In(chinaTime)
	if done, ok := date(&fs, TargetCompletedOn, cell(p.completedOn), true); ok {
		if done.After(today) {
			fs.Add(TargetCompletedOn, "not-future", "the case cannot complete after today")
		}
		rec.CompletedOn = done
	}
	// A valid_from missing or broken is reported above; license.Check
	// would take it as now, which an import must not.
	c, err := license.Check(v.entry, v.template, n, today)
	var ae *apperr.Error
	switch {
	case err == nil:
	case errors.As(err, &ae):
		fs = append(fs, ae.Fields...)
	default:
		fs.Add("", "invalid", err.Error())
	}
	if len(fs) > 0 {
		return Record{}, v.problems(row, fs)
	}
	rec.HolderID, rec.HolderName = c.HolderID, strings.TrimSpace(rec.HolderName)
	rec.ValidFrom, rec.ValidUntil, rec.Face = c.ValidFrom, c.ValidUntil, c.Face
	return rec, nil
}

// face writes the face cells as the JSON object an issuer would send: an
// empty cell is left out, an integer or boolean cell is written as a JSON
// number or boolean when it reads as one (else as a string, which the
// template then refuses by its type), every other cell as a string.
func (v *Validator) face(row Row) json.RawMessage {
	b := &v.buf
	b.Reset()
	b.WriteByte('{')
	first := true
	for _, fc := range v.plan.face {
		val := ""
		if fc.col < len(row.Values) {
			val = row.Values[fc.col]
		}
		if val == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteByte('"')
		b.WriteString(fc.field.Key) // keys are [a-z][a-z0-9_]*
		b.WriteString(`":`)
		switch t := strings.TrimSpace(val); {
		case fc.field.Type == catalog.TypeInteger && isInteger(t):
			b.WriteString(t)
		case fc.field.Type == catalog.TypeBoolean && (t == "true" || t == "false"):
			b.WriteString(t)
		default:
			writeJSONString(b, val)
		}
	}
	b.WriteByte('}')
	return bytes.Clone(b.Bytes())
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil && s != "" && s[0] != '+'
}

// writeJSONString writes s as a JSON string: quote, backslash and control
// characters escaped, the rest as it is (the reader refused invalid
// UTF-8). json.Marshal would do the same at several times the cost, on
// every cell of millions of rows.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// date reads a date YYYY-MM-DD of the file as the start of that day in
// China. An empty cell is "required" when required, else absent.
func date(fs *apperr.Fields, field, s string, required bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			fs.Add(field, "required", "a value is required")
		}
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(time.DateOnly, s, chinaTime)
	if err != nil || len(s) != len(time.DateOnly) {
		fs.Add(field, "date", "a date YYYY-MM-DD")
		return time.Time{}, false
	}
	return t, true
}

// problems turns the broken rules of a row into report lines, each with
// its column and its value masked.
func (v *Validator) problems(row Row, fs apperr.Fields) []Problem {
	out := make([]Problem, 0, len(fs))
	for _, f := range fs {
		p := Problem{Row: row.Number, Field: f.Field, Rule: f.Rule, Detail: f.Detail}
		if col, ok := v.plan.columns[f.Field]; ok {
			p.Column = col
			val, _ := row.Cell(col)
			p.Value = v.mask(f.Field, val)
		}
		out = append(out, p)
	}
	return out
}

// maxShown bounds a value shown in a report, in characters.
const maxShown = 64

// mask returns a cell as a report may show it: masked first (so that the
// characters a rule keeps at the end are the value's), then cut to
// maxShown characters.
func (v *Validator) mask(target, val string) string {
	m := v.maskRule(target, val)
	m = strings.ToValidUTF8(m, "\uFFFD")
	if utf8.RuneCountInString(m) > maxShown {
		m = string([]rune(m)[:maxShown]) + "…"
	}
	return m
}

func (v *Validator) maskRule(target, val string) string {
	switch {
	case target == TargetHolderID:
		return catalog.Mask(v.holder, val)
	case target == TargetHolderName && v.entry.HolderKind == catalog.HolderPerson:
		return catalog.Mask(catalog.Field{Masking: catalog.Masking{Rule: catalog.MaskKeepFirst, First: 1}}, val)
	case strings.HasPrefix(target, "face."):
		f, ok := v.template.Field(strings.TrimPrefix(target, "face."))
		switch {
		case !ok:
			return catalog.Mask(catalog.Field{Masking: catalog.Masking{Rule: catalog.MaskFull}}, val)
		case f.Holder:
			return catalog.Mask(v.holder, val)
		}
		return catalog.Mask(f, val)
	}
	return val
}

// String gives a problem as one line, for logs and the command line.
func (p Problem) String() string {
	s := fmt.Sprintf("row %d", p.Row)
	if p.Column != "" {
		s += fmt.Sprintf(", column %s", p.Column)
	}
	if p.Field != "" {
		s += fmt.Sprintf(" (%s)", p.Field)
	}
	s += ": " + p.Rule + ": " + p.Detail
	if p.Value != "" {
		s += fmt.Sprintf(" [%s]", p.Value)
	}
	return s
}
