package catalog_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
)

// messages is loaded once for the whole test binary.
var messages = sync.OnceValues(i18n.New)

// fieldRules returns the "field: rule" pairs of err, sorted, and fails the
// test when err is not an *apperr.Error (unless it is nil) or names a rule
// that has no message for users (internal/i18n/locales).
func fieldRules(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	cat, cerr := messages()
	if cerr != nil {
		t.Fatal(cerr)
	}
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apperr.Error", err, err)
	}
	var out []string
	for _, f := range e.Fields {
		if f.Field == "" || f.Rule == "" || f.Detail == "" {
			t.Errorf("field error %+v lacks a field, rule or detail", f)
		}
		if !cat.Has("rule." + f.Rule) {
			t.Errorf("rule %q of field %s has no message in internal/i18n/locales", f.Rule, f.Field)
		}
		out = append(out, f.Field+": "+f.Rule)
	}
	slices.Sort(out)
	return out
}

// wantRules asserts that err carries exactly the field errors want
// ("field: rule", any order), of kind Invalid when want is not empty.
func wantRules(t testing.TB, err error, want ...string) {
	t.Helper()
	got := fieldRules(t, err)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("field errors = %q, want %q (error %v)", got, want, err)
	}
	if len(want) > 0 && !errors.Is(err, apperr.Invalid) {
		t.Errorf("error %v is not of kind invalid", err)
	}
}

// shipped returns the shipped definition of code.
func shipped(t testing.TB, code string) catalog.Definition {
	t.Helper()
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Type.Code == code {
			return d
		}
	}
	t.Fatalf("no shipped type %s", code)
	return catalog.Definition{}
}

// field returns a valid public string field of the key.
func field(key string) catalog.Field {
	return catalog.Field{
		Key: key, Label: catalog.Label{ZH: "字段" + key, EN: "Field " + strings.ReplaceAll(key, "_", " ")},
		Type: catalog.TypeString, MaxLength: 50,
		Sensitivity: catalog.SensitivityPublic, Masking: catalog.Masking{Rule: catalog.MaskNone},
	}
}
