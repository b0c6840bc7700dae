package apperr_test

import (
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

func TestName(t *testing.T) {
	cases := []struct {
		name, v string
		rule    string // "" when the value passes
	}{
		{"plain Chinese", "西安市市场监督管理局", ""},
		{"Latin with spaces and punctuation", "Acme (Xi'an) Co., Ltd.", ""},
		{"emoji-free mixed script", "合同专用章 No.2", ""},
		{"empty", "", "required"},
		{"too long", strings.Repeat("长", 101), "max-length"},
		{"invalid UTF-8", "ab\xffcd", "utf8"},
		{"replacement character", "公司\uFFFD", "utf8"},
		{"right-to-left override", "公司\u202E章用同合", "bidi-control"},
		{"left-to-right embedding", "\u202A公司", "bidi-control"},
		{"pop directional formatting", "公司\u202C", "bidi-control"},
		{"first strong isolate", "\u2068公司\u2069", "bidi-control"},
		{"right-to-left isolate", "\u2067公司", "bidi-control"},
		{"right-to-left mark", "公司\u200F", "bidi-control"},
		{"Arabic letter mark", "公司\u061C", "bidi-control"},
		{"zero-width space", "公\u200B司", "invisible"},
		{"zero-width joiner", "公\u200D司", "invisible"},
		{"zero-width no-break space", "\uFEFF公司", "invisible"},
		{"word joiner", "公\u2060司", "invisible"},
		{"soft hyphen", "公\u00AD司", "invisible"},
		{"tab", "公\t司", "no-control"},
		{"newline", "公司\n", "no-control"},
		{"DEL", "公司\x7f", "no-control"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fs apperr.Fields
			ok := fs.Name("name", c.v, 100, true)
			got := ""
			if len(fs) > 0 {
				got = fs[0].Rule
				if fs[0].Field != "name" || len(fs) != 1 {
					t.Fatalf("errors %+v, want one on name", fs)
				}
			}
			if got != c.rule || ok != (c.rule == "") {
				t.Fatalf("Name(%q) = %v, rule %q; want rule %q", c.v, ok, got, c.rule)
			}
		})
	}
}
