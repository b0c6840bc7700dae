package qr

import (
	"crypto"
	"crypto/sha256"
	"encoding/pem"
	"fmt"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// KeyIDSize is the length of a presentation key's kid.
const KeyIDSize = 8

// KeyID returns the kid of a presentation key: the first KeyIDSize bytes
// of the SHA-256 of its SubjectPublicKeyInfo. It is derived, not chosen,
// so the platform and a trust list name a key alike and a rotated key has
// a new kid; eight bytes keep the payload short while a collision among a
// platform's few keys stays out of reach.
func KeyID(pub crypto.PublicKey) ([]byte, error) {
	p, err := keys.MarshalPublicPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	b, _ := pem.Decode(p)
	if b == nil {
		return nil, fmt.Errorf("key id: no PEM block")
	}
	sum := sha256.Sum256(b.Bytes)
	return sum[:KeyIDSize], nil
}
