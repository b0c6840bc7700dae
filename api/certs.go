package api

import "time"

// Certificate is an X.509 certificate of the platform.
type Certificate struct {
	Fingerprint      string     `json:"fingerprint" doc:"SHA-256 of the DER, hex."`
	Serial           string     `json:"serial" doc:"Serial number, hex."`
	KeyID            string     `json:"key_id,omitempty"`
	Kind             string     `json:"kind" enum:"root,seal,issuer,external-root"`
	Source           string     `json:"source" enum:"internal,external"`
	Issuer           string     `json:"issuer,omitempty" doc:"Fingerprint of the issuing root."`
	Subject          string     `json:"subject"`
	NotBefore        time.Time  `json:"not_before"`
	NotAfter         time.Time  `json:"not_after"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	RevocationReason int        `json:"revocation_reason,omitempty" doc:"RFC 5280 reason code."`
	PEM              string     `json:"pem"`
}
