package api

import "encoding/json"

// VerifyLicense is what verifying a license takes: its signed
// document.
type VerifyLicense struct {
	// Document is the signed license document as a JSON object, exactly
	// as GET /api/v1/licenses/{id}/document returns it or a holder
	// presents it; its members' layout does not matter (the signature
	// covers the canonical JSON of the license), their values do.
	Document json.RawMessage `json:"document" doc:"The signed license document (docs/license-format.md): the JSON object {\"license\": …, \"signature\": …} as GET /api/v1/licenses/{id}/document returns it."`
}
