// Package qr is the dynamic QR payload a holder shows (亮证亮码, R-HOL-2):
// CBOR claims naming the license and the face fields the holder chose to
// disclose, in a COSE_Sign1 signed by the platform's presentation key
// (SM2 with SM3 by default, ES256 available), compressed with zlib,
// Base45-encoded (RFC 9285) and prefixed with "ZZ1:" — the layout of the
// EU digital COVID certificate, with SM2. docs/qr-format.md defines the
// format byte by byte with a worked example.
//
// Encode builds a payload; Decode reads one without trusting it and names
// the key that signed it; Verify checks the signature under that key and
// the one-minute validity window. Each refusal wraps one of the package's
// Err values, so a verifier can tell an expired payload from a forged one.
//
// Like the other codecs it is pure: no state, no store, only cryptography
// below it, so that the public verify package may use it. Which keys are
// trusted and which nonces were seen are the verifier's business.
package qr
