// Package license reads and writes the signed license document: a license
// as RFC 8785 canonical JSON and the GB/T 38540 SES_Signature the issuer's
// license-issuing seal (证照专用章) made over its SM3 digest, the same
// signature format as any sealed document (R-ISS-1). Any GB/T 38540
// verifier can therefore check a license: it canonicalizes the "license"
// member, hashes it with SM3 and checks the SES_Signature over that digest.
//
// It exists below both the licenses capability, which issues and stores
// documents, and the public verify package, which checks them offline, so
// it is pure: the standard library, RFC 8785 canonical JSON
// (internal/keys/canon) and SM3. It does not import internal/ids (the
// leaves of internal/keys and internal/codec import only each other, so
// that verify stays light): it checks the layout and check characters of
// the license identifier itself, and the issuing service checks the full
// rules with ids.ParseLicenseID before it signs.
//
// Decode is strict, as it reads outside input: one JSON object of at most
// MaxDocumentSize bytes, every member known and present once, times in
// RFC 3339 UTC whole seconds, numbers integers an IEEE double holds
// exactly. Whatever Decode accepts, Encode writes back as the canonical
// document; the format is described in docs/license-format.md.
package license
