package pkcs11

import (
	"context"
	"crypto/elliptic"
	"fmt"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"
)

// ClassifyOpenError exposes classifyOpenError to the external tests.
var ClassifyOpenError = classifyOpenError

// ParseEd25519Public exposes parseEd25519Public to the external tests.
var ParseEd25519Public = parseEd25519Public

// Mechanisms the tests refer to.
const (
	CKMEdDSA               = ckmEdDSA
	CKMECEdwardsKeyPairGen = ckmECEdwardsKeyPairGen
)

// ForgetMechanism makes t behave as if its token lacked mech, to test the
// refusal SoftHSM2 itself never causes.
func ForgetMechanism(t *Token, mech uint) { delete(t.raw.mechanisms, mech) }

// KeyAttributes returns the raw values of attrs on the private half of k
// (public == false) or on its public half.
func KeyAttributes(k *Key, public bool, attrs ...crypto11.AttributeType) (map[crypto11.AttributeType][]byte, error) {
	if k.ed != nil {
		return edAttributes(k, public, attrs)
	}
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

// edAttributes is KeyAttributes for an Ed25519 key, read with raw calls.
func edAttributes(k *Key, public bool, attrs []crypto11.AttributeType) (map[crypto11.AttributeType][]byte, error) {
	s, err := k.token.raw.acquire(context.Background())
	if err != nil {
		return nil, err
	}
	defer s.release()
	h := k.ed.priv
	if public {
		h = k.ed.pub
	}
	template := make([]*p11.Attribute, len(attrs))
	for i, a := range attrs {
		template[i] = p11.NewAttribute(uint(a), nil)
	}
	got, err := k.token.raw.ctx.GetAttributeValue(s.h, h, template)
	if err != nil {
		return nil, err
	}
	out := make(map[crypto11.AttributeType][]byte, len(got))
	for _, a := range got {
		out[crypto11.AttributeType(a.Type)] = a.Value
	}
	return out, nil
}
