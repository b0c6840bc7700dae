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
