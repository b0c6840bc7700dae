package api

import "time"

// MatterNeed is one license type a matter needs and the face fields of it
// the matter needs (R-USE-1): nothing else is ever shown for the matter.
type MatterNeed struct {
	Type   string   `json:"type" maxLength:"6" doc:"The license type's code."`
	Fields []string `json:"fields" minItems:"1" maxItems:"100" doc:"Keys of face fields of the type's approved template."`
}

// MatterContent is what one version of a matter says.
type MatterContent struct {
	Name       string       `json:"name" maxLength:"200"`
	LegalBasis string       `json:"legal_basis" maxLength:"2000" doc:"设定依据: the law or rule that makes the matter need these licenses."`
	Needs      []MatterNeed `json:"needs" minItems:"1" maxItems:"20"`
}

// NewMatter is what listing a matter takes.
type NewMatter struct {
	Code string `json:"code" maxLength:"32" doc:"Unique within the unit: upper-case letters and digits, with '.', '-' or '_' inside."`
	MatterContent
}

// MatterVersion is one version of a matter and its review.
type MatterVersion struct {
	Org    string `json:"org" doc:"The using unit's credit code."`
	Code   string `json:"code"`
	Number int    `json:"number"`
	MatterContent
	State      string     `json:"state" enum:"pending,approved,refused,superseded"`
	Author     string     `json:"author"`
	ProposedAt time.Time  `json:"proposed_at"`
	DecidedBy  string     `json:"decided_by,omitempty" doc:"Who approved or refused the version, or wrote the change that superseded it."`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

// Matter is a matter (用证事项) of a using unit.
type Matter struct {
	Org             string    `json:"org"`
	Code            string    `json:"code"`
	Name            string    `json:"name" doc:"The name its newest version gives."`
	CreatedBy       string    `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
	LatestVersion   int       `json:"latest_version"`
	ApprovedVersion int       `json:"approved_version" doc:"The version a use acts under: the newest approved one; 0 while none is approved."`
}

// MatterReview is the body of an approval or a refusal.
type MatterReview struct {
	Reason string `json:"reason,omitempty" maxLength:"500" doc:"Required to refuse."`
}

// NewTypeGrant is what granting a license type to a using unit takes.
type NewTypeGrant struct {
	Org        string     `json:"org" maxLength:"64" doc:"The using unit's credit code."`
	Type       string     `json:"type" maxLength:"6" doc:"The license type's code."`
	ValidUntil *time.Time `json:"valid_until,omitempty" doc:"When the grant ends; absent: until withdrawn."`
	Reason     string     `json:"reason,omitempty" maxLength:"500" doc:"Why, e.g. the agreement the grant rests on."`
}

// TypeGrant is a using unit's access to one license type (一证一接口, R-USE-3).
type TypeGrant struct {
	ID         string     `json:"id"`
	Org        string     `json:"org"`
	Type       string     `json:"type"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	State      string     `json:"state" enum:"active,expired,withdrawn" doc:"active: in force now; expired: its end has passed."`
	GrantedBy  string     `json:"granted_by"`
	GrantedAt  time.Time  `json:"granted_at"`
	ClosedBy   string     `json:"closed_by,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	Reason     string     `json:"reason,omitempty" doc:"Why it was granted, or, once closed, why it was withdrawn."`
}

// Withdrawal is the body of a withdrawal: why.
type Withdrawal struct {
	Reason string `json:"reason" maxLength:"500"`
}

// UseQuery is a scoped use (R-USE-2): one holder's licenses for one matter
// of the caller's unit, optionally of one type.
type UseQuery struct {
	Matter   string `json:"matter" maxLength:"32" doc:"The code of a matter of your unit with an approved version."`
	HolderID string `json:"holder_id" maxLength:"64" doc:"The holder's citizen ID number or unified social credit code, checked with its check characters."`
	Type     string `json:"type,omitempty" maxLength:"6" doc:"Only licenses of this type, which the matter must need and your unit must be granted."`
	Case     string `json:"case,omitempty" maxLength:"256" doc:"Your unit's case number: every license returned is kept with the case (归档)."`
}

// UsedField is one face field a use returns.
type UsedField struct {
	Value    any  `json:"value" doc:"The value, masked under the template's rule when masked is true."`
	Masked   bool `json:"masked" doc:"The value is shown masked."`
	Unmasked bool `json:"unmasked,omitempty" doc:"The holder's authorization of your unit for the matter lifted the mask."`
}

// UsedLicense is one license a use returns, with only the fields the
// matter's approved version needs of its type.
type UsedLicense struct {
	ID          string               `json:"id"`
	Type        string               `json:"type"`
	TypeVersion int                  `json:"type_version"`
	Issuer      string               `json:"issuer" doc:"The issuing organization's credit code."`
	State       string               `json:"state" doc:"active or pledged: only licenses in force are used."`
	ValidFrom   time.Time            `json:"valid_from"`
	ValidUntil  *time.Time           `json:"valid_until,omitempty"`
	Fields      map[string]UsedField `json:"fields"`
}

// UseResult is the answer to a use: the matter version it acted under and
// the holder's licenses in force, possibly none.
type UseResult struct {
	Org           string        `json:"org" doc:"Your unit's credit code."`
	Matter        string        `json:"matter"`
	MatterVersion int           `json:"matter_version" doc:"The approved version whose needs decided the fields."`
	Use           string        `json:"use" doc:"This use's id: its license.used audit entries name it, and a license it returned is attached to a case by it."`
	Case          string        `json:"case,omitempty" doc:"The case the licenses returned are kept with."`
	Licenses      []UsedLicense `json:"licenses"`
}

// CaseAttachment keeps a license one of your unit's uses returned with a
// case of your unit.
type CaseAttachment struct {
	Use     string `json:"use" maxLength:"64" doc:"The use that returned the license, as POST /api/v1/uses answered it."`
	License string `json:"license" maxLength:"64" doc:"The license's id."`
}

// CaseRecord is one license kept with a case of a using unit (R-USE-6):
// which license, which use returned it and its audit entry; no face value.
type CaseRecord struct {
	Org           string    `json:"org" doc:"The using unit's credit code."`
	Case          string    `json:"case"`
	License       string    `json:"license"`
	Type          string    `json:"type"`
	Number        string    `json:"number" doc:"The license number printed on its face."`
	Use           string    `json:"use"`
	Matter        string    `json:"matter"`
	MatterVersion int       `json:"matter_version"`
	UsedBy        string    `json:"used_by" doc:"The account that used the license."`
	UsedAt        time.Time `json:"used_at"`
	AttachedBy    string    `json:"attached_by"`
	AttachedAt    time.Time `json:"attached_at"`
	Entry         *uint64   `json:"entry,omitempty" doc:"The index in the audit log of the use's license.used entry of the license; absent for the second or so before it is integrated."`
}

// UsageRow counts the uses of one issuer's licenses by one unit for one
// matter in one month.
type UsageRow struct {
	Issuer   string `json:"issuer"`
	Unit     string `json:"unit" doc:"The using unit's credit code; empty for a redemption by no unit's account."`
	Matter   string `json:"matter" doc:"The matter; empty for a redemption that named none."`
	Month    string `json:"month" doc:"YYYY-MM, in China Standard Time (UTC+8)."`
	Uses     int64  `json:"uses" doc:"Licenses returned by scoped uses and redemptions accepted."`
	Refusals int64  `json:"refusals" doc:"Redemptions refused."`
}

// UsageReport is an issuers' usage report (R-SEC-2).
type UsageReport struct {
	From string     `json:"from"`
	To   string     `json:"to"`
	Rows []UsageRow `json:"rows"`
}
