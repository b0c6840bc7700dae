package pkcs11_test

import (
	"context"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// BenchmarkSign compares signing a 1 KiB message on a SoftHSM2 token with
// the same algorithm in process memory, so the cost of the PKCS#11 round
// trip shows as a ratio. A network HSM adds its own latency on top.
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	msg := make([]byte, 1024)
	run := func(b *testing.B, s keys.Signer) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name string
		alg  keys.Algorithm
	}{
		{"ecdsa-p256", keys.ECDSAP256},
		{"ed25519", keys.Ed25519},
	} {
		name, alg := c.name, c.alg
		b.Run(name+"/software", func(b *testing.B) {
			k, err := keys.GenerateSoftware(alg, nil)
			if err != nil {
				b.Fatal(err)
			}
			run(b, k)
		})
		b.Run(name+"/pkcs11", func(b *testing.B) {
			_, tok := openToken(b)
			run(b, generateAlg(b, tok, alg, "bench"))
		})
		b.Run(name+"/pkcs11-parallel", func(b *testing.B) {
			_, tok := openToken(b)
			k := generateAlg(b, tok, alg, "bench")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := k.Sign(ctx, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
