package qr

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"math/big"

	"github.com/veraison/go-cose"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// sigSize is the length of a signature in the payload: r || s, each a
// 32-byte big-endian integer, as COSE writes ECDSA signatures (RFC 9053
// §2.1) and as the format writes SM2 ones too.
const sigSize = 64

// coseSigner lets go-cose sign with a keys.Signer, which signs whole
// messages (SM3 with Z_A for SM2, SHA-256 for ES256) and writes DER.
type coseSigner struct {
	ctx context.Context
	alg cose.Algorithm
	s   keys.Signer
}

func (c *coseSigner) Algorithm() cose.Algorithm { return c.alg }

// Sign ignores rand: the keys.Signer draws its own.
func (c *coseSigner) Sign(_ io.Reader, content []byte) ([]byte, error) {
	der, err := c.s.Sign(c.ctx, content)
	if err != nil {
		return nil, err
	}
	return rawOfDER(der)
}

// coseVerifier lets go-cose verify with keys.Verify.
type coseVerifier struct {
	alg    cose.Algorithm
	keyAlg keys.Algorithm
	pub    crypto.PublicKey
}

func (c *coseVerifier) Algorithm() cose.Algorithm { return c.alg }

func (c *coseVerifier) Verify(content, sig []byte) error {
	if len(sig) != sigSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrSignature, len(sig), sigSize)
	}
	if err := keys.Verify(c.keyAlg, c.pub, content, derOfRaw(sig)); err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return nil
}

// rawOfDER turns an ASN.1 SEQUENCE{r, s} into r || s.
func rawOfDER(der []byte) ([]byte, error) {
	var (
		r, s  big.Int
		inner cryptobyte.String
	)
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() ||
		r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 256 || s.BitLen() > 256 {
		return nil, fmt.Errorf("signer returned a malformed signature of %d bytes", len(der))
	}
	out := make([]byte, sigSize)
	r.FillBytes(out[:sigSize/2])
	s.FillBytes(out[sigSize/2:])
	return out, nil
}

// derOfRaw turns r || s into an ASN.1 SEQUENCE{r, s}.
func derOfRaw(raw []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[:sigSize/2]))
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[sigSize/2:]))
	})
	return b.BytesOrPanic()
}
