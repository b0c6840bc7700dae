package pkcs11_test

import (
	"context"
	"testing"

	"zhengzhao/internal/keys"
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
	b.Run("ecdsa-p256/software", func(b *testing.B) {
		k, err := keys.GenerateSoftware(keys.ECDSAP256, nil)
		if err != nil {
			b.Fatal(err)
		}
		run(b, k)
	})
	b.Run("ecdsa-p256/pkcs11", func(b *testing.B) {
		_, tok := openToken(b)
		run(b, generate(b, tok, "bench"))
	})
	b.Run("ecdsa-p256/pkcs11-parallel", func(b *testing.B) {
		_, tok := openToken(b)
		k := generate(b, tok, "bench")
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
