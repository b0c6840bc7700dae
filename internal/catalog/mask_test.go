package catalog_test

import (
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

func TestMask(t *testing.T) {
	m := func(rule catalog.MaskRule, first, last int) catalog.Field {
		f := field("v")
		f.Masking = catalog.Masking{Rule: rule, First: first, Last: last}
		return f
	}
	tests := []struct {
		name  string
		field catalog.Field
		in    string
		want  string
	}{
		{"none", m(catalog.MaskNone, 0, 0), "张三丰", "张三丰"},
		{"full hides the length", m(catalog.MaskFull, 0, 0), "欧阳娜娜", "***"},
		{"full of one character", m(catalog.MaskFull, 0, 0), "张", "***"},
		{"keep first of a Chinese name", m(catalog.MaskKeepFirst, 1, 0), "张三丰", "张**"},
		{"keep first of a compound surname", m(catalog.MaskKeepFirst, 2, 0), "欧阳娜娜", "欧阳**"},
		{"keep first of two characters", m(catalog.MaskKeepFirst, 1, 0), "张三", "张*"},
		{"keep first of one character hides it", m(catalog.MaskKeepFirst, 1, 0), "张", "*"},
		{"keep first more than the value", m(catalog.MaskKeepFirst, 5, 0), "张三丰", "张三*"},
		{"keep ends of a citizen id", m(catalog.MaskKeepEnds, 3, 4), "11010519491231002X", "110***********002X"},
		{"keep ends of Chinese text", m(catalog.MaskKeepEnds, 1, 1), "福州市鼓楼区", "福****区"},
		{"keep ends of two characters", m(catalog.MaskKeepEnds, 1, 1), "张三", "张*"},
		{"keep ends of three characters", m(catalog.MaskKeepEnds, 1, 1), "张三丰", "张*丰"},
		{"keep ends of one character", m(catalog.MaskKeepEnds, 1, 1), "张", "*"},
		{"keep last only", m(catalog.MaskKeepEnds, 0, 2), "13912345678", "*********78"},
		{"keep last of two", m(catalog.MaskKeepEnds, 0, 2), "78", "*8"},
		{"mixed scripts by rune", m(catalog.MaskKeepEnds, 2, 2), "A张B李C王", "A张**C王"},
		{"empty", m(catalog.MaskKeepEnds, 1, 1), "", ""},
		{"invalid UTF-8 masks fully", m(catalog.MaskKeepFirst, 1, 0), "\xe5\xbc", "***"},
		{"unknown rule masks fully", m("blur", 1, 1), "张三丰", "***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := catalog.Mask(tt.field, tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskFace(t *testing.T) {
	name := field("name")
	name.Sensitivity, name.Masking = catalog.SensitivityPersonal, catalog.Masking{Rule: catalog.MaskKeepFirst, First: 1}
	count := field("count")
	count.Type, count.MaxLength, count.Masking = catalog.TypeInteger, 0, catalog.Masking{Rule: catalog.MaskKeepEnds, Last: 2}
	online := field("online")
	online.Type, online.MaxLength = catalog.TypeBoolean, 0
	tpl := catalog.Template{Fields: []catalog.Field{name, count, online}}
	got := tpl.MaskFace(catalog.Face{"name": "张三丰", "count": int64(12345), "online": true, "stray": "x"})
	want := catalog.Face{"name": "张**", "count": "***45", "online": true}
	if len(got) != len(want) {
		t.Fatalf("MaskFace = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("MaskFace[%s] = %#v, want %#v", k, got[k], v)
		}
	}
}
