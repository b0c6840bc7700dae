package catalog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

func TestTemplateValidate(t *testing.T) {
	enum := func(values ...string) catalog.Field {
		f := field("kind")
		f.Type, f.MaxLength, f.Enum = catalog.TypeEnum, 0, values
		return f
	}
	typed := func(ft catalog.FieldType) catalog.Field {
		f := field("v")
		f.Type, f.MaxLength = ft, 0
		return f
	}
	with := func(f catalog.Field, change func(*catalog.Field)) catalog.Field {
		change(&f)
		return f
	}
	tests := []struct {
		name   string
		fields []catalog.Field
		want   []string
	}{
		{"one string field", []catalog.Field{field("name")}, nil},
		{"every type", []catalog.Field{
			field("s"), enum("a", "b"), typed(catalog.TypeDate), typed(catalog.TypeInteger),
			with(typed(catalog.TypeDecimal), func(f *catalog.Field) { f.Key = "d" }),
			with(typed(catalog.TypeBoolean), func(f *catalog.Field) { f.Key = "b" }),
			with(typed(catalog.TypeImage), func(f *catalog.Field) { f.Key = "i" }),
		}, []string{"fields[3].key: unique"}},
		{"no fields", nil, []string{"fields: required"}},
		{"too many fields", func() []catalog.Field {
			var fs []catalog.Field
			for i := range 201 {
				fs = append(fs, field(fmt.Sprintf("f%d", i)))
			}
			return fs
		}(), []string{"fields: max-length"}},
		{"duplicate key", []catalog.Field{field("name"), field("name")}, []string{"fields[1].key: unique"}},
		{"a holder field", []catalog.Field{with(field("code"), func(f *catalog.Field) { f.Format, f.Holder = catalog.FormatCreditCode, true })}, nil},
		{"two holder fields", []catalog.Field{
			with(field("a"), func(f *catalog.Field) { f.Format, f.Holder = catalog.FormatCitizenID, true }),
			with(field("b"), func(f *catalog.Field) { f.Format, f.Holder = catalog.FormatCitizenID, true }),
		}, []string{"fields[1].holder: unique"}},
		{"a holder field that is no identifier", []catalog.Field{
			with(field("a"), func(f *catalog.Field) { f.Holder = true }),
			with(field("r"), func(f *catalog.Field) { f.Format, f.Holder = catalog.FormatRegion, true }),
		}, []string{"fields[0].holder: holder-format", "fields[1].holder: unique", "fields[1].holder: holder-format"}},
		{"key syntax", []catalog.Field{field("Name"), field("1a"), field(""), field("a-b"), field("名称"), field(strings.Repeat("a", 41)), field(strings.Repeat("a", 40))},
			[]string{"fields[0].key: key", "fields[1].key: key", "fields[2].key: key", "fields[3].key: key", "fields[4].key: key", "fields[5].key: key"}},
		{"labels", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Label = catalog.Label{ZH: "", EN: "A\u200b"} })},
			[]string{"fields[0].label.zh-CN: required", "fields[0].label.en: invisible"}},
		{"unknown type", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Type = "text"; f.MaxLength = 0 })},
			[]string{"fields[0].type: enum"}},
		{"string without max length", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.MaxLength = 0 })},
			[]string{"fields[0].max_length: range"}},
		{"string too long", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.MaxLength = 4001 })},
			[]string{"fields[0].max_length: range"}},
		{"min above max", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.MinLength = 51 })},
			[]string{"fields[0].min_length: range"}},
		{"negative min", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.MinLength = -1 })},
			[]string{"fields[0].min_length: range"}},
		{"pattern compiles", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Pattern = `[0-9]{3}-[A-Z]+` })}, nil},
		{"pattern does not compile", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Pattern = `[0-9` })},
			[]string{"fields[0].pattern: regexp"}},
		{"pattern too long", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Pattern = strings.Repeat("a", 501) })},
			[]string{"fields[0].pattern: max-length"}},
		{"constraints on a date", []catalog.Field{with(typed(catalog.TypeDate), func(f *catalog.Field) {
			f.MaxLength, f.MinLength, f.Pattern, f.Format, f.Multiline, f.Enum = 10, 1, "x", catalog.FormatRegion, true, []string{"a"}
		})}, []string{
			"fields[0].max_length: not-applicable", "fields[0].min_length: not-applicable", "fields[0].pattern: not-applicable",
			"fields[0].format: not-applicable", "fields[0].multiline: not-applicable", "fields[0].enum: not-applicable",
		}},
		{"enum without values", []catalog.Field{enum()}, []string{"fields[0].enum: required"}},
		{"enum value twice", []catalog.Field{enum("男", "女", "男")}, []string{"fields[0].enum[2]: unique"}},
		{"enum value empty or hidden", []catalog.Field{enum("", "a\u202eb")}, []string{"fields[0].enum[0]: required", "fields[0].enum[1]: bidi-control"}},
		{"unknown format", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Format = "passport" })},
			[]string{"fields[0].format: enum"}},
		{"multiline identifier", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Format, f.Multiline = catalog.FormatCitizenID, true })},
			[]string{"fields[0].multiline: not-applicable"}},
		{"unknown sensitivity", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Sensitivity = "secret" })},
			[]string{"fields[0].sensitivity: enum"}},
		{"unknown masking", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Masking.Rule = "blur" })},
			[]string{"fields[0].masking.rule: enum"}},
		{"personal field unmasked", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Sensitivity = catalog.SensitivityPersonal })},
			[]string{"fields[0].masking: masking"}},
		{"sensitive field unmasked", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Sensitivity = catalog.SensitivitySensitive })},
			[]string{"fields[0].masking: masking"}},
		{"sensitive field masked", []catalog.Field{with(field("a"), func(f *catalog.Field) {
			f.Sensitivity, f.Masking = catalog.SensitivitySensitive, catalog.Masking{Rule: catalog.MaskKeepEnds, First: 3, Last: 4}
		})}, nil},
		{"keep on a boolean", []catalog.Field{with(typed(catalog.TypeBoolean), func(f *catalog.Field) {
			f.Masking = catalog.Masking{Rule: catalog.MaskKeepFirst, First: 1}
		})}, []string{"fields[0].masking: masking"}},
		{"keep on an image", []catalog.Field{with(typed(catalog.TypeImage), func(f *catalog.Field) {
			f.Masking = catalog.Masking{Rule: catalog.MaskKeepEnds, First: 1, Last: 1}
		})}, []string{"fields[0].masking: masking"}},
		{"full on an image", []catalog.Field{with(typed(catalog.TypeImage), func(f *catalog.Field) {
			f.Sensitivity, f.Masking = catalog.SensitivitySensitive, catalog.Masking{Rule: catalog.MaskFull}
		})}, nil},
		{"keep nothing", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Masking = catalog.Masking{Rule: catalog.MaskKeepEnds} })},
			[]string{"fields[0].masking: masking"}},
		{"keep negative", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Masking = catalog.Masking{Rule: catalog.MaskKeepEnds, First: 3, Last: -1} })},
			[]string{"fields[0].masking: masking"}},
		{"keep-first with last", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Masking = catalog.Masking{Rule: catalog.MaskKeepFirst, First: 1, Last: 1} })},
			[]string{"fields[0].masking: masking"}},
		{"keep everything", []catalog.Field{with(field("a"), func(f *catalog.Field) {
			f.MaxLength, f.Masking = 4, catalog.Masking{Rule: catalog.MaskKeepEnds, First: 2, Last: 2}
		})}, []string{"fields[0].masking: masking"}},
		{"full with a count", []catalog.Field{with(field("a"), func(f *catalog.Field) { f.Masking = catalog.Masking{Rule: catalog.MaskFull, First: 1} })},
			[]string{"fields[0].masking: masking"}},
		{"errors of several fields at once", []catalog.Field{field("a"), field("A"), with(field("b"), func(f *catalog.Field) { f.Pattern = "(" })},
			[]string{"fields[1].key: key", "fields[2].pattern: regexp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRules(t, catalog.Template{Fields: tt.fields}.Validate(), tt.want...)
		})
	}
}

func TestTemplateField(t *testing.T) {
	tpl := catalog.Template{Fields: []catalog.Field{field("a"), field("b")}}
	if f, ok := tpl.Field("b"); !ok || f.Key != "b" {
		t.Errorf("Field(b) = %+v, %v", f, ok)
	}
	if _, ok := tpl.Field("c"); ok {
		t.Error("Field(c) found a field")
	}
}

// TestCheckHolderKind: the holder field identifies the type's holder kind.
func TestCheckHolderKind(t *testing.T) {
	holder := func(f catalog.Format) catalog.Template {
		x := field("id")
		x.Format, x.Holder = f, true
		return catalog.Template{Fields: []catalog.Field{field("name"), x}}
	}
	for _, c := range []struct {
		kind catalog.HolderKind
		tpl  catalog.Template
		ok   bool
	}{
		{catalog.HolderOrganization, holder(catalog.FormatCreditCode), true},
		{catalog.HolderPerson, holder(catalog.FormatCitizenID), true},
		{catalog.HolderPerson, holder(catalog.FormatCreditCode), false},
		{catalog.HolderOrganization, holder(catalog.FormatCitizenID), false},
		{catalog.HolderPerson, catalog.Template{Fields: []catalog.Field{field("name")}}, true},
	} {
		err := c.tpl.CheckHolderKind(c.kind)
		var ae *apperr.Error
		if c.ok != (err == nil) || (err != nil && (!errors.As(err, &ae) || ae.Fields[0].Field != "fields[1].format" || ae.Fields[0].Rule != "holder-kind")) {
			t.Errorf("%s holder, template %+v: %v", c.kind, c.tpl.Fields, err)
		}
	}
}
