package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/ThalesGroup/crypto11"

	"zhengzhao/internal/keys"
)

// Key is a key pair held on a PKCS#11 token. It implements keys.Signer; the
// private key never leaves the token. A Key is safe for concurrent use
// (crypto11 gives each operation its own session from a pool) and stays
// usable until its Token is closed.
type Key struct {
	id     string
	alg    keys.Algorithm
	pub    *ecdsa.PublicKey
	signer crypto11.Signer
	token  *Token
}

var _ keys.Signer = (*Key)(nil)

// newKey wraps a crypto11 key pair, checking that this backend can use it.
func (t *Token) newKey(id string, s crypto11.Signer) (*Key, error) {
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: key type %T%s on the token; only ECDSA P-256 keys are supported", ErrUnsupported, s.Public(), curveName(pub))
	}
	return &Key{id: id, alg: keys.ECDSAP256, pub: pub, signer: s, token: t}, nil
}

// curveName returns " (curve NAME)" for an ECDSA key, "" otherwise.
func curveName(pub *ecdsa.PublicKey) string {
	if pub == nil || pub.Curve == nil {
		return ""
	}
	return " (curve " + pub.Curve.Params().Name + ")"
}

// ID returns the key's id (its CKA_ID and, when generated here, CKA_LABEL).
func (k *Key) ID() string { return k.id }

// Algorithm returns the algorithm of k; currently always keys.ECDSAP256.
func (k *Key) Algorithm() keys.Algorithm { return k.alg }

// Public returns the public key, an *ecdsa.PublicKey on P-256, read from the
// token when the Key was created.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign hashes message with SHA-256 and has the token sign the digest; the
// signature is ASN.1 DER, as keys.Verify(keys.ECDSAP256, ...) expects.
// It returns an error wrapping ctx.Err() if ctx is done before the token is
// called, and one wrapping ErrClosed after Token.Close; once started, the
// token operation cannot be interrupted.
func (k *Key) Sign(ctx context.Context, message []byte) ([]byte, error) {
	op := fmt.Sprintf("sign with PKCS#11 key %q", k.id)
	if err := k.token.check(ctx, op); err != nil {
		return nil, err
	}
	digest := sha256.Sum256(message)
	// crypto11 ignores rand (the token draws its own nonce).
	sig, err := k.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%s on token %q: %w", op, k.token.label, err)
	}
	return sig, nil
}

// CryptoSigner returns the underlying crypto11 key as a crypto.Signer, for
// APIs such as x509.CreateCertificate. Unlike Sign, it follows the
// crypto.Signer convention: it signs a DIGEST the caller computed — pass a
// SHA-256 digest; crypto11 ignores opts and rand — and does not check for a
// closed Token (crypto11 then fails with its own error).
func (k *Key) CryptoSigner() crypto.Signer { return k.signer }
