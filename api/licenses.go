package api

import (
	"encoding/json"
	"time"
)

// NewLicense is what issuing a license takes (R-ISS-1).
type NewLicense struct {
	Type        string `json:"type" maxLength:"6" doc:"The license type code."`
	TypeVersion int    `json:"type_version,omitempty" minimum:"0" doc:"The approved template version to issue under; left out for the newest approved one."`
	HolderID    string `json:"holder_id" maxLength:"64" doc:"The holder's citizen ID number (a person) or unified social credit code (an organization), checked with its check characters."`
	HolderName  string `json:"holder_name" maxLength:"200"`
	// ValidFrom defaults to the time of issue; ValidUntil is given only
	// for a type whose validity rule lets the issuer set it.
	ValidFrom  *time.Time `json:"valid_from,omitempty" doc:"When the license starts to be valid; the time of issue when left out."`
	ValidUntil *time.Time `json:"valid_until,omitempty" doc:"The end date, for a type whose validity the issuer sets; fixed and open-ended types compute it."`
	// Face is the face data: one JSON object of the template's fields.
	Face json.RawMessage `json:"face" doc:"The face data: one object of the template's fields, and only those."`
	// Materials are archived with the license in its issuing transaction.
	Materials []NewMaterial `json:"materials,omitempty" maxItems:"20" doc:"Issuance materials (签发材料) archived with the license: at most 20 files, 10 MiB each, 20 MiB together."`
}

// NewMaterial is an issuance material (签发材料) as a request carries it.
type NewMaterial struct {
	Name      string `json:"name" maxLength:"200" doc:"The file's name, without a directory, e.g. 申请表.pdf."`
	MediaType string `json:"media_type" enum:"application/pdf,application/ofd,image/png,image/jpeg,application/xml,application/json" doc:"The file's media type; its bytes must be of that type."`
	Content   []byte `json:"content" doc:"The file, base64; at most 10 MiB."`
}

// LicenseMaterial is an issuance material archived with a license, without
// its content (GET …/materials/{seq} returns the bytes).
type LicenseMaterial struct {
	LicenseID string    `json:"license_id"`
	Seq       int       `json:"seq" doc:"The material's number within the license, from 1."`
	Name      string    `json:"name"`
	MediaType string    `json:"media_type"`
	Size      int64     `json:"size" doc:"Bytes."`
	SM3       string    `json:"sm3" doc:"SM3 digest of the content, hex."`
	AddedBy   string    `json:"added_by" doc:"The account that archived it."`
	AddedAt   time.Time `json:"added_at"`
}

// License is an issued license as its issuer reads it.
type License struct {
	ID          string     `json:"id" doc:"The platform-wide identifier (docs/license-format.md)."`
	Number      string     `json:"number" doc:"The license number printed on the face."`
	Type        string     `json:"type"`
	TypeVersion int        `json:"type_version"`
	Issuer      string     `json:"issuer"`
	HolderKind  string     `json:"holder_kind" enum:"person,organization"`
	HolderID    string     `json:"holder_id"`
	HolderName  string     `json:"holder_name"`
	ValidFrom   time.Time  `json:"valid_from"`
	ValidUntil  *time.Time `json:"valid_until,omitempty"`
	State       string     `json:"state" enum:"active,suspended,pledged,reported-lost,expired,revoked,cancelled,abolished" doc:"The lifecycle state (docs/licenses.md, \"Lifecycle\")."`
	Version     int64      `json:"version" doc:"The signed version of the license, from 1; a change, renewal or reissue signs the next."`
	StatusList  int        `json:"status_list" doc:"The number of the issuer's status list that holds the current version."`
	StatusIndex int        `json:"status_index" doc:"The current version's index in it; each version has its own."`
	SealID      string     `json:"seal_id" doc:"The license-issuing seal that signed the current version."`
	IssuedBy    string     `json:"issued_by"`
	IssuedAt    time.Time  `json:"issued_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	// Materials are given in the answer to issuance only.
	Materials []LicenseMaterial `json:"materials,omitempty" doc:"In the answer to issuance: the materials archived with it."`
}

// LicenseTransitionRequest is what a lifecycle operation on a license
// takes (R-ISS-4).
type LicenseTransitionRequest struct {
	Operation string `json:"operation" enum:"change,renew,suspend,resume,pledge,release,revoke,cancel,abolish,report-lost,reissue" doc:"The operation; the transition table of docs/licenses.md says from which states."`
	Reason    string `json:"reason" maxLength:"500" doc:"Why: kept in the license's history and the audit log."`
	// Face, TypeVersion and ValidUntil are for the operations that sign a
	// new version; the others refuse them.
	Face        json.RawMessage `json:"face,omitempty" doc:"change: the new face data, one object of the template's fields; left out to keep the current one."`
	TypeVersion int             `json:"type_version,omitempty" minimum:"0" doc:"change: the approved template version to sign under; left out to keep the current one."`
	ValidUntil  *time.Time      `json:"valid_until,omitempty" doc:"renew, change: the new end, for a type whose validity the issuer sets."`
}

// LicenseTransition is one entry of a license's history.
type LicenseTransition struct {
	Seq       int64     `json:"seq" doc:"The number of the transition in the license's history, from 1."`
	Operation string    `json:"operation" doc:"The operation: one of those a request names, or expire (by the clock)."`
	From      string    `json:"from" enum:"active,suspended,pledged,reported-lost,expired,revoked,cancelled,abolished"`
	To        string    `json:"to" enum:"active,suspended,pledged,reported-lost,expired,revoked,cancelled,abolished"`
	Reason    string    `json:"reason"`
	Actor     string    `json:"actor" doc:"The account that applied it, or system."`
	At        time.Time `json:"at"`
	Version   int64     `json:"version" doc:"The license's version after it."`
}

// NewLicenseTransfer is what filing an issuer transfer job takes (R-ISS-5).
type NewLicenseTransfer struct {
	From   string   `json:"from" maxLength:"18" doc:"The credit code of the organization whose licenses move."`
	To     string   `json:"to" maxLength:"18" doc:"The credit code of the issuing organization they move to; its license-issuing seal re-signs them."`
	Types  []string `json:"types,omitempty" maxItems:"100" doc:"The license type codes to move; left out, every type the from organization has issued."`
	Reason string   `json:"reason" maxLength:"500" doc:"Why: kept in every moved license's history and the audit log."`
}

// LicenseTransfer is an issuer transfer job and its progress.
type LicenseTransfer struct {
	ID        string    `json:"id"`
	State     string    `json:"state" enum:"queued,running,done,failed,cancelled"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Types     []string  `json:"types"`
	Reason    string    `json:"reason"`
	Total     int64     `json:"total" doc:"How many licenses the job moves: moved and left, as last counted."`
	Moved     int64     `json:"moved"`
	Failure   string    `json:"failure,omitempty" doc:"Why a failed job stopped; resume it once that is fixed."`
	Cursor    string    `json:"cursor,omitempty" doc:"The identifier of the last license moved; licenses move in identifier order."`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewPresentation asks for a holder's dynamic QR payload of a license
// (亮证亮码, docs/qr-format.md). Every request signs a new payload with a
// fresh nonce: the operation is not idempotent.
type NewPresentation struct {
	Disclose []string `json:"disclose,omitempty" maxItems:"64" doc:"Face fields to disclose besides the masked holder name: fields of the type's template that are not sensitive."`
	TTL      int      `json:"ttl,omitempty" minimum:"0" maximum:"600" doc:"How long the payload is valid, in seconds (1 to 600); 60 when left out."`
	Format   string   `json:"format,omitempty" enum:"json,png,svg,json-svg" doc:"The answer: json (the default) the payload and its claims; png or svg the QR code as a picture (error correction M, a quiet zone of four modules); json-svg the payload and its claims with the QR code's SVG in svg."`
	Scale    int      `json:"scale,omitempty" minimum:"0" maximum:"32" doc:"Pixels a module of the PNG; 4 when left out."`
}

// Presentation is a signed QR payload and what it claims.
type Presentation struct {
	Payload     string         `json:"payload" doc:"The ZZ1 payload to draw as a QR code."`
	KID         string         `json:"kid" doc:"The presentation key's identifier, hex (the trust bundle's presentation_keys)."`
	LicenseID   string         `json:"license_id"`
	Type        string         `json:"type"`
	TypeVersion int            `json:"type_version"`
	Issuer      string         `json:"issuer" doc:"The credit code of the license's issuer."`
	Holder      string         `json:"holder" doc:"The holder's name as the payload shows it, masked for a person."`
	Fields      map[string]any `json:"fields" doc:"The face fields disclosed."`
	StatusLists []string       `json:"status_lists" doc:"The revocation list, then the suspension list."`
	StatusIndex int64          `json:"status_index"`
	Nonce       string         `json:"nonce" doc:"The payload's nonce, hex."`
	IssuedAt    time.Time      `json:"issued_at"`
	ExpiresAt   time.Time      `json:"expires_at"`
	SVG         string         `json:"svg,omitempty" doc:"The QR code as SVG markup, when format json-svg asked for it."`
}
