package i18n

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Lang{
		"": ZH, "C.UTF-8": ZH, "en_US.UTF-8": EN, "en": EN, "zh_CN.UTF-8": ZH,
		"fr-FR, en;q=0.8": EN, "zh-CN,zh;q=0.9,en;q=0.8": ZH, "de": ZH,
	} {
		if got := Parse(in); got != want {
			t.Errorf("Parse(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestLookupAndFromLocale(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lang   Lang
		ok     bool
		locale Lang
	}{
		{"zh-CN", ZH, true, ZH}, {"zh", ZH, true, ZH}, {"zh_CN.UTF-8", ZH, true, ZH}, {"zh_TW.Big5", ZH, true, ZH},
		{"en", EN, true, EN}, {"EN-us", EN, true, EN}, {"en_GB.UTF-8", EN, true, EN},
		{"C.UTF-8", "", false, ZH}, {"C", "", false, ZH}, {"POSIX", "", false, ZH}, {"fr", "", false, ZH},
		{"fr_FR.UTF-8", "", false, ZH}, {"", "", false, ZH}, {"english", "", false, ZH},
	} {
		if l, ok := Lookup(tc.in); l != tc.lang || ok != tc.ok {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.in, l, ok, tc.lang, tc.ok)
		}
		if l := FromLocale(tc.in); l != tc.locale {
			t.Errorf("FromLocale(%q) = %q, want %q", tc.in, l, tc.locale)
		}
	}
}

// TestLocalesAgree proves every message exists in both languages.
func TestLocalesAgree(t *testing.T) {
	keys := func(f string) []string {
		b, err := locales.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var k []string
		for id := range m {
			k = append(k, id)
		}
		slices.Sort(k)
		return k
	}
	if zh, en := keys("locales/zh-CN.json"), keys("locales/en.json"); !slices.Equal(zh, en) {
		t.Fatalf("zh-CN and en message IDs differ:\n%v\n%v", zh, en)
	}
}

func TestT(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T(ZH, "cli.org.created", map[string]any{"Code": "X", "Name": "Y"}, ""); got != "已创建单位 X Y" {
		t.Errorf("zh = %q", got)
	}
	if got := c.T(EN, "rule.required", nil, ""); got != "is required" {
		t.Errorf("en = %q", got)
	}
	if got := c.T(EN, "no.such", nil, "fallback"); got != "fallback" {
		t.Errorf("fallback = %q", got)
	}
	if !c.Has("rule.phone") || c.Has("no.such") {
		t.Error("Has is wrong")
	}
}
