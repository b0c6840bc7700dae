package api

import "time"

// Label is a text shown to people, in both languages of the platform.
type Label struct {
	ZH string `json:"zh-CN"`
	EN string `json:"en"`
}

// ValidityRule says how the validity period of a license of a type is set.
type ValidityRule struct {
	Kind     string `json:"kind" enum:"fixed,open-ended,issuer-set"`
	Years    int    `json:"years,omitempty" doc:"fixed: valid for this many years from the date of issue."`
	MaxYears int    `json:"max_years,omitempty" doc:"issuer-set: at most this many years after issue; 0 for no bound."`
}

// NewLicenseType is what defining a license type takes (R-CAT-1).
type NewLicenseType struct {
	Code            string       `json:"code" maxLength:"6" doc:"Six characters of the GB 32100 alphabet; it opens every license identifier of the type."`
	Name            Label        `json:"name"`
	Issuers         []string     `json:"issuers,omitempty" maxItems:"1000" doc:"Credit codes of the issuers; or set any_issuer. An issuer names its own organization only."`
	AnyIssuer       bool         `json:"any_issuer,omitempty" doc:"Every organization of kind issuer may issue the type (platform admins only)."`
	HolderKind      string       `json:"holder_kind" enum:"person,organization"`
	Level           string       `json:"level" enum:"national,provincial,municipal,county"`
	Public          string       `json:"public" enum:"public,shared,restricted"`
	CollectionStart string       `json:"collection_start" maxLength:"10" doc:"YYYY-MM-DD: licenses issued since then are collected."`
	Validity        ValidityRule `json:"validity"`
	Numbering       string       `json:"numbering" maxLength:"200" doc:"The pattern of the license number on the face (docs/license-format.md)."`
}

// LicenseType is a license type of the catalog.
type LicenseType struct {
	NewLicenseType
	Owner           string    `json:"owner" doc:"The organization that defined the type and proposes its versions."`
	CreatedBy       string    `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
	ApprovedVersion int       `json:"approved_version" doc:"The newest approved version, under which licenses are issued; 0 while none is approved."`
}

// Masking is how a face field is masked when shown masked.
type Masking struct {
	Rule  string `json:"rule" enum:"none,keep-ends,keep-first,full"`
	First int    `json:"first,omitempty"`
	Last  int    `json:"last,omitempty"`
}

// TemplateField is one field of a license face.
type TemplateField struct {
	Key         string   `json:"key" maxLength:"40"`
	Label       Label    `json:"label"`
	Type        string   `json:"type" enum:"string,date,integer,decimal,enum,boolean,image"`
	Required    bool     `json:"required,omitempty"`
	MinLength   int      `json:"min_length,omitempty"`
	MaxLength   int      `json:"max_length,omitempty"`
	Pattern     string   `json:"pattern,omitempty" maxLength:"500"`
	Enum        []string `json:"enum,omitempty" maxItems:"200"`
	Format      string   `json:"format,omitempty" enum:"citizen-id,credit-code,region"`
	Multiline   bool     `json:"multiline,omitempty"`
	Holder      bool     `json:"holder,omitempty" doc:"The field carries the holder's identifier: issuance requires it to equal holder_id (format citizen-id or credit-code, as the type's holder kind wants; one field at most)."`
	Sensitivity string   `json:"sensitivity" enum:"public,personal,sensitive"`
	Masking     Masking  `json:"masking"`
}

// Template is the face template of a license type version: the fields a
// license carries, and only those (R-CAT-4).
type Template struct {
	Fields []TemplateField `json:"fields" maxItems:"200"`
}

// FaceLabels are what a page needs to show the face fields of licenses of
// an approved template version: the type's name and each field's label and
// sensitivity. Templates are not secret, so anyone may read them.
type FaceLabels struct {
	TypeCode    string       `json:"type_code"`
	TypeVersion int          `json:"type_version"`
	Name        Label        `json:"name" doc:"The license type's name."`
	Fields      []FieldLabel `json:"fields"`
}

// FieldLabel is the label of one face field.
type FieldLabel struct {
	Key         string `json:"key"`
	Label       Label  `json:"label"`
	Sensitivity string `json:"sensitivity" enum:"public,personal,sensitive" doc:"A sensitive field is never disclosed in a presentation."`
}

// VersionEvent is one transition of a version: who, when and why.
type VersionEvent struct {
	Action string    `json:"action" enum:"submit,withdraw,approve,reject"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// LicenseTypeVersion is one version of a license type's template and its
// review by the platform operator (R-CAT-2, R-CAT-3).
type LicenseTypeVersion struct {
	TypeCode string         `json:"type_code"`
	Number   int            `json:"number"`
	State    string         `json:"state" enum:"draft,pending,approved,rejected"`
	Author   string         `json:"author"`
	Template Template       `json:"template"`
	Events   []VersionEvent `json:"events"`
}
