package api

import "time"

// Attachment names a supporting document of a seal application by its
// SHA-256.
type Attachment struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// SealApplication is an application for an action on a seal.
type SealApplication struct {
	ID            string       `json:"id"`
	Org           string       `json:"org"`
	Action        string       `json:"action"`
	SealID        string       `json:"seal_id,omitempty"`
	SealKind      string       `json:"seal_kind,omitempty"`
	Name          string       `json:"name,omitempty"`
	Reason        string       `json:"reason"`
	Justification string       `json:"justification,omitempty"`
	Attachments   []Attachment `json:"attachments"`
	Keepers       []string     `json:"keepers,omitempty"`
	UsePolicy     string       `json:"use_policy,omitempty"`
	Service       string       `json:"service,omitempty" doc:"bind, unbind: the service the seal signs for without a PIN."`
	LicenseTypes  []string     `json:"license_types,omitempty" doc:"bind: the license type codes the binding allows; none: every type."`
	Until         *time.Time   `json:"until,omitempty" doc:"bind: when the binding lapses; none: when it is unbound or the seal cancelled."`
	Status        string       `json:"status"`
	Applicant     string       `json:"applicant"`
	Approver      string       `json:"approver,omitempty"`
	Comment       string       `json:"comment,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	DecidedAt     *time.Time   `json:"decided_at,omitempty"`
}

// Seal is an electronic seal.
type Seal struct {
	ID              string    `json:"id" doc:"Seal code: region, credit code, kind, sequence, check character."`
	Org             string    `json:"org"`
	Kind            string    `json:"kind"`
	Name            string    `json:"name"`
	State           string    `json:"state" enum:"active,suspended,cancelled"`
	Valid           bool      `json:"valid" doc:"Active and within its certificate's validity now."`
	ValidFrom       time.Time `json:"valid_from"`
	ValidTo         time.Time `json:"valid_to"`
	KeyID           string    `json:"key_id"`
	CertFingerprint string    `json:"cert_fingerprint"`
	ImageFormat     string    `json:"image_format"`
	ImageHash       string    `json:"image_hash" doc:"SM3 of the image, hex."`
	WidthMM         int       `json:"width_mm"`
	HeightMM        int       `json:"height_mm"`
	Structure       []byte    `json:"structure" doc:"GB/T 38540 SES_Seal, DER (base64)."`
	Keepers         []string  `json:"keepers"`
	UsePolicy       string    `json:"use_policy"`
	PINSet          bool      `json:"pin_set"`
	PINStale        bool      `json:"pin_stale" doc:"The PIN is older than the configured age: its keeper should change it."`
	Locked          bool      `json:"locked" doc:"Too many wrong PINs: only an approved pin-reset application unlocks it."`
	FilingState     string    `json:"filing_state" enum:"queued,filed"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// SealEvent is a state change of a seal: who, when, why.
type SealEvent struct {
	ID            string    `json:"id"`
	SealID        string    `json:"seal_id"`
	At            time.Time `json:"at"`
	Actor         string    `json:"actor"`
	Action        string    `json:"action"`
	State         string    `json:"state" enum:"active,suspended,cancelled"`
	Reason        string    `json:"reason,omitempty"`
	ApplicationID string    `json:"application_id,omitempty" doc:"The application whose approval made the change."`
}

// UseRequest is a request to apply a seal to one document.
type UseRequest struct {
	ID        string     `json:"id"`
	SealID    string     `json:"seal_id"`
	DocHash   string     `json:"doc_hash"`
	Title     string     `json:"title"`
	Purpose   string     `json:"purpose"`
	Requester string     `json:"requester"`
	Needed    int        `json:"needed" doc:"Approvals the seal's use policy needs."`
	Approvals []string   `json:"approvals"`
	Status    string     `json:"status" enum:"pending,approved,rejected,used"`
	Comment   string     `json:"comment,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// SealBinding is a license-issuing seal bound to a service, which signs
// with it without a PIN, each signature a recorded use of the seal.
type SealBinding struct {
	ID            string     `json:"id"`
	SealID        string     `json:"seal_id"`
	Org           string     `json:"org"`
	Service       string     `json:"service" enum:"license-issuance"`
	LicenseTypes  []string   `json:"license_types" doc:"The license type codes it allows; empty: every type."`
	Until         *time.Time `json:"until,omitempty" doc:"When the binding lapses; absent: no end date."`
	InForce       bool       `json:"in_force" doc:"Not lapsed now (the seal must still be active and valid to sign)."`
	ApplicationID string     `json:"application_id"`
	BoundBy       string     `json:"bound_by"`
	BoundAt       time.Time  `json:"bound_at"`
}
