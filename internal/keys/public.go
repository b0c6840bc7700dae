package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// pemTypePublicKey is the PEM block type of a SubjectPublicKeyInfo.
const pemTypePublicKey = "PUBLIC KEY"

// ErrMalformedPublicKey is returned (wrapped) by ParsePublicPEM when the
// input is not a single well-formed PEM "PUBLIC KEY" block holding a
// supported key. Callers treat it as bad input.
var ErrMalformedPublicKey = errors.New("keys: malformed public key")

// AlgorithmOf returns the Algorithm a supported public key is used with:
// SM2SM3 for an *ecdsa.PublicKey on the SM2 curve, ECDSAP256 for one on
// P-256 (SM2SM3 too for an *SM2PublicKey), Ed25519 for an
// ed25519.PublicKey. Other keys give an error wrapping
// ErrAlgorithmMismatch.
func AlgorithmOf(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil || k.X == nil || k.Y == nil { //nolint:staticcheck // SA1019: gmsm has SM2 keys only as *ecdsa.PublicKey and reads X and Y itself; a nil coordinate is refused here, read only, before it panics there
			return "", errNilKey
		}
		switch k.Curve {
		case sm2.P256():
			return SM2SM3, nil
		case elliptic.P256():
			return ECDSAP256, nil
		}
	case *SM2PublicKey:
		if k != nil {
			return SM2SM3, nil
		}
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return Ed25519, nil
		}
		return "", fmt.Errorf("%w: Ed25519 public key is %d bytes", errNilKey, len(k))
	}
	return "", fmt.Errorf("%w: unsupported public key %s", ErrAlgorithmMismatch, describeKey(pub))
}

// MarshalPublicPEM encodes a supported public key as a PEM "PUBLIC KEY"
// block holding its SubjectPublicKeyInfo (RFC 5280). SM2 keys are encoded by
// gmsm's smx509 with id-ecPublicKey and the SM2 curve OID.
func MarshalPublicPEM(pub crypto.PublicKey) ([]byte, error) {
	alg, err := AlgorithmOf(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal %s public key: %w", alg, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePublicKey, Bytes: der}), nil
}

// ParsePublicPEM decodes a single PEM "PUBLIC KEY" block (SPKI) and returns
// the key with its Algorithm. Text after the block other than white space,
// other block types, headers and unsupported keys or curves are rejected
// with an error wrapping ErrMalformedPublicKey (or ErrAlgorithmMismatch for
// a well-formed key of an unsupported kind).
func ParsePublicPEM(pemBytes []byte) (crypto.PublicKey, Algorithm, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, "", fmt.Errorf("parse public key: %w: no PEM block found", ErrMalformedPublicKey)
	}
	if block.Type != pemTypePublicKey {
		return nil, "", fmt.Errorf("parse public key: %w: PEM type %q, want %q", ErrMalformedPublicKey, block.Type, pemTypePublicKey)
	}
	if len(block.Headers) != 0 {
		return nil, "", fmt.Errorf("parse public key: %w: unexpected PEM headers", ErrMalformedPublicKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, "", fmt.Errorf("parse public key: %w: trailing data after PEM block", ErrMalformedPublicKey)
	}
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("parse public key: %w: %w", ErrMalformedPublicKey, err)
	}
	alg, err := AlgorithmOf(pub)
	if err != nil {
		return nil, "", fmt.Errorf("parse public key: %w", err)
	}
	return pub, alg, nil
}

// PublicJWK returns the JSON Web Key (RFC 7517) members of a supported
// public key, ready for json.Marshal:
//
//   - ECDSA P-256: {"kty":"EC","crv":"P-256","x":…,"y":…} (RFC 7518);
//   - Ed25519: {"kty":"OKP","crv":"Ed25519","x":…} (RFC 8037);
//   - SM2: {"kty":"EC","crv":"SM2","x":…,"y":…}. "SM2" is the de-facto
//     curve name used by Chinese implementations; it is NOT registered in
//     the IANA "JSON Web Key Elliptic Curve" registry, so generic JOSE
//     libraries will not recognise it.
//
// Coordinates are unpadded base64url of fixed 32-byte big-endian values.
// No "alg", "use" or "kid" member is set; callers add them.
func PublicJWK(pub crypto.PublicKey) (map[string]any, error) {
	alg, err := AlgorithmOf(pub)
	if err != nil {
		return nil, fmt.Errorf("public JWK: %w", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	switch alg {
	case Ed25519:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub.(ed25519.PublicKey))}, nil
	case ECDSAP256:
		point, err := pub.(*ecdsa.PublicKey).Bytes()
		if err != nil {
			return nil, fmt.Errorf("public JWK for %s: %w", alg, err)
		}
		return ecJWK("P-256", point, b64)
	case SM2SM3:
		ek, err := sm2.PublicKeyToECDH(pub.(*ecdsa.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("public JWK for %s: %w", alg, err)
		}
		return ecJWK("SM2", ek.Bytes(), b64)
	}
	return nil, fmt.Errorf("public JWK: %w: %s", ErrUnknownAlgorithm, alg)
}

// ecJWK splits an uncompressed point 0x04||X||Y into JWK members.
func ecJWK(crv string, point []byte, b64 func([]byte) string) (map[string]any, error) {
	const size = 32
	if len(point) != 1+2*size || point[0] != 4 {
		return nil, fmt.Errorf("public JWK for %s: unexpected point encoding (%d bytes)", crv, len(point))
	}
	return map[string]any{
		"kty": "EC",
		"crv": crv,
		"x":   b64(point[1 : 1+size]),
		"y":   b64(point[1+size:]),
	}, nil
}
