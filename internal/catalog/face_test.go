package catalog_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

// faceTemplate has one field of every type and format.
func faceTemplate() catalog.Template {
	f := func(key string, ft catalog.FieldType, required bool, change func(*catalog.Field)) catalog.Field {
		x := field(key)
		x.Type, x.Required, x.MaxLength = ft, required, 0
		if ft == catalog.TypeString {
			x.MaxLength = 20
		}
		if change != nil {
			change(&x)
		}
		return x
	}
	return catalog.Template{Fields: []catalog.Field{
		f("name", catalog.TypeString, true, func(x *catalog.Field) { x.MinLength = 2 }),
		f("scope", catalog.TypeString, false, func(x *catalog.Field) { x.Multiline, x.MaxLength = true, 100 }),
		f("phone", catalog.TypeString, false, func(x *catalog.Field) { x.Pattern = `[0-9]{3,8}` }),
		f("person", catalog.TypeString, false, func(x *catalog.Field) { x.Format, x.MaxLength = catalog.FormatCitizenID, 18 }),
		f("org", catalog.TypeString, false, func(x *catalog.Field) { x.Format, x.MaxLength = catalog.FormatCreditCode, 18 }),
		f("region", catalog.TypeString, false, func(x *catalog.Field) { x.Format, x.MaxLength = catalog.FormatRegion, 6 }),
		f("day", catalog.TypeDate, true, nil),
		f("count", catalog.TypeInteger, false, nil),
		f("capital", catalog.TypeDecimal, false, nil),
		f("sex", catalog.TypeEnum, false, func(x *catalog.Field) { x.Enum = []string{"男", "女"} }),
		f("online", catalog.TypeBoolean, false, nil),
		f("photo", catalog.TypeImage, false, nil),
	}}
}

const photo = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestFaceTemplateIsValid(t *testing.T) {
	if err := faceTemplate().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateFaceAccepts(t *testing.T) {
	face, err := faceTemplate().ValidateFace(json.RawMessage(`{
		"name": "张三丰", "scope": "第一行\n第二行", "phone": "12315",
		"person": " 11010519491231002x", "org": "91350100m000100y43", "region": "350102",
		"day": "2024-02-29", "count": -42, "capital": "1000.50", "sex": "男",
		"online": false, "photo": "` + photo + `"
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.Face{
		"name": "张三丰", "scope": "第一行\n第二行", "phone": "12315",
		"person": "11010519491231002X", "org": "91350100M000100Y43", "region": "350102",
		"day": "2024-02-29", "count": int64(-42), "capital": "1000.50", "sex": "男",
		"online": false, "photo": photo,
	}
	if !reflect.DeepEqual(face, want) {
		t.Errorf("face = %#v\nwant %#v", face, want)
	}
}

func TestValidateFaceAbsentValues(t *testing.T) {
	face, err := faceTemplate().ValidateFace(json.RawMessage(`{"name": "张三", "day": "2024-01-01", "scope": "", "count": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(face) != 2 {
		t.Errorf("face = %v, want only name and day: empty and null optional values are absent", face)
	}
}

func TestValidateFaceRefuses(t *testing.T) {
	const base = `"name": "张三", "day": "2024-01-01"`
	tests := []struct {
		name, face string
		want       []string
	}{
		{"not JSON", `{"name": `, []string{"face: json"}},
		{"syntax error after a duplicate", `{"name": "a", "name": "b", "day": }`, []string{"face: json"}},
		{"trailing data", `{` + base + `} {}`, []string{"face: json"}},
		{"empty input", ``, []string{"face: json"}},
		{"an array", `[1, 2]`, []string{"face: type"}},
		{"a string", `"张三"`, []string{"face: type"}},
		{"null", `null`, []string{"face: type"}},
		{"invalid UTF-8", "{\"name\": \"\xff\xfe\", \"day\": \"2024-01-01\"}", []string{"face: utf8"}},
		{"empty object", `{}`, []string{"face.name: required", "face.day: required"}},
		{"required null", `{"name": null, "day": ""}`, []string{"face.name: required", "face.day: required"}},
		{"unknown field", `{` + base + `, "salary": 100}`, []string{"face.salary: unknown-field"}},
		{"unknown field with an odd key", `{` + base + `, "a.b\u202e": 1}`, []string{`face."a.b\u202e": unknown-field`}},
		{"duplicate key", `{` + base + `, "name": "李四"}`, []string{"face.name: duplicate"}},
		{"string as number", `{"name": 12, "day": "2024-01-01"}`, []string{"face.name: type"}},
		{"string as object", `{"name": {"zh": "张三"}, "day": "2024-01-01"}`, []string{"face.name: type"}},
		{"too short", `{"name": "张", "day": "2024-01-01"}`, []string{"face.name: min-length"}},
		{"too long", `{"name": "` + strings.Repeat("长", 21) + `", "day": "2024-01-01"}`, []string{"face.name: max-length"}},
		{"20 Chinese characters fit", `{"name": "` + strings.Repeat("长", 20) + `", "day": "2024-01-01"}`, nil},
		{"bidi override", `{"name": "张\u202e三", "day": "2024-01-01"}`, []string{"face.name: bidi-control"}},
		{"zero-width space", `{"name": "张\u200b三", "day": "2024-01-01"}`, []string{"face.name: invisible"}},
		{"line feed in one line", `{"name": "张\n三", "day": "2024-01-01"}`, []string{"face.name: no-control"}},
		{"replacement character", `{"name": "张\ufffd", "day": "2024-01-01"}`, []string{"face.name: utf8"}},
		{"carriage return in multiline", `{` + base + `, "scope": "一\r\n二"}`, []string{"face.scope: no-control"}},
		{"bidi in multiline", `{` + base + `, "scope": "一\n\u2066二"}`, []string{"face.scope: bidi-control"}},
		{"pattern", `{` + base + `, "phone": "12315x"}`, []string{"face.phone: pattern"}},
		{"pattern is anchored", `{` + base + `, "phone": "a12315"}`, []string{"face.phone: pattern"}},
		{"citizen id check character", `{` + base + `, "person": "110105194912310021"}`, []string{"face.person: check-character"}},
		{"citizen id birth date", `{` + base + `, "person": "110105194902300000"}`, []string{"face.person: birth-date"}},
		{"credit code check character", `{` + base + `, "org": "91350100M000100Y44"}`, []string{"face.org: check-character"}},
		{"credit code org check character", `{` + base + `, "org": "91350100M000100Y53"}`, []string{"face.org: org-code-check-character"}},
		{"region", `{` + base + `, "region": "990000"}`, []string{"face.region: region"}},
		{"date form", `{"name": "张三", "day": "2024-1-1"}`, []string{"face.day: date"}},
		{"date with time", `{"name": "张三", "day": "2024-01-01T00:00:00Z"}`, []string{"face.day: date"}},
		{"date not in calendar", `{"name": "张三", "day": "2023-02-29"}`, []string{"face.day: date"}},
		{"date as number", `{"name": "张三", "day": 20240101}`, []string{"face.day: type"}},
		{"integer with fraction", `{` + base + `, "count": 1.5}`, []string{"face.count: type"}},
		{"integer with exponent", `{` + base + `, "count": 1e3}`, []string{"face.count: type"}},
		{"integer too large", `{` + base + `, "count": 9223372036854775808}`, []string{"face.count: type"}},
		{"integer as string", `{` + base + `, "count": "12"}`, []string{"face.count: type"}},
		{"decimal as number", `{` + base + `, "capital": 1000.5}`, []string{"face.capital: type"}},
		{"decimal exponent", `{` + base + `, "capital": "1e3"}`, []string{"face.capital: decimal"}},
		{"decimal grouping", `{` + base + `, "capital": "1,000"}`, []string{"face.capital: decimal"}},
		{"decimal leading zero", `{` + base + `, "capital": "01"}`, []string{"face.capital: decimal"}},
		{"decimal dot only", `{` + base + `, "capital": "1."}`, []string{"face.capital: decimal"}},
		{"enum member", `{` + base + `, "sex": "未知"}`, []string{"face.sex: enum"}},
		{"boolean as string", `{` + base + `, "online": "true"}`, []string{"face.online: type"}},
		{"image upper-case hex", `{` + base + `, "photo": "` + strings.ToUpper(photo) + `"}`, []string{"face.photo: image-ref"}},
		{"image URL", `{` + base + `, "photo": "https://example.com/a.png"}`, []string{"face.photo: image-ref"}},
		{"every error at once", `{"name": "张", "day": "x", "count": "1", "sex": "?", "online": 1, "extra": true, "person": "1"}`, []string{
			"face.name: min-length", "face.day: date", "face.count: type", "face.sex: enum",
			"face.online: type", "face.extra: unknown-field", "face.person: length",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			face, err := faceTemplate().ValidateFace(json.RawMessage(tt.face))
			wantRules(t, err, tt.want...)
			if err != nil && face != nil {
				t.Errorf("face = %v with an error, want nil", face)
			}
		})
	}
}
