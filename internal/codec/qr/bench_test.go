package qr

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/fxamacker/cbor/v2"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// BenchmarkEncode compares building a payload (claims, COSE_Sign1, zlib,
// Base45) with signing its Sig_structure directly, for each algorithm.
func BenchmarkEncode(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		k := newKey(b, alg)
		c := sampleClaims()
		payload := encode(b, c, k)
		b.Run(string(alg)+"/payload", func(b *testing.B) {
			b.ReportAllocs()
			b.ReportMetric(float64(len(payload)), "chars")
			for b.Loop() {
				if _, err := Encode(ctx, c, k, sampleKID); err != nil {
					b.Fatal(err)
				}
			}
		})
		tbs := tbsOf(b, payload)
		b.Run(string(alg)+"/raw-sign", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(ctx, tbs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify compares reading and verifying a payload offline
// (Base45, zlib, COSE_Sign1, claims, signature, validity) with verifying
// the same signature over the same Sig_structure with a parsed key.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		k := newKey(b, alg)
		pub := k.Public().(*ecdsa.PublicKey)
		payload := encode(b, sampleClaims(), k)
		b.Run(string(alg)+"/payload", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := Decode(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Verify(p, pub, t0, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
		tbs := tbsOf(b, payload)
		der := derOfRaw(splitSign1(b, payload).Signature)
		b.Run(string(alg)+"/raw-verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var ok bool
				if alg == keys.SM2SM3 {
					ok = sm2.VerifyASN1WithSM2(pub, nil, tbs, der)
				} else {
					h := sha256.Sum256(tbs)
					ok = ecdsa.VerifyASN1(pub, h[:], der)
				}
				if !ok {
					b.Fatal("raw verify failed")
				}
			}
		})
	}
}

// tbsOf returns the bytes a payload's signature covers.
func tbsOf(tb testing.TB, payload string) []byte {
	tb.Helper()
	m := splitSign1(tb, payload)
	tbs, err := cbor.Marshal([]any{"Signature1", m.Protected, []byte{}, m.Payload})
	if err != nil {
		tb.Fatal(err)
	}
	return tbs
}

// BenchmarkDecode measures what verifying adds to the signature check:
// Base45, zlib, COSE_Sign1 and the claims of a business license payload.
func BenchmarkDecode(b *testing.B) {
	payload := encode(b, sampleClaims(), newKey(b, keys.SM2SM3))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(payload); err != nil {
			b.Fatal(err)
		}
	}
}
