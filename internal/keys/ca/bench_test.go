package ca

import (
	"crypto/x509/pkix"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// BenchmarkIssue measures issuing one seal certificate (CA and subject key of
// the same algorithm), including the self-check of the signature and the
// re-parse of the DER.
func BenchmarkIssue(b *testing.B) {
	for _, alg := range keys.Algorithms() {
		b.Run(string(alg), func(b *testing.B) {
			f := newFixture(b, alg, "Bench Root")
			req := IssueRequest{
				PublicKey: mustKey(b, alg).Public(),
				Subject:   pkix.Name{CommonName: "Bench Seal"},
				Purpose:   Seal,
				NotBefore: t0,
				NotAfter:  t0.Add(year),
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.ca.Issue(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures verifying a one-certificate chain to its root,
// including building the certificate pools.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range keys.Algorithms() {
		b.Run(string(alg), func(b *testing.B) {
			f := newFixture(b, alg, "Bench Root")
			seal := f.issue(b, alg, "Bench Seal", Seal, t0, t0.Add(year))
			chain, roots := []*smx509.Certificate{seal}, []*smx509.Certificate{f.root}
			b.ReportAllocs()
			for b.Loop() {
				if err := Verify(chain, roots, t0.Add(day), Seal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
