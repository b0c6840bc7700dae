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
	"github.com/emmansun/gmsm/sm3"
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
		if p, prepared := pub.(*SM2PublicKey); prepared {
			ok = p.verify(message, sig)
			break
		}
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

// SM2PublicKey is an SM2 public key with its Z value (GB/T 32918.2-2016,
// 5.5, default user ID) computed once. Verify takes it as it takes the
// *ecdsa.PublicKey inside: a verifier checking many signatures under one
// key (a trust bundle's presentation keys) then hashes only each message,
// where a plain key costs a second SM3 over the curve and the key for
// every signature.
type SM2PublicKey struct {
	key *ecdsa.PublicKey
	za  []byte
}

// PrepareVerify returns pub ready for many Verify calls: an SM2 public key
// as an *SM2PublicKey, any other key as it is.
func PrepareVerify(pub crypto.PublicKey) (crypto.PublicKey, error) {
	k, isEC := pub.(*ecdsa.PublicKey)
	if !isEC || k == nil || k.Curve != sm2.P256() {
		return pub, nil
	}
	if _, err := ecPublic(pub, sm2.P256(), SM2SM3); err != nil {
		return nil, err
	}
	za, err := sm2.CalculateZA(k, nil)
	if err != nil {
		return nil, fmt.Errorf("prepare %s public key: %w", SM2SM3, err)
	}
	return &SM2PublicKey{key: k, za: za}, nil
}

// verify is sm2.VerifyASN1WithSM2 with Z read instead of computed.
func (p *SM2PublicKey) verify(message, sig []byte) bool {
	h := sm3.New()
	h.Write(p.za)
	h.Write(message)
	return sm2.VerifyASN1(p.key, h.Sum(nil), sig)
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
