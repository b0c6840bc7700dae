package pkcs11

import (
	"crypto/elliptic"
	"fmt"

	"github.com/ThalesGroup/crypto11"
)

// ClassifyOpenError exposes classifyOpenError to the external tests.
var ClassifyOpenError = classifyOpenError

// KeyAttributes returns the raw values of attrs on the private half of k
// (public == false) or on its public half.
func KeyAttributes(k *Key, public bool, attrs ...crypto11.AttributeType) (map[crypto11.AttributeType][]byte, error) {
	get := k.token.ctx.GetAttributes
	if public {
		get = k.token.ctx.GetPubAttributes
	}
	set, err := get(k.signer, attrs)
	if err != nil {
		return nil, err
	}
	out := make(map[crypto11.AttributeType][]byte, len(set))
	for typ, a := range set {
		out[typ] = a.Value
	}
	return out, nil
}

// GenerateForeign creates a key pair that Generate refuses to make (an RSA
// 2048 or ECDSA P-384 key, by kind), as another tool sharing the token might.
func GenerateForeign(t *Token, kind, id string) error {
	var err error
	switch kind {
	case "rsa-2048":
		_, err = t.ctx.GenerateRSAKeyPairWithLabel([]byte(id), []byte(id), 2048)
	case "ecdsa-p384":
		_, err = t.ctx.GenerateECDSAKeyPairWithLabel([]byte(id), []byte(id), elliptic.P384())
	default:
		err = fmt.Errorf("unknown foreign key kind %q", kind)
	}
	return err
}
