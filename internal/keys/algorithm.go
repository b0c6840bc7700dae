// Package keys holds the signature algorithms zhengzhao signs licences and
// seals with, and the in-memory ("software") keys that implement them.
//
// It exists so that the rest of the code base never touches a curve, a digest
// or an encoding directly: a caller picks an [Algorithm], gets a [Signer] and
// calls [Verify]. Each algorithm hashes the message the way its standard
// requires, so callers always pass whole messages, never digests. SM2 with SM3
// (GB/T 32918, GM/T 0009) is the default because Chinese government
// electronic licences (GB/T 35276) are signed with it; ECDSA P-256 and Ed25519
// are offered for interoperability with international verifiers.
//
// All cryptography is delegated to crypto/... and github.com/emmansun/gmsm.
package keys

import (
	"errors"
	"fmt"
	"strings"
)

// Algorithm names a signature algorithm together with its digest and
// signature encoding. Its string value is stable and may be stored.
type Algorithm string

const (
	// SM2SM3 is SM2 over the SM2 P-256 curve with the SM3 digest of
	// Z_A || message, where Z_A is computed with the standard default user ID
	// "1234567812345678" (GB/T 32918.2, GM/T 0009, as used by GB/T 35276).
	// Signatures are ASN.1 DER SEQUENCE{r, s}. It is the default algorithm.
	SM2SM3 Algorithm = "SM2-SM3"
	// ECDSAP256 is ECDSA over NIST P-256 with SHA-256; signatures are ASN.1 DER.
	ECDSAP256 Algorithm = "ECDSA-P256-SHA256"
	// Ed25519 is pure Ed25519 (RFC 8032); signatures are the raw 64 bytes.
	Ed25519 Algorithm = "Ed25519"
)

// DefaultAlgorithm is the algorithm used when the operator does not choose one.
const DefaultAlgorithm = SM2SM3

// knownAlgorithms is the constant table of supported algorithms, in
// preference order.
var knownAlgorithms = [...]Algorithm{SM2SM3, ECDSAP256, Ed25519}

// Algorithms returns the supported algorithms, default first.
func Algorithms() []Algorithm {
	return knownAlgorithms[:]
}

// ErrUnknownAlgorithm is returned (wrapped) when an algorithm name is not one
// of the supported ones. Callers treat it as a configuration or input error
// and report the offending name; retrying cannot help.
var ErrUnknownAlgorithm = errors.New("keys: unknown signature algorithm")

// ErrAlgorithmMismatch is returned (wrapped) when a key does not belong to the
// algorithm it is used with, for example an Ed25519 public key passed to
// Verify with SM2SM3, or an ECDSA key on a curve other than P-256. Callers
// treat it as a programming or configuration error, distinct from a
// signature that simply fails to verify.
var ErrAlgorithmMismatch = errors.New("keys: key does not match algorithm")

// ParseAlgorithm returns the Algorithm named by s. Matching ignores ASCII
// case and surrounding white space, so "sm2-sm3" is accepted; the returned
// value is always the canonical spelling. Unknown names give an error
// wrapping ErrUnknownAlgorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	t := strings.TrimSpace(s)
	for _, a := range knownAlgorithms {
		if strings.EqualFold(t, string(a)) {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: %q (want one of %s, %s, %s)", ErrUnknownAlgorithm, s, SM2SM3, ECDSAP256, Ed25519)
}

// String returns the canonical name of a.
func (a Algorithm) String() string { return string(a) }

// valid reports whether a is exactly one of the supported algorithms.
func (a Algorithm) valid() bool {
	for _, k := range knownAlgorithms {
		if a == k {
			return true
		}
	}
	return false
}
