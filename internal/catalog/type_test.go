package catalog_test

import (
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

func TestTypeValidate(t *testing.T) {
	good := func() catalog.Type { return shipped(t, "FP0001").Type }
	tests := []struct {
		name   string
		change func(*catalog.Type)
		want   []string
	}{
		{"shipped", func(*catalog.Type) {}, nil},
		{"any issuer", func(ty *catalog.Type) { ty.Issuers, ty.AnyIssuer = nil, true }, nil},
		{"code", func(ty *catalog.Type) { ty.Code = "FP-001" }, []string{"code: charset"}},
		{"code length", func(ty *catalog.Type) { ty.Code = "FP01" }, []string{"code: length"}},
		{"names", func(ty *catalog.Type) { ty.Name = catalog.Label{ZH: "许可\u202e证"} }, []string{"name.zh-CN: bidi-control", "name.en: required"}},
		{"issuers and any issuer", func(ty *catalog.Type) { ty.AnyIssuer = true }, []string{"issuers: issuer-choice"}},
		{"no issuer", func(ty *catalog.Type) { ty.Issuers = nil }, []string{"issuers: issuer-choice"}},
		{"issuer check character", func(ty *catalog.Type) { ty.Issuers = []string{"11350000003000014M"} }, []string{"issuers[0]: check-character"}},
		{"issuer twice", func(ty *catalog.Type) { ty.Issuers = append(ty.Issuers, ty.Issuers[0]) }, []string{"issuers[3]: unique"}},
		{"holder kind", func(ty *catalog.Type) { ty.HolderKind = "company" }, []string{"holder_kind: enum"}},
		{"level", func(ty *catalog.Type) { ty.Level = "village" }, []string{"level: enum"}},
		{"public", func(ty *catalog.Type) { ty.Public = "" }, []string{"public: enum"}},
		{"collection start", func(ty *catalog.Type) { ty.CollectionStart = "2019-02-29" }, []string{"collection_start: date"}},
		{"fixed validity without years", func(ty *catalog.Type) { ty.Validity = catalog.ValidityRule{Kind: catalog.ValidityFixed} }, []string{"validity.years: range"}},
		{"fixed validity with max years", func(ty *catalog.Type) {
			ty.Validity = catalog.ValidityRule{Kind: catalog.ValidityFixed, Years: 5, MaxYears: 5}
		}, []string{"validity.max_years: not-applicable"}},
		{"open-ended with years", func(ty *catalog.Type) { ty.Validity = catalog.ValidityRule{Kind: catalog.ValidityOpenEnded, Years: 1} }, []string{"validity.years: not-applicable"}},
		{"issuer-set", func(ty *catalog.Type) {
			ty.Validity = catalog.ValidityRule{Kind: catalog.ValidityIssuerSet, MaxYears: 20}
		}, nil},
		{"issuer-set too long", func(ty *catalog.Type) {
			ty.Validity = catalog.ValidityRule{Kind: catalog.ValidityIssuerSet, MaxYears: 101}
		}, []string{"validity.max_years: range"}},
		{"issuer-set with years", func(ty *catalog.Type) { ty.Validity = catalog.ValidityRule{Kind: catalog.ValidityIssuerSet, Years: 1} }, []string{"validity.years: not-applicable"}},
		{"validity kind", func(ty *catalog.Type) { ty.Validity = catalog.ValidityRule{Kind: "forever"} }, []string{"validity.kind: enum"}},
		{"numbering", func(ty *catalog.Type) { ty.Numbering = ids.NumberingRule("JY{region}") }, []string{"numbering: pattern"}},
		{"many at once", func(ty *catalog.Type) { ty.Code, ty.Level, ty.Numbering = "", "", "" }, []string{"code: required", "level: enum", "numbering: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ty := good()
			tt.change(&ty)
			wantRules(t, ty.Validate(), tt.want...)
		})
	}
}
