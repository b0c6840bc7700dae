package vc

import (
	"context"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// BenchmarkExport maps the worked example and signs it, as one export
// does besides its store reads; BenchmarkVerify checks the result.
func BenchmarkExport(b *testing.B) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		b.Run(string(alg), func(b *testing.B) {
			k, err := keys.GenerateSoftware(alg, nil)
			if err != nil {
				b.Fatal(err)
			}
			doc := readFile(b, sourceDoc)
			b.ReportAllocs()
			for b.Loop() {
				c, err := New(doc, base)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Secure(context.Background(), c, statuslist.ProofOptions{VerificationMethod: keyURL, Created: created}, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		b.Run(string(alg), func(b *testing.B) {
			signed, k, doc := signedWith(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				c, err := Verify(signed, k.Public())
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Describes(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
