package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/cputime"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// BenchmarkIntegrate measures the integration of pending audit entries
// alone, the work serve's integrator adds to every audited write: b.N
// redemption entries are sequenced first (not timed), then integrated in
// batches of auditlog.BatchSize. ns/entry and cpu-ns/entry are the figures
// to compare.
//
//	go test -run '^$' -bench Integrate -benchtime 20000x ./internal/store/
func BenchmarkIntegrate(b *testing.B) {
	for _, name := range storetest.Backends() {
		b.Run(name, func(b *testing.B) { benchIntegrate(b, storetest.Open(b, name)) })
	}
}

func benchIntegrate(b *testing.B, db *store.DB) {
	ctx := context.Background()
	entries := make([]auditlog.Entry, 0, 1000)
	for lo := 0; lo < b.N; lo += cap(entries) {
		entries = entries[:0]
		for range min(cap(entries), b.N-lo) {
			entries = append(entries, auditlog.Entry{At: time.Now(), Actor: "acc_01HZX3K4M5N6P7Q8R9S0T1V2W3", Org: "91350100M000100Y43",
				Action: present.RedeemAction, Subject: "LIC-91350100M000100Y43-2026-000001",
				Details: map[string]string{"valid": "true", "unit": "91350100M000100Y43", "matter": "户籍业务办理", "kid": "3f2a9c0e5b7d1f4a"}})
		}
		if err := db.PresentTx(ctx, func(tx present.Tx) error { return auditlog.AppendAll(ctx, tx, entries) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpu := cputime.Process()
	n, err := auditlog.IntegrateAll(ctx, db)
	if err != nil || n != b.N {
		b.Fatalf("integrated %d of %d: %v", n, b.N, err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/entry")
	if cpu1, _ := cputime.Process(); cpu {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/entry")
	}
	if t, err := auditlog.Check(ctx, db); err != nil || t.Size != uint64(b.N) {
		b.Fatalf("tree of %d entries after %d: %v", t.Size, b.N, err)
	}
}
