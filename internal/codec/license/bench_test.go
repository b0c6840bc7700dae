package license

import (
	"context"
	"testing"
)

// BenchmarkSignBatch compares, in one run, signing 10,000 licenses one
// by one (each its SM3 digest, its own GB/T 38540 SM2 signature and its
// document) with signing them as one batch (the digests, the tree, one
// signature over the header and each document with its proof). The
// signing-only pair leaves the documents out: 10,000 signatures over
// given digests against the tree and one signature. All report
// licenses/s.
//
//	go test -run '^$' -bench SignBatch -benchtime 3x ./internal/codec/license/
func BenchmarkSignBatch(b *testing.B) {
	const n = 10000
	sign, _ := goldenSealer(b)
	ls := make([]License, n)
	for i := range ls {
		ls[i] = numbered(i + 1)
	}
	ctx := context.Background()
	b.Run("per-license", func(b *testing.B) {
		for b.Loop() {
			for _, l := range ls {
				d, err := Digest(l)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Encode(Document{License: l, Signature: sign(d, l.ID)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "licenses/s")
	})
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			docs, err := SignBatch(ctx, "bench", ls, func(_ context.Context, digest []byte) ([]byte, error) { return sign(digest, "bench"), nil })
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range docs {
				if _, err := Encode(d); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "licenses/s")
	})
	digests := make([][]byte, n)
	for i, l := range ls {
		d, err := Digest(l)
		if err != nil {
			b.Fatal(err)
		}
		digests[i] = d
	}
	b.Run("signing-only/per-license", func(b *testing.B) {
		for b.Loop() {
			for i, d := range digests {
				sign(d, ls[i].ID)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "licenses/s")
	})
	b.Run("signing-only/batch", func(b *testing.B) {
		for b.Loop() {
			h, _, err := BuildBatch("bench", digests)
			if err != nil {
				b.Fatal(err)
			}
			d, err := BatchDigest(h)
			if err != nil {
				b.Fatal(err)
			}
			sign(d, "bench")
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "licenses/s")
	})
}
