// Package i18n holds the user-facing text of the platform in zh-CN (the
// default) and English. Validation rules double as message IDs, so the API,
// the CLI and the console say the same thing about the same broken rule.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var locales embed.FS

// Lang is a supported language.
type Lang string

// The supported languages.
const (
	ZH Lang = "zh-CN"
	EN Lang = "en"
)

// Parse picks a language from a --lang value, a LANG locale ("en_US.UTF-8")
// or an Accept-Language header; anything it does not recognise is zh-CN.
func Parse(s string) Lang {
	for _, part := range strings.Split(s, ",") {
		p := strings.ToLower(strings.TrimSpace(part))
		switch {
		case strings.HasPrefix(p, "en"):
			return EN
		case strings.HasPrefix(p, "zh"):
			return ZH
		}
	}
	return ZH
}

// Lookup returns the language a --lang value names: zh, zh-CN, zh_CN.UTF-8
// and the like are zh-CN, en, en-US, en_GB… are en. Anything else is not a
// language this program speaks, and ok is false.
func Lookup(s string) (l Lang, ok bool) {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ".")
	primary, _, _ := strings.Cut(strings.ReplaceAll(base, "_", "-"), "-")
	switch primary {
	case "zh":
		return ZH, true
	case "en":
		return EN, true
	}
	return "", false
}

// FromLocale maps a POSIX locale (LANG, LC_ALL) to a language: zh_* is
// zh-CN, en_* is en, and C, POSIX or any other locale is the default zh-CN.
func FromLocale(locale string) Lang {
	if l, ok := Lookup(locale); ok {
		return l
	}
	return ZH
}

// Catalog translates message IDs.
type Catalog struct {
	loc map[Lang]*goi18n.Localizer
}

// New loads the embedded message files.
func New() (*Catalog, error) {
	b := goi18n.NewBundle(language.SimplifiedChinese)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	for _, f := range []string{"locales/zh-CN.json", "locales/en.json"} {
		if _, err := b.LoadMessageFileFS(locales, f); err != nil {
			return nil, fmt.Errorf("load %s: %w", f, err)
		}
	}
	return &Catalog{loc: map[Lang]*goi18n.Localizer{
		ZH: goi18n.NewLocalizer(b, string(ZH)),
		EN: goi18n.NewLocalizer(b, string(EN)),
	}}, nil
}

// T returns the message id in lang, filled with data. An unknown id comes
// back as fallback, or as the id itself when fallback is empty.
func (c *Catalog) T(lang Lang, id string, data map[string]any, fallback string) string {
	l, ok := c.loc[lang]
	if !ok {
		l = c.loc[ZH]
	}
	s, err := l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil || s == "" {
		if fallback != "" {
			return fallback
		}
		return id
	}
	return s
}

// Has reports whether id is a known message.
func (c *Catalog) Has(id string) bool {
	_, err := c.loc[EN].Localize(&goi18n.LocalizeConfig{MessageID: id})
	return err == nil
}
