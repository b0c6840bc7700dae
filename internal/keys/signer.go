package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Signer signs messages with a private key that may live in memory or in a
// hardware module. It signs whole messages, not digests: each algorithm
// hashes as its standard requires (SM2 computes Z_A with the default user ID
// and SM3; ECDSA uses SHA-256; Ed25519 hashes internally).
type Signer interface {
	// Algorithm returns the algorithm the signatures are made with.
	Algorithm() Algorithm
	// Public returns the public key matching the private key.
	Public() crypto.PublicKey
	// Sign signs message. SM2 and ECDSA signatures are ASN.1 DER; Ed25519
	// signatures are the raw 64 bytes. ctx bounds the operation for signers
	// that do I/O (for example a PKCS#11 token).
	Sign(ctx context.Context, message []byte) ([]byte, error)
}

// Concurrent is implemented by a Signer that may sign from several
// goroutines at once when Concurrent reports true. A caller that signs
// many messages in parallel signs one at a time with a Signer that does
// not implement it or reports false.
type Concurrent interface {
	Concurrent() bool
}

// SignsConcurrently reports whether s may sign from several goroutines at
// once (see Concurrent).
func SignsConcurrently(s Signer) bool {
	c, ok := s.(Concurrent)
	return ok && c.Concurrent()
}

// SoftwareKey is a private key held in process memory. It implements Signer
// and is safe for concurrent use.
type SoftwareKey struct {
	alg  Algorithm
	sm2  *sm2.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	rand io.Reader
}

var (
	_ Signer     = (*SoftwareKey)(nil)
	_ Concurrent = (*SoftwareKey)(nil)
)

// GenerateSoftware creates a new in-memory key for alg, reading randomness
// from rand (crypto/rand.Reader when rand is nil).
//
// SM2 and Ed25519 keys are drawn from rand. For ECDSA P-256 the Go 1.26
// standard library ignores rand and always uses its own secure source unless
// GODEBUG=cryptocustomrand=1 is set.
func GenerateSoftware(alg Algorithm, rand io.Reader) (*SoftwareKey, error) {
	r := orDefault(rand)
	k := &SoftwareKey{alg: alg}
	var err error
	switch alg {
	case SM2SM3:
		k.sm2, err = sm2.GenerateKey(r)
	case ECDSAP256:
		k.ec, err = ecdsa.GenerateKey(elliptic.P256(), r)
	case Ed25519:
		seed := make([]byte, ed25519.SeedSize)
		if _, err = io.ReadFull(r, seed); err == nil {
			k.ed = ed25519.NewKeyFromSeed(seed)
		}
	default:
		return nil, fmt.Errorf("generate key: %w: %q", ErrUnknownAlgorithm, string(alg))
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return k, nil
}

// WithRand returns a copy of k that reads signing randomness from r instead
// of crypto/rand.Reader. It exists for tests and for callers that must use a
// particular DRBG. SM2 signatures are hedged (the nonce also depends on the
// key and message), so a weak r does not leak the key; the Go 1.26 ECDSA
// implementation ignores r unless GODEBUG=cryptocustomrand=1; Ed25519 is
// deterministic and never reads r.
func (k *SoftwareKey) WithRand(r io.Reader) *SoftwareKey {
	c := *k
	c.rand = r
	return &c
}

// Concurrent reports whether k may sign from several goroutines at once:
// with its own randomness (crypto/rand) it may; a reader given to WithRand
// need not be safe for concurrent reads.
func (k *SoftwareKey) Concurrent() bool { return k.rand == nil }

// Algorithm returns the algorithm of k.
func (k *SoftwareKey) Algorithm() Algorithm { return k.alg }

// Public returns the public key of k: an *ecdsa.PublicKey for SM2SM3 (on the
// SM2 curve) and ECDSAP256, an ed25519.PublicKey for Ed25519.
func (k *SoftwareKey) Public() crypto.PublicKey {
	switch k.alg {
	case SM2SM3:
		return &k.sm2.PublicKey
	case ECDSAP256:
		return &k.ec.PublicKey
	case Ed25519:
		return k.ed.Public()
	}
	return nil
}

// CryptoSigner returns the underlying private key as a crypto.Signer, for
// APIs such as X.509 certificate creation that take one: an *sm2.PrivateKey
// for SM2SM3, an *ecdsa.PrivateKey for ECDSAP256 and an ed25519.PrivateKey
// for Ed25519. Its Public method returns the same key as k.Public. The
// returned signer shares k's secret, hashes per the crypto.Signer contract
// (callers pass digests and crypto.SignerOpts, or sm2.SM2SignerOption for
// SM2 with a whole message) and takes randomness from the reader passed to
// its Sign method, not from WithRand. It returns nil for a zero SoftwareKey.
func (k *SoftwareKey) CryptoSigner() crypto.Signer {
	switch k.alg {
	case SM2SM3:
		if k.sm2 != nil {
			return k.sm2
		}
	case ECDSAP256:
		if k.ec != nil {
			return k.ec
		}
	case Ed25519:
		if k.ed != nil {
			return k.ed
		}
	}
	return nil
}

// Sign signs message with k. See Signer.Sign for the encodings. It returns
// ctx.Err() if ctx is already done; signing itself is not interruptible.
func (k *SoftwareKey) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sign with %s: %w", k.alg, err)
	}
	r := orDefault(k.rand)
	var (
		sig []byte
		err error
	)
	switch k.alg {
	case SM2SM3:
		// sm2.SignASN1 with DefaultSM2SignerOpts refuses an empty message,
		// so compute the standard digest SM3(Z_A || M) with the default
		// UID ourselves (via gmsm) and sign that digest.
		var digest []byte
		digest, err = sm2.CalculateSM2Hash(&k.sm2.PublicKey, message, nil)
		if err == nil {
			sig, err = sm2.SignASN1(r, k.sm2, digest, nil)
		}
	case ECDSAP256:
		h := sha256.Sum256(message)
		sig, err = ecdsa.SignASN1(r, k.ec, h[:])
	case Ed25519:
		sig = ed25519.Sign(k.ed, message)
	default:
		err = fmt.Errorf("%w: %q", ErrUnknownAlgorithm, string(k.alg))
	}
	if err != nil {
		return nil, fmt.Errorf("sign with %s: %w", k.alg, err)
	}
	return sig, nil
}

// MarshalPKCS8 returns the private key as unencrypted PKCS#8 DER. SM2 keys
// use id-ecPublicKey with the SM2 curve OID 1.2.156.10197.1.301, as gmsm's
// smx509 and OpenSSL/Tongsuo write them. The result is secret: store it
// encrypted.
func (k *SoftwareKey) MarshalPKCS8() ([]byte, error) {
	var key any
	switch k.alg {
	case SM2SM3:
		key = k.sm2
	case ECDSAP256:
		key = k.ec
	case Ed25519:
		key = k.ed
	default:
		return nil, fmt.Errorf("marshal PKCS#8: %w: %q", ErrUnknownAlgorithm, string(k.alg))
	}
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal %s key as PKCS#8: %w", k.alg, err)
	}
	return der, nil
}

// ParseSoftwarePKCS8 parses an unencrypted PKCS#8 DER private key and checks
// that it belongs to alg. A key of another type or curve gives an error
// wrapping ErrAlgorithmMismatch; malformed DER gives a parse error.
func ParseSoftwarePKCS8(alg Algorithm, der []byte) (*SoftwareKey, error) {
	if !alg.valid() {
		return nil, fmt.Errorf("parse PKCS#8: %w: %q", ErrUnknownAlgorithm, string(alg))
	}
	parsed, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8 %s key: %w", alg, err)
	}
	k := &SoftwareKey{alg: alg}
	switch key := parsed.(type) {
	case *sm2.PrivateKey:
		if alg == SM2SM3 {
			k.sm2 = key
			return k, nil
		}
	case *ecdsa.PrivateKey:
		if alg == ECDSAP256 && key.Curve == elliptic.P256() {
			k.ec = key
			return k, nil
		}
	case ed25519.PrivateKey:
		if alg == Ed25519 {
			k.ed = key
			return k, nil
		}
	}
	return nil, fmt.Errorf("parse PKCS#8: %w: got %s, want %s", ErrAlgorithmMismatch, describeKey(parsed), alg)
}

// describeKey names a parsed key for error messages.
func describeKey(key any) string {
	switch k := key.(type) {
	case *sm2.PrivateKey:
		return "SM2 private key"
	case *ecdsa.PrivateKey:
		return "ECDSA " + k.Curve.Params().Name + " private key"
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(k) {
			return "SM2 public key"
		}
		return "ECDSA " + k.Curve.Params().Name + " public key"
	case *SM2PublicKey:
		return "SM2 public key"
	}
	return fmt.Sprintf("%T", key)
}

// orDefault returns r, or crypto/rand.Reader when r is nil.
func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// errNilKey reports a nil or incomplete public key.
var errNilKey = errors.New("keys: nil or incomplete public key")
