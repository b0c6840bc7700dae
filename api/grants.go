package api

import "time"

// NewAuthorization is a holder's grant (授权用证) of the use of one of its
// licenses to a using unit for a matter.
type NewAuthorization struct {
	LicenseID  string    `json:"license_id" maxLength:"35" doc:"A license the caller holds, in force."`
	Org        string    `json:"org" maxLength:"18" doc:"The using unit: the credit code of an active organization of kind using-unit."`
	Matter     string    `json:"matter" maxLength:"32" doc:"The code of one of the unit's matters (用证事项) with an approved version that needs the license's type; see GET /api/v1/me/units/{unit}/matters."`
	ValidUntil time.Time `json:"valid_until" doc:"The end of the grant: in the future, at most 366 days ahead, no later than the license's end."`
	Fields     []string  `json:"fields,omitempty" maxItems:"50" doc:"Face fields of the license's template the unit may see unmasked."`
}

// Authorization is a holder's grant as the platform keeps it.
type Authorization struct {
	ID          string     `json:"id"`
	LicenseID   string     `json:"license_id"`
	Issuer      string     `json:"issuer" doc:"The license's issuing organization."`
	Org         string     `json:"org" doc:"The using unit's credit code."`
	Matter      string     `json:"matter" doc:"The code of the unit's matter; a grant made before matters were named by code may hold free text, which no use matches."`
	Fields      []string   `json:"fields"`
	ValidUntil  time.Time  `json:"valid_until"`
	State       string     `json:"state" enum:"active,withdrawn,expired" doc:"expired: valid_until has passed."`
	CreatedAt   time.Time  `json:"created_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
}

// UnitMatter is a using unit's matter as a holder chooses it for a grant:
// what its newest approved version says, nothing else.
type UnitMatter struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Version int      `json:"version" doc:"The approved version a use acts under."`
	Types   []string `json:"types" doc:"The license types the matter needs: a grant names a license of one of them."`
}

// LossReport is a holder's report of a license lost (挂失).
type LossReport struct {
	Reason string `json:"reason,omitempty" maxLength:"500" doc:"Optional: kept in the license's history."`
}

// NewReissueRequest is a holder's request for the reissue (补办) of a
// license it reported lost.
type NewReissueRequest struct {
	Reason string `json:"reason,omitempty" maxLength:"500" doc:"Optional: what the issuer should know."`
}

// ReissueRefusal is an issuer's refusal of a reissue request.
type ReissueRefusal struct {
	Reason string `json:"reason" maxLength:"500" doc:"Why: the holder is told."`
}

// ReissueRequest is a holder's request for the reissue of a license.
type ReissueRequest struct {
	ID          string     `json:"id"`
	LicenseID   string     `json:"license_id"`
	Issuer      string     `json:"issuer"`
	RequestedBy string     `json:"requested_by" doc:"The holder (hol_…)."`
	Reason      string     `json:"reason"`
	State       string     `json:"state" enum:"open,done,refused" doc:"done: the issuer reissued the license; refused: see answer."`
	Answer      string     `json:"answer,omitempty" doc:"The issuer's reason for a refusal."`
	ClosedBy    string     `json:"closed_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
}
