package license_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// BenchmarkIssue measures issuances per second (Service.Issue: checks,
// two sequences, and one transaction with the status slot, the license,
// the bound signature, the version, the audit entry and the event) on both
// stores with 1 and 8 writers, beside two baselines measured in the same
// run: a raw SM2 signature, the one step of issuance that is pure
// computation, and a raw insert of the same rows (the license and its
// version, encrypted as issuance stores them) in one transaction.
//
//	go test -run '^$' -bench Issue -benchtime 200x ./internal/license/
func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	b.Run("sm2-sign", func(b *testing.B) {
		k, err := keys.GenerateSoftware(keys.SM2SM3, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		msg := make([]byte, 1300)
		b.ResetTimer()
		for b.Loop() {
			if _, err := k.Sign(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range storetest.Backends() {
		for _, writers := range []int{1, 8} {
			b.Run(fmt.Sprintf("raw-insert/%s/writers=%d", name, writers), func(b *testing.B) {
				db := storetest.Open(b, name)
				f := setup(b, db)
				issued, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
				if err != nil {
					b.Fatal(err)
				}
				doc := issued.Document
				elapsed := storetest.Writers(b, writers, func(i int64) error {
					l := issued.License
					l.ID, l.Number = fmt.Sprintf("%s-%d", l.ID, i), fmt.Sprintf("%s-%d", l.Number, i)
					l.Slot.List.Number = 1000 + int(i/100000)
					l.Slot.Index = int(i % 100000)
					return db.LicenseTx(ctx, func(tx license.Tx) error {
						if err := tx.InsertLicense(ctx, l); err != nil {
							return err
						}
						return tx.InsertLicenseVersion(ctx, license.Version{LicenseID: l.ID, Version: 1, Document: doc, SealID: l.SealID,
							UseID: "bench", Slot: l.Slot, CreatedAt: l.IssuedAt})
					})
				}, nil)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "inserted/s")
			})
			b.Run(fmt.Sprintf("%s/writers=%d", name, writers), func(b *testing.B) {
				db := storetest.Open(b, name)
				f := setup(b, db)
				n := f.permit()
				retries := db.Retries()
				elapsed := storetest.Writers(b, writers, func(int64) error {
					_, err := f.p.Licenses.Issue(ctx, f.issuer, n)
					return err
				}, nil)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "issued/s")
				b.ReportMetric(float64(db.Retries()-retries)/float64(b.N), "retries/op")
			})
		}
	}
}

// BenchmarkIssueBatch measures IssueBatch on both stores: batches of
// 1,000 licenses, one transaction and one seal signature each, in
// licenses/s, to be compared with BenchmarkIssue's issued/s.
//
//	go test -run '^$' -bench IssueBatch -benchtime 3x ./internal/license/
func BenchmarkIssueBatch(b *testing.B) {
	ctx := context.Background()
	for _, name := range storetest.Backends() {
		b.Run(name, func(b *testing.B) {
			db := storetest.Open(b, name)
			f := setup(b, db)
			ns := f.permits(1000)
			for b.Loop() {
				if _, err := f.p.Licenses.IssueBatch(ctx, f.issuer, ns); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(ns)*b.N)/b.Elapsed().Seconds(), "licenses/s")
		})
	}
}

// BenchmarkTransfer measures an issuer transfer job moving b.N active
// licenses (each re-signed by the new issuer's bound seal: a status slot,
// the signature, the version, the old slot superseded, the transition,
// the audit entry and the event) in batches of 10, 50 and 200, on both
// stores.
//
//	go test -run '^$' -bench Transfer -benchtime 500x ./internal/license/
func BenchmarkTransfer(b *testing.B) {
	ctx := context.Background()
	for _, name := range storetest.Backends() {
		for _, batch := range []int{10, 50, 200} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				db := storetest.Open(b, name)
				f := setupTransfer(b, db)
				for range b.N {
					if _, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit()); err != nil {
						b.Fatal(err)
					}
				}
				j, err := f.p.Licenses.FileTransfer(ctx, nil, license.NewTransfer{From: f.issuerOrg, To: f.otherOrg, Reason: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				retries := db.Retries()
				b.ResetTimer()
				start := time.Now()
				if j, err = f.p.Licenses.RunTransfer(ctx, j.ID, "bench", license.TransferRun{Batch: batch}); err != nil || j.Moved != int64(b.N) {
					b.Fatalf("moved %d of %d: %v", j.Moved, b.N, err)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "moved/s")
				b.ReportMetric(float64(db.Retries()-retries), "retries")
			})
		}
	}
}
