package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// benchMessage is a typical size for the canonical JSON of a licence.
var benchMessage = make([]byte, 1024)

// rawSigners are the direct library calls our Sign wraps, per algorithm.
func rawSign(k *SoftwareKey) func([]byte) ([]byte, error) {
	switch k.alg {
	case SM2SM3:
		return func(m []byte) ([]byte, error) {
			return sm2.SignASN1(rand.Reader, k.sm2, m, sm2.DefaultSM2SignerOpts)
		}
	case ECDSAP256:
		return func(m []byte) ([]byte, error) {
			h := sha256.Sum256(m)
			return ecdsa.SignASN1(rand.Reader, k.ec, h[:])
		}
	default:
		return func(m []byte) ([]byte, error) { return ed25519.Sign(k.ed, m), nil }
	}
}

func rawVerify(k *SoftwareKey) func(m, sig []byte) bool {
	switch k.alg {
	case SM2SM3:
		return func(m, sig []byte) bool { return sm2.VerifyASN1WithSM2(&k.sm2.PublicKey, nil, m, sig) }
	case ECDSAP256:
		return func(m, sig []byte) bool {
			h := sha256.Sum256(m)
			return ecdsa.VerifyASN1(&k.ec.PublicKey, h[:], sig)
		}
	default:
		pub := k.ed.Public().(ed25519.PublicKey)
		return func(m, sig []byte) bool { return ed25519.Verify(pub, m, sig) }
	}
}

func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	for _, alg := range Algorithms() {
		k := mustGenerate(b, alg)
		raw := rawSign(k)
		b.Run(string(alg)+"/zhengzhao", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(ctx, benchMessage); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/raw", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := raw(benchMessage); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range Algorithms() {
		k := mustGenerate(b, alg)
		sig, err := k.Sign(context.Background(), benchMessage)
		if err != nil {
			b.Fatal(err)
		}
		pub := k.Public()
		raw := rawVerify(k)
		b.Run(string(alg)+"/zhengzhao", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Verify(alg, pub, benchMessage, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/raw", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !raw(benchMessage, sig) {
					b.Fatal("raw verify failed")
				}
			}
		})
	}
}
