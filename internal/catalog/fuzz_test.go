package catalog_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

// FuzzValidateFace feeds arbitrary bytes to every shipped template and to
// the template with one field of each type: it never panics, an accepted
// face passes again unchanged and holds only template fields, and every
// refusal is an Invalid error whose field errors each name a field under
// "face" and a rule.
func FuzzValidateFace(f *testing.F) {
	defs, err := catalog.Shipped()
	if err != nil {
		f.Fatal(err)
	}
	templates := []catalog.Template{faceTemplate()}
	for _, d := range defs {
		templates = append(templates, d.Template)
		f.Add([]byte(d.Sample))
	}
	for _, s := range []string{
		`{"name": "张三", "day": "2024-01-01", "count": 1, "online": true, "capital": "1.5", "photo": "` + photo + `"}`,
		`{}`, `[]`, `null`, `{"a":1,"a":2}`, "{\"name\":\"\xff\"}", `{"name": "\u202e"}`, `{"count": 1e400}`,
		`{"name": {"x": [1, 2, {"y": null}]}}`, `{"":""}`, `{"name":"a"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, tpl := range templates {
			face, err := tpl.ValidateFace(b)
			if err == nil {
				for k := range face {
					if _, ok := tpl.Field(k); !ok {
						t.Fatalf("accepted field %q the template does not name", k)
					}
				}
				again, err := json.Marshal(face)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tpl.ValidateFace(again); err != nil {
					t.Fatalf("the accepted face %s is refused when sent again: %v", again, err)
				}
				continue
			}
			var e *apperr.Error
			if !errors.As(err, &e) || e.Kind != apperr.Invalid || len(e.Fields) == 0 {
				t.Fatalf("error %v is not an Invalid error with field errors", err)
			}
			for _, fe := range e.Fields {
				if (fe.Field != "face" && !strings.HasPrefix(fe.Field, "face.")) || fe.Rule == "" || !utf8.ValidString(fe.Field) {
					t.Fatalf("field error %+v does not name a face field and a rule", fe)
				}
			}
		}
	})
}

// FuzzTemplate decodes arbitrary templates: Validate never panics, and a
// template it accepts validates and masks faces without panicking.
func FuzzTemplate(f *testing.F) {
	defs, err := catalog.Shipped()
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range defs {
		b, err := json.Marshal(d.Template)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte(d.Sample))
	}
	f.Add([]byte(`{"fields":[{"key":"a","type":"string","max_length":1,"pattern":"(","masking":{"rule":"keep-ends","first":1}}]}`), []byte(`{"a":"x"}`))
	f.Fuzz(func(t *testing.T, tb, face []byte) {
		var tpl catalog.Template
		if json.Unmarshal(tb, &tpl) != nil {
			return
		}
		if err := tpl.Validate(); err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || len(e.Fields) == 0 {
				t.Fatalf("Validate error %v carries no field errors", err)
			}
			return
		}
		got, err := tpl.ValidateFace(face)
		if err != nil {
			return
		}
		masked := tpl.MaskFace(got)
		for k, v := range masked {
			// A value of nothing but mask characters may mask to itself.
			s, isString := got[k].(string)
			if fl, _ := tpl.Field(k); fl.Masking.Rule != catalog.MaskNone && isString && strings.Trim(s, "*") != "" && v == s {
				t.Fatalf("field %s under %s shown unmasked: %v", k, fl.Masking.Rule, v)
			}
		}
	})
}
