package verify

import (
	"crypto"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// PresentationKey is one of the platform's presentation keys in a trust
// bundle: the key that signs holders' QR payloads (docs/qr-format.md).
type PresentationKey struct {
	// KID is the key's kid in lower-case hex: the first 8 bytes of the
	// SHA-256 of its SubjectPublicKeyInfo (qr.KeyID), as a payload's
	// protected header names it.
	KID string `json:"kid"`
	// Alg is the key's algorithm: SM2-SM3 or ECDSA-P256-SHA256 (COSE
	// ES256).
	Alg string `json:"alg"`
	// PublicKeyPEM is the key's SubjectPublicKeyInfo as PEM, and JWK the
	// same key as a JSON Web Key (crv "SM2" or "P-256"), for verifiers in
	// a browser.
	PublicKeyPEM string         `json:"public_key_pem"`
	JWK          map[string]any `json:"jwk"`
	// ValidFrom is when the key was made; ValidUntil, when a rotation
	// retired it. A payload issued outside that window is not the key's.
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

// NewPresentationKey describes the presentation key pub, made at from and
// retired at until (nil while it signs).
func NewPresentationKey(pub crypto.PublicKey, from time.Time, until *time.Time) (PresentationKey, error) {
	alg, err := keys.AlgorithmOf(pub)
	if err != nil {
		return PresentationKey{}, fmt.Errorf("presentation key: %w", err)
	}
	kid, err := qr.KeyID(pub)
	if err != nil {
		return PresentationKey{}, fmt.Errorf("presentation key: %w", err)
	}
	p, err := keys.MarshalPublicPEM(pub)
	if err != nil {
		return PresentationKey{}, fmt.Errorf("presentation key: %w", err)
	}
	jwk, err := keys.PublicJWK(pub)
	if err != nil {
		return PresentationKey{}, fmt.Errorf("presentation key: %w", err)
	}
	jwk["kid"], jwk["alg"] = hex.EncodeToString(kid), jwkAlg(alg)
	return PresentationKey{KID: hex.EncodeToString(kid), Alg: string(alg), PublicKeyPEM: string(p), JWK: jwk,
		ValidFrom: from.UTC(), ValidUntil: until}, nil
}

// jwkAlg is the JOSE name of a presentation key's algorithm; SM2 with SM3
// has none registered, so the platform's own name stands.
func jwkAlg(a keys.Algorithm) string {
	if a == keys.ECDSAP256 {
		return "ES256"
	}
	return string(a)
}

// public parses the key and checks that it is what its kid and alg say.
func (k PresentationKey) public() (crypto.PublicKey, error) {
	pub, alg, err := keys.ParsePublicPEM([]byte(k.PublicKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("presentation key %s: %w", k.KID, err)
	}
	if string(alg) != k.Alg {
		return nil, fmt.Errorf("presentation key %s: alg %q, but the key is %s", k.KID, k.Alg, alg)
	}
	kid, err := qr.KeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("presentation key %s: %w", k.KID, err)
	}
	if hex.EncodeToString(kid) != k.KID {
		return nil, fmt.Errorf("presentation key %s: the key's kid is %x", k.KID, kid)
	}
	return pub, nil
}

// SetPresentationKey records a presentation key, keeping PresentationKeys
// in ascending order of kid.
func (b *Bundle) SetPresentationKey(k PresentationKey) {
	i, found := slices.BinarySearchFunc(b.PresentationKeys, k.KID, comparePresentationKey)
	if found {
		b.PresentationKeys[i] = k
		return
	}
	b.PresentationKeys = slices.Insert(b.PresentationKeys, i, k)
}

func comparePresentationKey(k PresentationKey, kid string) int { return strings.Compare(k.KID, kid) }

// presentationKey returns the key of kid (hex) and its parsed public key.
// A bundle from OpenBundle parsed them once; one built by hand parses the
// key on every call.
func (b *Bundle) presentationKey(kid string) (PresentationKey, crypto.PublicKey, bool, error) {
	i, found := slices.BinarySearchFunc(b.PresentationKeys, kid, comparePresentationKey)
	if !found {
		return PresentationKey{}, nil, false, nil
	}
	k := b.PresentationKeys[i]
	if pub, ok := b.presentationPubs[kid]; ok && b.presentationFrom != nil && slices.EqualFunc(b.presentationFrom, b.PresentationKeys, samePresentationKey) {
		return k, pub, true, nil
	}
	pub, err := k.public()
	return k, pub, true, err
}

// samePresentationKey compares what a parsed key was parsed from.
func samePresentationKey(a, b PresentationKey) bool {
	return a.KID == b.KID && a.Alg == b.Alg && a.PublicKeyPEM == b.PublicKeyPEM
}

// parsePresentationKeys parses every presentation key of an opened bundle
// once; a key that does not parse, or is not what its kid and alg say,
// makes the bundle malformed.
func (b *Bundle) parsePresentationKeys() error {
	out := make(map[string]crypto.PublicKey, len(b.PresentationKeys))
	for i, k := range b.PresentationKeys {
		if i > 0 && b.PresentationKeys[i-1].KID >= k.KID {
			return fmt.Errorf("%w: presentation keys are not in ascending order of kid at %q", ErrMalformedBundle, k.KID)
		}
		pub, err := k.public()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformedBundle, err)
		}
		// Every presentation verifies under one of these keys: Z once.
		if pub, err = keys.PrepareVerify(pub); err != nil {
			return fmt.Errorf("%w: %w", ErrMalformedBundle, err)
		}
		out[k.KID] = pub
	}
	b.presentationPubs, b.presentationFrom = out, slices.Clone(b.PresentationKeys)
	return nil
}
