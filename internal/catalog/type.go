package catalog

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// Label is a text shown to people, in both languages of the platform.
type Label struct {
	ZH string `json:"zh-CN"`
	EN string `json:"en"`
}

// maxLabel is the longest label or name, in characters.
const maxLabel = 100

// check adds the errors of a label under field ("name" gives "name.zh-CN"
// and "name.en"); both languages are required.
func (l Label) check(fs *apperr.Fields, field string) {
	fs.Name(field+".zh-CN", l.ZH, maxLabel, true)
	fs.Name(field+".en", l.EN, maxLabel, true)
}

// HolderKind says who holds licenses of a type.
type HolderKind string

// The holder kinds.
const (
	HolderPerson       HolderKind = "person"
	HolderOrganization HolderKind = "organization"
)

// Level is the standard level of a license type (国家级, 省级, 市级, 县级).
type Level string

// The standard levels.
const (
	LevelNational   Level = "national"
	LevelProvincial Level = "provincial"
	LevelMunicipal  Level = "municipal"
	LevelCounty     Level = "county"
)

// Publicity is the public attribute of a license type: who may see
// licenses of the type without the holder's authorization.
type Publicity string

// The public attributes.
const (
	// PublicOpen licenses are published to everyone (社会公开).
	PublicOpen Publicity = "public"
	// PublicShared licenses are shared between government departments only (政务共享).
	PublicShared Publicity = "shared"
	// PublicRestricted licenses are shown only with the holder's authorization (不公开).
	PublicRestricted Publicity = "restricted"
)

// ValidityKind says how the validity period of a license of the type is set.
type ValidityKind string

// The validity kinds.
const (
	// ValidityFixed: valid for Years from the date of issue.
	ValidityFixed ValidityKind = "fixed"
	// ValidityOpenEnded: valid until revoked or cancelled (长期).
	ValidityOpenEnded ValidityKind = "open-ended"
	// ValidityIssuerSet: the issuer sets the end date of each license, at
	// most MaxYears after issue when MaxYears is not zero.
	ValidityIssuerSet ValidityKind = "issuer-set"
)

// maxValidityYears bounds every validity period in years.
const maxValidityYears = 100

// ValidityRule is the validity rule of a license type.
type ValidityRule struct {
	Kind     ValidityKind `json:"kind"`
	Years    int          `json:"years,omitempty"`     // ValidityFixed only
	MaxYears int          `json:"max_years,omitempty"` // ValidityIssuerSet only, 0 for no bound
}

func (v ValidityRule) check(fs *apperr.Fields, field string) {
	switch v.Kind {
	case ValidityFixed:
		if v.Years < 1 || v.Years > maxValidityYears {
			fs.Add(field+".years", "range", fmt.Sprintf("a fixed validity is 1 to %d years", maxValidityYears))
		}
		if v.MaxYears != 0 {
			fs.Add(field+".max_years", "not-applicable", "max_years goes with the issuer-set kind")
		}
	case ValidityOpenEnded:
		if v.Years != 0 || v.MaxYears != 0 {
			fs.Add(field+".years", "not-applicable", "an open-ended validity has no years")
		}
	case ValidityIssuerSet:
		if v.MaxYears < 0 || v.MaxYears > maxValidityYears {
			fs.Add(field+".max_years", "range", fmt.Sprintf("max_years is 0 (no bound) to %d", maxValidityYears))
		}
		if v.Years != 0 {
			fs.Add(field+".years", "not-applicable", "years goes with the fixed kind")
		}
	default:
		fs.Add(field+".kind", "enum", "the validity kind is fixed, open-ended or issuer-set")
	}
}

// Type is a license type of the catalog (R-CAT-1). Its face template is
// versioned apart from it (see Version).
type Type struct {
	// Code is the license type code, six characters of the GB 32100
	// alphabet (ids.ValidateLicenseTypeCode); it opens every license
	// identifier of the type.
	Code string `json:"code"`
	Name Label  `json:"name"`
	// Issuers are the credit codes of the organizations that may issue
	// the type; AnyIssuer instead lets every organization of kind issuer
	// do it. Exactly one of the two is set.
	Issuers         []string          `json:"issuers,omitempty"`
	AnyIssuer       bool              `json:"any_issuer,omitempty"`
	HolderKind      HolderKind        `json:"holder_kind"`
	Level           Level             `json:"level"`
	Public          Publicity         `json:"public"`
	CollectionStart string            `json:"collection_start"` // YYYY-MM-DD: licenses issued since then are collected
	Validity        ValidityRule      `json:"validity"`
	Numbering       ids.NumberingRule `json:"numbering"` // the license number on the face
}

// maxIssuers bounds the explicit issuer list of a type.
const maxIssuers = 1000

// Validate checks the type and returns every broken rule at once, as an
// *apperr.Error of kind Invalid, or nil.
func (t Type) Validate() error {
	var fs apperr.Fields
	addIDError(&fs, "code", ids.ValidateLicenseTypeCode(t.Code))
	t.Name.check(&fs, "name")
	switch {
	case t.AnyIssuer && len(t.Issuers) > 0:
		fs.Add("issuers", "issuer-choice", "name the issuers or allow any issuer, not both")
	case !t.AnyIssuer && len(t.Issuers) == 0:
		fs.Add("issuers", "issuer-choice", "name at least one issuer or allow any issuer")
	case len(t.Issuers) > maxIssuers:
		fs.Add("issuers", "max-length", fmt.Sprintf("at most %d issuers", maxIssuers))
	}
	for i, c := range t.Issuers {
		field := fmt.Sprintf("issuers[%d]", i)
		if err := ids.ValidateCreditCode(c); err != nil {
			addIDError(&fs, field, err)
		} else if slices.Index(t.Issuers, c) < i {
			fs.Add(field, "unique", "the issuer is listed twice")
		}
	}
	if !slices.Contains(HolderKinds(), t.HolderKind) {
		fs.Add("holder_kind", "enum", "the holder kind is person or organization")
	}
	if !slices.Contains(Levels(), t.Level) {
		fs.Add("level", "enum", "the level is national, provincial, municipal or county")
	}
	if !slices.Contains(Publicities(), t.Public) {
		fs.Add("public", "enum", "the public attribute is public, shared or restricted")
	}
	if _, err := time.Parse(time.DateOnly, t.CollectionStart); err != nil {
		fs.Add("collection_start", "date", "a date YYYY-MM-DD")
	}
	t.Validity.check(&fs, "validity")
	addIDError(&fs, "numbering", t.Numbering.Validate())
	return fs.Err()
}

// addIDError turns an identifier error, if any, into a field error under
// its rule.
func addIDError(fs *apperr.Fields, field string, err error) {
	if err == nil {
		return
	}
	var ie *ids.Error
	if errors.As(err, &ie) {
		fs.Add(field, ie.Rule, ie.Detail)
		return
	}
	fs.Add(field, "invalid", err.Error())
}
