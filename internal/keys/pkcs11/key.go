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

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// Key is a key pair held on a PKCS#11 token: ECDSA P-256 or Ed25519. It
// implements keys.Signer; the private key never leaves the token. A Key is
// safe for concurrent use (each operation borrows a session from a pool)
// and stays usable until its Token is closed.
type Key struct {
	id     string
	alg    keys.Algorithm
	pub    crypto.PublicKey // *ecdsa.PublicKey or ed25519.PublicKey
	signer crypto11.Signer  // ECDSA keys
	ed     *edPair          // Ed25519 keys
	token  *Token
}

var (
	_ keys.Signer     = (*Key)(nil)
	_ keys.Concurrent = (*Key)(nil)
)

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

// Algorithm returns the algorithm of k: keys.ECDSAP256 or keys.Ed25519.
func (k *Key) Algorithm() keys.Algorithm { return k.alg }

// Concurrent reports true: each signature borrows a session of the
// token's pool, so parallel calls are safe (they wait for a free session).
func (k *Key) Concurrent() bool { return true }

// Public returns the public key, read from the token when the Key was
// created: an *ecdsa.PublicKey on P-256, or an ed25519.PublicKey.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign signs message on the token. For ECDSA P-256 it hashes message with
// SHA-256 and the token signs the digest; the signature is ASN.1 DER. For
// Ed25519 the token signs the whole message with CKM_EDDSA (pure Ed25519,
// RFC 8032); the signature is the raw 64 bytes. Both are what keys.Verify
// expects. Sign returns an error wrapping ctx.Err() if ctx is done before
// the token is called (or while waiting for an Ed25519 session), and one
// wrapping ErrClosed after Token.Close; once started, the token operation
// cannot be interrupted.
func (k *Key) Sign(ctx context.Context, message []byte) ([]byte, error) {
	op := fmt.Sprintf("sign with PKCS#11 key %q", k.id)
	if err := k.token.check(ctx, op); err != nil {
		return nil, err
	}
	if k.ed != nil {
		sig, err := k.signEd25519(ctx, message)
		if err != nil {
			return nil, fmt.Errorf("%s on token %q: %w", op, k.token.label, err)
		}
		return sig, nil
	}
	digest := sha256.Sum256(message)
	// crypto11 ignores rand (the token draws its own nonce).
	sig, err := k.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%s on token %q: %w", op, k.token.label, err)
	}
	return sig, nil
}

// CryptoSigner returns k as a crypto.Signer, for APIs such as
// x509.CreateCertificate. It follows the crypto.Signer convention of the
// key type. For ECDSA it is the underlying crypto11 key: it signs a DIGEST
// the caller computed — pass a SHA-256 digest; crypto11 ignores opts and
// rand — and does not check for a closed Token (crypto11 then fails with
// its own error). For Ed25519 it behaves like ed25519.PrivateKey: it signs
// the whole message, opts must have hash 0 (Ed25519ph and Ed25519ctx give
// an error wrapping ErrUnsupported), and it fails with ErrClosed after
// Token.Close.
func (k *Key) CryptoSigner() crypto.Signer {
	if k.ed != nil {
		return edCryptoSigner{k}
	}
	return k.signer
}
