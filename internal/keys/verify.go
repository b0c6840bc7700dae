package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
)

// ErrBadSignature is returned (wrapped) by Verify when a signature does not
// verify: the message or signature was altered, the signature is malformed,
// or it was made with another key. Callers must treat the signed object as
// untrusted and reject it (for example HTTP 400/422 and an audit entry); it
// is not a transient failure and retrying cannot help.
var ErrBadSignature = errors.New("keys: signature does not verify")

// Verify checks that sig is a valid alg signature of message under pub.
// It returns nil on success, an error wrapping ErrBadSignature when the
// signature does not verify (including malformed or truncated signatures),
// and an error wrapping ErrAlgorithmMismatch or ErrUnknownAlgorithm when pub
// or alg cannot be used together. It never panics on hostile input.
//
// pub is an *ecdsa.PublicKey on the SM2 curve for SM2SM3, an
// *ecdsa.PublicKey on P-256 for ECDSAP256 and an ed25519.PublicKey for
// Ed25519, as returned by Signer.Public and ParsePublicPEM.
func Verify(alg Algorithm, pub crypto.PublicKey, message, sig []byte) error {
	var ok bool
	switch alg {
	case SM2SM3:
		k, err := ecPublic(pub, sm2.P256(), alg)
		if err != nil {
			return err
		}
		ok = sm2.VerifyASN1WithSM2(k, nil, message, sig)
	case ECDSAP256:
		k, err := ecPublic(pub, elliptic.P256(), alg)
		if err != nil {
			return err
		}
		h := sha256.Sum256(message)
		ok = ecdsa.VerifyASN1(k, h[:], sig)
	case Ed25519:
		k, isEd := pub.(ed25519.PublicKey)
		if !isEd {
			return fmt.Errorf("verify: %w: got %s, want %s public key", ErrAlgorithmMismatch, describeKey(pub), alg)
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("verify %s: %w: public key is %d bytes, want %d", alg, errNilKey, len(k), ed25519.PublicKeySize)
		}
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(k, message, sig)
	default:
		return fmt.Errorf("verify: %w: %q", ErrUnknownAlgorithm, string(alg))
	}
	if !ok {
		return fmt.Errorf("verify %s signature (%d bytes): %w", alg, len(sig), ErrBadSignature)
	}
	return nil
}

// ecPublic checks that pub is a usable *ecdsa.PublicKey on curve.
func ecPublic(pub crypto.PublicKey, curve elliptic.Curve, alg Algorithm) (*ecdsa.PublicKey, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("verify: %w: got %s, want %s public key", ErrAlgorithmMismatch, describeKey(pub), alg)
	}
	if k == nil || k.Curve == nil || k.X == nil || k.Y == nil { //nolint:staticcheck // SA1019: gmsm has SM2 keys only as *ecdsa.PublicKey and reads X and Y itself; a nil coordinate is refused here, read only, before it panics there
		return nil, fmt.Errorf("verify %s: %w", alg, errNilKey)
	}
	if k.Curve != curve {
		return nil, fmt.Errorf("verify: %w: got %s, want %s public key", ErrAlgorithmMismatch, describeKey(pub), alg)
	}
	return k, nil
}
