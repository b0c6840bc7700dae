package store_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/cputime"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// BenchmarkRedemptionWrites measures what a batch of present.MaxBatch
// redemptions writes in its transaction, one transaction at a time as the
// group commit runs them: the redemption records and the audit entries, one
// statement a row ("rows") or one statement each for the batch ("batch").
// ns/op is a batch's; ns/redemption the figure to compare.
//
//	go test -run '^$' -bench RedemptionWrites -count 4 ./internal/store/
func BenchmarkRedemptionWrites(b *testing.B) {
	for _, name := range storetest.Backends() {
		for _, mode := range []string{"rows", "batch"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				benchRedemptionWrites(b, storetest.Open(b, name), mode == "batch")
			})
		}
	}
}

func benchRedemptionWrites(b *testing.B, db *store.DB, batch bool) {
	ctx := context.Background()
	const n = present.MaxBatch
	claims := make([]present.Claim, n)
	entries := make([]auditlog.Entry, n)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpu := cputime.Process()
	for range b.N {
		now := time.Now()
		for i := range claims {
			d := make([]byte, 32)
			rand.Read(d)
			claims[i] = present.Claim{Digest: d, Expires: now.Add(time.Minute)}
			entries[i] = auditlog.Entry{At: now, Actor: "acc_01HZX3K4M5N6P7Q8R9S0T1V2W3", Org: "91350100M000100Y43",
				Action: present.RedeemAction, Subject: "LIC-91350100M000100Y43-2026-000001",
				Details: map[string]string{"valid": "true", "unit": "91350100M000100Y43", "matter": "户籍业务办理", "kid": "3f2a9c0e5b7d1f4a"}}
		}
		err := db.PresentTx(ctx, func(tx present.Tx) error {
			if batch {
				fresh, err := tx.ClaimRedemptions(ctx, claims)
				if err != nil || len(fresh) != n || !fresh[n-1] {
					b.Fatalf("claims: %v %v", fresh, err)
				}
				return auditlog.AppendAll(ctx, tx, entries)
			}
			for i := range claims {
				fresh, err := tx.ClaimRedemptions(ctx, claims[i:i+1])
				if err != nil || !fresh[0] {
					b.Fatalf("claim: %v %v", fresh, err)
				}
				if err := auditlog.Append(ctx, tx, entries[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/redemption")
	// The CPU of this process a redemption, which other work on the machine
	// moves less than the time (PostgreSQL's own is not in it).
	if cpu1, _ := cputime.Process(); cpu {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/redemption")
	}
}
