package qr

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// Prefix starts every payload: the format and its version. A new layout
// gets a new prefix, so a verifier refuses what it cannot read by its first
// four characters.
const Prefix = "ZZ1:"

// DefaultLifetime is how long a payload is valid when the claims name no
// expiry: one minute, so that a screenshot is useless soon after (R-HOL-2).
const DefaultLifetime = 60 * time.Second

// Limits that bound the work a hostile payload can cause.
const (
	// MaxPayload is the longest payload read, in characters: what a
	// version 40 QR code holds in alphanumeric mode at error correction L.
	MaxPayload = 4296
	// MaxDecompressed bounds the inflated COSE_Sign1, so a small payload
	// cannot expand into a large allocation (a zip bomb).
	MaxDecompressed = 8 << 10
)

// sigOverhead bounds what the COSE_Sign1 adds to the claims and the kid:
// tag, array, header map, alg, byte string heads, the empty unprotected
// header and the 64-byte signature. Encode refuses claims that would not
// fit MaxDecompressed, so it never writes what Decode refuses.
const sigOverhead = 100

// The reasons a payload is refused. Every error of Decode and Verify wraps
// exactly one of them, so a verifier can name the reason.
var (
	// ErrPrefix: the payload does not start with Prefix (another format,
	// another version, or not a payload at all).
	ErrPrefix = errors.New("qr: not a ZZ1 payload")
	// ErrEncoding: the text after the prefix is not Base45, or its bytes
	// are not a zlib stream (truncated, corrupted).
	ErrEncoding = errors.New("qr: payload is not Base45 over zlib")
	// ErrTooLarge: the payload or its inflated content exceeds the limits.
	ErrTooLarge = errors.New("qr: payload too large")
	// ErrStructure: the content is not a COSE_Sign1 as this format writes
	// it (a protected header of exactly alg and kid, an empty unprotected
	// header, a payload, a signature).
	ErrStructure = errors.New("qr: not a well-formed COSE_Sign1")
	// ErrAlgorithm: the signature algorithm is not one of the format's, or
	// not the one of the key it is checked with.
	ErrAlgorithm = errors.New("qr: unsupported signature algorithm")
	// ErrClaims: the claims are not the format's claims map, or lack one
	// it requires.
	ErrClaims = errors.New("qr: malformed claims")
	// ErrSignature: the signature does not verify under the key given.
	ErrSignature = errors.New("qr: signature does not verify")
	// ErrExpired: the payload's validity window does not contain now,
	// with the skew allowed.
	ErrExpired = errors.New("qr: payload expired or not yet valid")
	// ErrUnknownKey is for verifiers: the key identifier names no key of
	// their trust list. The codec never returns it itself.
	ErrUnknownKey = errors.New("qr: signing key not trusted")
	// ErrReplayed is for verifiers that remember nonces: the nonce was
	// seen before. The codec never returns it itself.
	ErrReplayed = errors.New("qr: payload already shown")
)

// COSE algorithm identifiers. ES256 is IANA's; SM2 with SM3 has no IANA
// identifier, so the format uses the first value of the private-use range
// of the COSE Algorithms registry (RFC 9052 §16.4: below -65536).
const (
	AlgES256  int64 = -7
	AlgSM2SM3 int64 = -65537
)

// coseAlgorithm returns the COSE identifier of a keys algorithm.
func coseAlgorithm(a keys.Algorithm) (int64, error) {
	switch a {
	case keys.SM2SM3:
		return AlgSM2SM3, nil
	case keys.ECDSAP256:
		return AlgES256, nil
	}
	return 0, fmt.Errorf("%w: %s", ErrAlgorithm, a)
}

// keysAlgorithm is the inverse of coseAlgorithm.
func keysAlgorithm(a int64) (keys.Algorithm, error) {
	switch a {
	case AlgSM2SM3:
		return keys.SM2SM3, nil
	case AlgES256:
		return keys.ECDSAP256, nil
	}
	return "", fmt.Errorf("%w: COSE algorithm %d", ErrAlgorithm, a)
}

// Encode signs claims with signer and returns the payload to draw as a QR
// code: Prefix, then Base45 of the zlib of a tagged COSE_Sign1 whose
// protected header holds the algorithm and kid and whose payload is the
// claims in core deterministic CBOR. A zero Expires becomes IssuedAt plus
// DefaultLifetime and a zero Nonce is drawn from crypto/rand; times are cut
// to whole seconds.
func Encode(ctx context.Context, claims Claims, signer keys.Signer, kid []byte) (string, error) {
	alg, err := coseAlgorithm(signer.Algorithm())
	if err != nil {
		return "", fmt.Errorf("encode payload: %w", err)
	}
	if len(kid) == 0 {
		return "", fmt.Errorf("encode payload: %w: empty kid", ErrStructure)
	}
	if claims.Expires.IsZero() {
		claims.Expires = claims.IssuedAt.Add(DefaultLifetime)
	}
	if claims.Nonce == ([NonceSize]byte{}) {
		if _, err := io.ReadFull(rand.Reader, claims.Nonce[:]); err != nil {
			return "", fmt.Errorf("encode payload: draw nonce: %w", err)
		}
	}
	body, err := marshalClaims(claims)
	if err != nil {
		return "", fmt.Errorf("encode payload: %w", err)
	}
	if len(body) > MaxDecompressed-sigOverhead-len(kid) {
		return "", fmt.Errorf("encode payload: %w: claims of %d bytes", ErrTooLarge, len(body))
	}
	signed, err := signSign1(ctx, signer, alg, kid, body)
	if err != nil {
		return "", fmt.Errorf("encode payload: sign: %w", err)
	}
	z, err := deflate(signed)
	if err != nil {
		return "", fmt.Errorf("encode payload: compress: %w", err)
	}
	return Prefix + base45Encode(z), nil
}

// zlib's compressor and decompressor state is large (some 800 KiB and
// 40 KiB) beside a payload of a few hundred bytes, so both are reused:
// allocating them per payload would cost more than the signature. They
// hold no data between uses.
var (
	deflaters sync.Pool // *zlib.Writer
	inflaters sync.Pool // io.ReadCloser that is a zlib.Resetter
)

// deflate compresses b with zlib at the best compression: payloads are
// small and every byte saved shrinks the QR code.
func deflate(b []byte) ([]byte, error) {
	var z bytes.Buffer
	zw, ok := deflaters.Get().(*zlib.Writer)
	if ok {
		zw.Reset(&z)
	} else {
		var err error
		if zw, err = zlib.NewWriterLevel(&z, zlib.BestCompression); err != nil {
			return nil, err
		}
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	deflaters.Put(zw)
	return z.Bytes(), nil
}

// Parsed is a payload whose structure was read but whose signature and
// validity are not yet checked: a verifier looks up the key by KID and
// Algorithm, then calls Verify.
type Parsed struct {
	// Algorithm is the signature algorithm of the protected header.
	Algorithm keys.Algorithm
	// KID identifies the presentation key that signed.
	KID []byte
	// Claims are the claims as read; untrusted until Verify accepts them.
	Claims Claims

	msg *sign1
}

// Decode reads a payload down to its claims without trusting it. Every
// error wraps one of ErrPrefix, ErrTooLarge, ErrEncoding, ErrStructure,
// ErrAlgorithm and ErrClaims; it never panics on any input.
func Decode(payload string) (Parsed, error) {
	if len(payload) > MaxPayload {
		return Parsed{}, fmt.Errorf("decode payload: %w: %d characters, at most %d", ErrTooLarge, len(payload), MaxPayload)
	}
	rest, ok := strings.CutPrefix(payload, Prefix)
	if !ok {
		return Parsed{}, fmt.Errorf("decode payload: %w", ErrPrefix)
	}
	z, err := base45Decode(rest)
	if err != nil {
		return Parsed{}, fmt.Errorf("decode payload: %w", err)
	}
	signed, err := inflate(z)
	if err != nil {
		return Parsed{}, fmt.Errorf("decode payload: %w", err)
	}
	msg, h, err := readSign1(signed)
	if err != nil {
		return Parsed{}, fmt.Errorf("decode payload: %w", err)
	}
	alg, err := keysAlgorithm(*h.Alg)
	if err != nil {
		return Parsed{}, fmt.Errorf("decode payload: %w", err)
	}
	claims, err := unmarshalClaims(msg.Payload)
	if err != nil {
		return Parsed{}, fmt.Errorf("decode payload: %w", err)
	}
	return Parsed{Algorithm: alg, KID: h.KID, Claims: claims, msg: &msg}, nil
}

// inflate undoes zlib, reading at most MaxDecompressed bytes, and insists
// on the stream's end and checksum so a truncated payload is refused.
func inflate(z []byte) ([]byte, error) {
	var (
		zr  io.ReadCloser
		err error
	)
	if pooled, ok := inflaters.Get().(io.ReadCloser); ok {
		zr = pooled
		err = zr.(zlib.Resetter).Reset(bytes.NewReader(z), nil)
	} else {
		zr, err = zlib.NewReader(bytes.NewReader(z))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: zlib: %w", ErrEncoding, err)
	}
	defer inflaters.Put(zr)
	// A payload inflates to about 1.4 times its zlib bytes: twice is one
	// allocation for nearly all, readAll grows the rest.
	out := make([]byte, 0, 2*len(z))
	out, err = readAll(io.LimitReader(zr, MaxDecompressed+1), out)
	if err != nil {
		return nil, fmt.Errorf("%w: zlib: %w", ErrEncoding, err)
	}
	if len(out) > MaxDecompressed {
		return nil, fmt.Errorf("%w: inflates beyond %d bytes", ErrTooLarge, MaxDecompressed)
	}
	return out, nil
}

// Verify checks p's signature under pub and that now lies in its validity
// window widened by skew on both sides, and returns its claims. Errors wrap
// ErrStructure (p is not from Decode), ErrAlgorithm (pub is not a key of
// p's algorithm), ErrSignature or ErrExpired.
func Verify(p Parsed, pub crypto.PublicKey, now time.Time, skew time.Duration) (Claims, error) {
	if p.msg == nil {
		return Claims{}, fmt.Errorf("verify payload: %w: not decoded", ErrStructure)
	}
	got, err := keys.AlgorithmOf(pub)
	if err != nil {
		return Claims{}, fmt.Errorf("verify payload: %w: %w", ErrAlgorithm, err)
	}
	if got != p.Algorithm {
		return Claims{}, fmt.Errorf("verify payload: %w: key is %s, payload is signed with %s", ErrAlgorithm, got, p.Algorithm)
	}
	if err := verifySign1(p.Algorithm, pub, *p.msg); err != nil {
		return Claims{}, fmt.Errorf("verify payload signed by kid %x: %w", p.KID, err)
	}
	c := p.Claims
	if now.Before(c.IssuedAt.Add(-skew)) || !now.Before(c.Expires.Add(skew)) {
		return Claims{}, fmt.Errorf("verify payload: %w: valid %s to %s, now %s (skew %s)", ErrExpired,
			c.IssuedAt.Format(time.RFC3339), c.Expires.Format(time.RFC3339), now.UTC().Format(time.RFC3339), skew)
	}
	return c, nil
}

// readAll is io.ReadAll into buf, so a payload inflates into one buffer
// sized from its compressed length rather than into a doubling series.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
