package api

import "time"

// Key is a signing key's public record.
type Key struct {
	ID         string     `json:"id"`
	Org        string     `json:"org"`
	Name       string     `json:"name"`
	Version    int        `json:"version"`
	Purpose    string     `json:"purpose" enum:"seal,license-signing,presentation,checkpoint,ca,status-list"`
	Algorithm  string     `json:"algorithm" enum:"SM2-SM3,ECDSA-P256-SHA256,Ed25519"`
	Backend    string     `json:"backend" enum:"software,pkcs11"`
	State      string     `json:"state" enum:"active,disabled,retired"`
	CreatedAt  time.Time  `json:"created_at"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
	ReplacedBy string     `json:"replaced_by,omitempty" doc:"The key that replaced this one at rotation."`
}

// PublicKey is a key's public half in the two usual encodings.
type PublicKey struct {
	KeyID     string         `json:"key_id"`
	Algorithm string         `json:"algorithm"`
	State     string         `json:"state"`
	PEM       string         `json:"pem" doc:"SubjectPublicKeyInfo, PEM."`
	JWK       map[string]any `json:"jwk" doc:"JSON Web Key; SM2 keys use kty EC with crv SM2 (not IANA-registered)."`
}

// DataKey is a data key of the envelope encryption (`zhengzhao key
// data-keys --json`); it is not served over HTTP.
type DataKey struct {
	Purpose     string     `json:"purpose"`
	Version     int64      `json:"version"`
	Suite       string     `json:"suite"`
	State       string     `json:"state"`
	MasterKeyID string     `json:"master_key_id"`
	CreatedAt   time.Time  `json:"created_at"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
}

// DataKeyRotation is what rotating the data keys of one purpose did
// (`zhengzhao key rotate-data-keys --json`); it is not served over HTTP.
type DataKeyRotation struct {
	Purpose     string  `json:"purpose"`
	Version     int64   `json:"version"`
	Suite       string  `json:"suite"`
	Resumed     bool    `json:"resumed"`
	Scanned     int64   `json:"scanned"`
	Reencrypted int64   `json:"reencrypted"`
	Retired     []int64 `json:"retired"`
	Done        bool    `json:"done"`
}
