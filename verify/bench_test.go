package verify_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"crypto/ecdsa"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/verify"
)

// BenchmarkSeal measures an offline verdict with an opened bundle beside
// its ceiling, one raw SM2 verify, in the same run: compare the two ns/op
// (a verdict needs two SM2 verifies once the certificate chains are known).
func BenchmarkSeal(b *testing.B) {
	p := newPlatform(b)
	bundle, err := verify.OpenBundle(sign(b, p.bundle(), p.rootKey, p.root), "")
	if err != nil {
		b.Fatal(err)
	}
	now := p.signedAt.Add(1)
	ctx := context.Background()
	b.Run("verdict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v := verify.Seal(ctx, bundle, p.sigDER, p.doc, nil, now); !v.Valid {
				b.Fatalf("verdict %+v", v)
			}
		}
	})
	b.Run("raw-sm2-verify", func(b *testing.B) {
		msg := []byte("zhengzhao bench")
		sig, err := p.rootKey.Sign(ctx, msg)
		if err != nil {
			b.Fatal(err)
		}
		rootPub, ok := p.root.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			b.Fatalf("root key is %T", p.root.PublicKey)
		}
		b.ReportAllocs()
		for b.Loop() {
			if !sm2.VerifyASN1WithSM2(rootPub, nil, msg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
}

// BenchmarkLicense measures an offline license verdict with an opened
// bundle: a seal verdict plus reading the document strictly (RFC 8785
// twice) and looking two bits up in the decoded status lists — for a
// license signed alone, and for one in the middle of a batch of 10,000
// (the same, over the batch header, plus its 14-hash inclusion proof).
//
//	go test -run '^$' -bench 'License$' ./verify/
func BenchmarkLicense(b *testing.B) {
	p := newPlatformWith(b, platformOptions{sealCode: licenseSealCode})
	bundle, err := verify.OpenBundle(sign(b, p.licenseBundle(b), p.rootKey, p.root), "")
	if err != nil {
		b.Fatal(err)
	}
	at := fetched.Add(1)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		doc  []byte
	}{{"single", p.signLicense(b, sampleLicense())}, {"batch-of-10000", p.inBatch(b, sampleLicense(), 10000, 5000)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v := verify.License(ctx, tc.doc, bundle, at); !v.Valid {
					b.Fatalf("verdict %+v", v)
				}
			}
		})
	}
}

// inBatch signs l as leaf index of a batch of size, the other leaves
// standing for other licenses by their digests, and returns its document.
func (p *platform) inBatch(b *testing.B, l license.License, size, index int) []byte {
	digests := make([][]byte, size)
	for i := range digests {
		d := sm3.Sum([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		digests[i] = d[:]
	}
	d, err := license.Digest(l)
	if err != nil {
		b.Fatal(err)
	}
	digests[index] = d
	h, batches, err := license.BuildBatch("bench", digests)
	if err != nil {
		b.Fatal(err)
	}
	hd, err := license.BatchDigest(h)
	if err != nil {
		b.Fatal(err)
	}
	_, sig, err := ses.Sign(context.Background(), p.seal, hd, p.signedAt, "bench", p.signerCert, p.signer)
	if err != nil {
		b.Fatal(err)
	}
	doc, err := license.Encode(license.Document{Batch: &batches[index], License: l, Signature: sig})
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// BenchmarkPresentation measures an offline verdict on a QR payload with
// an opened bundle — decoding the payload, one SM2 verify and two bits
// looked up — beside its ceiling, one raw SM2 verify, in the same run.
func BenchmarkPresentation(b *testing.B) {
	p := newPlatform(b)
	pr := newPresenter(b, keys.SM2SM3)
	bundle := p.presentationBundle(b, pr, nil)
	payload := pr.payload(b, presentedClaims(), nil)
	ctx := context.Background()
	b.Run("verdict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v := verify.Presentation(ctx, payload, bundle, shownAt); !v.Valid {
				b.Fatalf("verdict %+v", v.Checks)
			}
		}
		b.ReportMetric(float64(len(payload)), "payload-chars")
	})
	// The ceiling: one SM2 verify with a parsed key over a message of the
	// payload's length (its Sig_structure is a little shorter).
	msg := []byte(payload)
	sig, err := pr.key.Sign(ctx, msg)
	if err != nil {
		b.Fatal(err)
	}
	pub, ok := pr.key.Public().(*ecdsa.PublicKey)
	if !ok {
		b.Fatalf("presentation key is %T", pr.key.Public())
	}
	b.Run("raw-sm2-verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
	// Both in turn in each iteration, timed apart: on a machine shared
	// with other work the load changes between two sub-benchmarks, not
	// within one iteration, so this ratio is the steadier figure. Where the
	// platform reports it, each is also timed by the CPU time of its
	// thread (the goroutine is locked to it), which waiting for a core
	// does not count: the steadiest figure on a busy machine.
	b.Run("paired", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var verdict, raw, verdictCPU, rawCPU time.Duration
		_, cpu := threadCPU()
		for b.Loop() {
			c0, _ := threadCPU()
			t0 := time.Now()
			if v := verify.Presentation(ctx, payload, bundle, shownAt); !v.Valid {
				b.Fatalf("verdict %+v", v.Checks)
			}
			t1 := time.Now()
			c1, _ := threadCPU()
			if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
				b.Fatal("does not verify")
			}
			c2, _ := threadCPU()
			verdict, raw = verdict+t1.Sub(t0), raw+time.Since(t1)
			verdictCPU, rawCPU = verdictCPU+c1-c0, rawCPU+c2-c1
		}
		b.ReportMetric(float64(verdict.Nanoseconds())/float64(b.N), "verdict-ns")
		b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns")
		b.ReportMetric(100*float64(raw)/float64(verdict), "verdict-speed-%-of-raw")
		if cpu {
			b.ReportMetric(100*float64(rawCPU)/float64(verdictCPU), "verdict-cpu-speed-%-of-raw")
		}
	})
}
