package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	p11 "github.com/miekg/pkcs11"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// PKCS#11 3.0 EdDSA constants (PKCS#11 v3.0 §2.3.5, §2.3.14);
// github.com/miekg/pkcs11 v1.1.2 predates them.
const (
	ckmECEdwardsKeyPairGen uint = 0x1055
	ckmEdDSA               uint = 0x1057
	ckkECEdwards           uint = 0x40
)

// mechanismNames names the mechanisms Ed25519 needs, for error messages.
var mechanismNames = map[uint]string{
	ckmECEdwardsKeyPairGen: "CKM_EC_EDWARDS_KEY_PAIR_GEN",
	ckmEdDSA:               "CKM_EDDSA",
}

// oidEd25519 is id-Ed25519 (RFC 8410), one of the two CKA_EC_PARAMS forms
// PKCS#11 3.0 allows for Edwards curves.
var oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

// ed25519CurveName is the other form: a PrintableString naming the curve.
const ed25519CurveName = "edwards25519"

// edPair is an Ed25519 key pair on the token, reached through the raw
// module handle. Object handles are valid in every session of the
// application, so any pooled session can use them.
type edPair struct {
	priv, pub p11.ObjectHandle
	key       ed25519.PublicKey
}

// requireMechanisms returns an error wrapping ErrUnsupported naming those of
// mechs the token lacks.
func (t *Token) requireMechanisms(mechs ...uint) error {
	var missing []string
	for _, m := range mechs {
		if !t.raw.has(m) {
			missing = append(missing, mechanismNames[m])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: token %q does not offer %v", ErrUnsupported, t.label, missing)
	}
	return nil
}

// generateEd25519 creates an Ed25519 key pair with CKM_EC_EDWARDS_KEY_PAIR_GEN.
func (t *Token) generateEd25519(ctx context.Context, id string) (*Key, error) {
	if err := t.requireMechanisms(ckmECEdwardsKeyPairGen, ckmEdDSA); err != nil {
		return nil, err
	}
	// The OID form, because SoftHSM2 2.6 and most HSMs accept only it.
	params, err := asn1.Marshal(oidEd25519)
	if err != nil {
		return nil, fmt.Errorf("encode CKA_EC_PARAMS: %w", err)
	}
	common := func(class uint, extra ...*p11.Attribute) []*p11.Attribute {
		return append([]*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, class),
			p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_ID, []byte(id)),
			p11.NewAttribute(p11.CKA_LABEL, []byte(id)),
		}, extra...)
	}
	public := common(p11.CKO_PUBLIC_KEY,
		p11.NewAttribute(p11.CKA_EC_PARAMS, params),
		p11.NewAttribute(p11.CKA_VERIFY, true))
	private := common(p11.CKO_PRIVATE_KEY,
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_PRIVATE, true))

	s, err := t.raw.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.release()
	pubH, privH, err := t.raw.ctx.GenerateKeyPair(s.h, []*p11.Mechanism{p11.NewMechanism(ckmECEdwardsKeyPairGen, nil)}, public, private)
	if err != nil {
		return nil, fmt.Errorf("C_GenerateKeyPair(CKM_EC_EDWARDS_KEY_PAIR_GEN): %w", s.check(err))
	}
	pair, err := t.readEd25519(s, privH, pubH)
	if err != nil {
		// A pair this package cannot use must not linger under the id,
		// or the next Generate would report ErrKeyExists.
		if derr := t.destroy(s, privH, pubH); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove the unusable pair: %w", derr))
		}
		return nil, err
	}
	return &Key{id: id, alg: keys.Ed25519, pub: pair.key, ed: pair, token: t}, nil
}

// readEd25519 reads the public key of an Ed25519 pair.
func (t *Token) readEd25519(s *session, priv, pub p11.ObjectHandle) (*edPair, error) {
	attrs, err := t.raw.ctx.GetAttributeValue(s.h, pub, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_EC_PARAMS, nil),
		p11.NewAttribute(p11.CKA_EC_POINT, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("read CKA_EC_PARAMS and CKA_EC_POINT: %w", s.check(err))
	}
	key, err := parseEd25519Public(attrs[0].Value, attrs[1].Value)
	if err != nil {
		return nil, err
	}
	return &edPair{priv: priv, pub: pub, key: key}, nil
}

// parseEd25519Public checks that params name Ed25519 — as the DER OID
// 1.3.101.112 or the DER PrintableString "edwards25519", both allowed by
// PKCS#11 3.0 — and returns the key in point: a DER OCTET STRING of 32
// bytes as PKCS#11 3.0 specifies, or the bare 32 bytes some tokens give.
// Other Edwards curves (Ed448) give an error wrapping ErrUnsupported.
func parseEd25519Public(params, point []byte) (ed25519.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	var name string
	switch {
	case len(params) == 0:
		return nil, errors.New("the Edwards public key has no CKA_EC_PARAMS")
	case tryUnmarshal(params, &oid):
		if !oid.Equal(oidEd25519) {
			return nil, fmt.Errorf("%w: Edwards curve %s, only Ed25519 (%s) is supported", ErrUnsupported, oid, oidEd25519)
		}
	case tryUnmarshal(params, &name):
		if name != ed25519CurveName {
			return nil, fmt.Errorf("%w: Edwards curve %q, only %q is supported", ErrUnsupported, name, ed25519CurveName)
		}
	default:
		return nil, fmt.Errorf("CKA_EC_PARAMS %x is neither a curve OID nor a curve name", params)
	}

	raw := point
	if len(point) != ed25519.PublicKeySize {
		if !tryUnmarshal(point, &raw) {
			return nil, fmt.Errorf("CKA_EC_POINT is %d bytes and not a DER OCTET STRING", len(point))
		}
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("CKA_EC_POINT holds %d bytes, an Ed25519 key has %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(bytes.Clone(raw)), nil
}

// tryUnmarshal reports whether der is exactly one DER value that fits v.
func tryUnmarshal(der []byte, v any) bool {
	rest, err := asn1.Unmarshal(der, v)
	return err == nil && len(rest) == 0
}

// findObjects returns the handles of the objects matching template.
func (t *Token) findObjects(s *session, template []*p11.Attribute) ([]p11.ObjectHandle, error) {
	if err := t.raw.ctx.FindObjectsInit(s.h, template); err != nil {
		return nil, fmt.Errorf("C_FindObjectsInit: %w", s.check(err))
	}
	var all []p11.ObjectHandle
	var err error
	for {
		var batch []p11.ObjectHandle
		batch, _, err = t.raw.ctx.FindObjects(s.h, 16)
		if err != nil {
			err = fmt.Errorf("C_FindObjects: %w", s.check(err))
			break
		}
		if len(batch) == 0 {
			break
		}
		all = append(all, batch...)
	}
	if ferr := t.raw.ctx.FindObjectsFinal(s.h); ferr != nil && err == nil {
		err = fmt.Errorf("C_FindObjectsFinal: %w", s.check(ferr))
	}
	if err != nil {
		return nil, err
	}
	return all, nil
}

// keyType reads CKA_KEY_TYPE, a CK_ULONG in the platform's byte order.
func (t *Token) keyType(s *session, h p11.ObjectHandle) (uint, error) {
	attrs, err := t.raw.ctx.GetAttributeValue(s.h, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, nil)})
	if err != nil {
		return 0, fmt.Errorf("read CKA_KEY_TYPE: %w", s.check(err))
	}
	v := attrs[0].Value
	switch len(v) {
	case 8:
		return uint(binary.NativeEndian.Uint64(v)), nil
	case 4:
		return uint(binary.NativeEndian.Uint32(v)), nil
	}
	return 0, fmt.Errorf("CKA_KEY_TYPE has %d bytes", len(v))
}

// findEd25519 looks at the private keys with CKA_ID id. It returns how many
// there are and, when one of them is an Edwards key, edwards == true and —
// if it is the only one — the pair. Other key types are left to crypto11.
func (t *Token) findEd25519(ctx context.Context, id string) (pair *edPair, n int, edwards bool, err error) {
	s, err := t.raw.acquire(ctx)
	if err != nil {
		return nil, 0, false, err
	}
	defer s.release()
	privs, err := t.findObjects(s, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_ID, []byte(id)),
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("find private keys: %w", err)
	}
	var edPriv []p11.ObjectHandle
	for _, h := range privs {
		kt, err := t.keyType(s, h)
		if err != nil {
			return nil, 0, false, err
		}
		if kt == ckkECEdwards {
			edPriv = append(edPriv, h)
		}
	}
	if len(edPriv) == 0 || len(privs) > 1 {
		return nil, len(privs), len(edPriv) > 0, nil
	}
	pubs, err := t.findObjects(s, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
		p11.NewAttribute(p11.CKA_ID, []byte(id)),
	})
	if err != nil {
		return nil, 1, true, fmt.Errorf("find the public key: %w", err)
	}
	if len(pubs) != 1 {
		return nil, 1, true, fmt.Errorf("the Edwards private key has %d public key objects with its id, want 1", len(pubs))
	}
	pair, err = t.readEd25519(s, edPriv[0], pubs[0])
	if err != nil {
		return nil, 1, true, err
	}
	return pair, 1, true, nil
}

// destroy deletes the objects of a pair, trying both even if one fails.
func (t *Token) destroy(s *session, handles ...p11.ObjectHandle) error {
	var errs []error
	for _, h := range handles {
		if err := t.raw.ctx.DestroyObject(s.h, h); err != nil {
			errs = append(errs, fmt.Errorf("C_DestroyObject: %w", s.check(err)))
		}
	}
	return errors.Join(errs...)
}

// deleteEd25519 destroys the pair of k.
func (t *Token) deleteEd25519(ctx context.Context, k *Key) error {
	s, err := t.raw.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release()
	return t.destroy(s, k.ed.priv, k.ed.pub)
}

// signEd25519 signs message with CKM_EDDSA and no parameters, which is pure
// Ed25519 (RFC 8032): the token hashes the whole message itself.
func (k *Key) signEd25519(ctx context.Context, message []byte) ([]byte, error) {
	m := k.token.raw
	s, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.release()
	if err := m.ctx.SignInit(s.h, []*p11.Mechanism{p11.NewMechanism(ckmEdDSA, nil)}, k.ed.priv); err != nil {
		return nil, fmt.Errorf("C_SignInit(CKM_EDDSA): %w", s.check(err))
	}
	sig, err := m.ctx.Sign(s.h, message)
	if err != nil {
		// After C_SignInit the session may still hold the operation,
		// whatever the error says: it is not reused.
		s.broken = true
		return nil, fmt.Errorf("C_Sign(CKM_EDDSA): %w", s.check(err))
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("C_Sign(CKM_EDDSA) gave %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	return sig, nil
}

// edCryptoSigner is an Ed25519 key on the token as a crypto.Signer. Like
// ed25519.PrivateKey it signs whole messages: opts must have hash 0.
type edCryptoSigner struct{ k *Key }

// Public returns the ed25519.PublicKey.
func (e edCryptoSigner) Public() crypto.PublicKey { return e.k.pub }

// Sign signs message with pure Ed25519; rand is unused (Ed25519 is
// deterministic). Ed25519ph and Ed25519ctx are refused: the token would
// need mechanism parameters this package does not pass.
func (e edCryptoSigner) Sign(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != 0 {
		return nil, fmt.Errorf("sign with PKCS#11 key %q: %w: Ed25519ph (pre-hashed with %v)", e.k.id, ErrUnsupported, opts.HashFunc())
	}
	if o, ok := opts.(*ed25519.Options); ok && o.Context != "" {
		return nil, fmt.Errorf("sign with PKCS#11 key %q: %w: Ed25519ctx", e.k.id, ErrUnsupported)
	}
	return e.k.Sign(context.Background(), message)
}
