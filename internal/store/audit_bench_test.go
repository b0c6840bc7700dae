package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// BenchmarkAuditedWrites measures audited writes per second (an entry
// appended in its own transaction, with the integrator running and every
// entry integrated before the clock stops) beside plain inserts of the same
// row, one transaction each, on both stores with 1, 8 and 64 writers.
//
//	go test -run '^$' -bench AuditedWrites -benchtime 20000x ./internal/store/
func BenchmarkAuditedWrites(b *testing.B) {
	for _, name := range storetest.Backends() {
		for _, writers := range []int{1, 8, 64} {
			for _, mode := range []string{"audited", "plain"} {
				b.Run(fmt.Sprintf("%s/writers=%d/%s", name, writers, mode), func(b *testing.B) {
					benchWrites(b, storetest.Open(b, name), writers, mode == "audited")
				})
			}
		}
	}
}

func benchWrites(b *testing.B, db *store.DB, writers int, audited bool) {
	ctx := context.Background()
	if err := store.CreatePlainEntries(ctx, db); err != nil {
		b.Fatal(err)
	}
	details := map[string]string{"document": "3f2a9c0e5b7d1f4a8c6e2b0d9f7a5c3e1b8d6f4a2c0e9b7d5f3a1c8e6b4d2f0a", "use": "use_01HZX3"}
	write := func(i int64) error {
		e := auditlog.Entry{At: time.Now(), Actor: "acc_01HZX3K4M5N6P7Q8R9S0T1V2W3", Org: "91350100M000100Y43", Action: "seal.sign",
			Subject: fmt.Sprintf("35010000000%05d", i%100000), Details: details}
		return db.WithTx(ctx, func(tx *store.Tx) error {
			if audited {
				return auditlog.Append(ctx, tx, e)
			}
			return store.InsertPlainEntry(ctx, tx, e)
		})
	}
	ictx, stopIntegrator := context.WithCancel(ctx)
	defer stopIntegrator()
	integrated := make(chan struct{})
	var failed atomic.Value
	if audited {
		in := &auditlog.Integrator{Store: db, OnError: func(err error) { failed.Store(err) }}
		go func() { in.Run(ictx); close(integrated) }()
	} else {
		close(integrated)
	}
	elapsed := storetest.Writers(b, writers, write, func() error {
		if !audited {
			return nil
		}
		// The clock runs until every entry is in the tree.
		stopIntegrator()
		<-integrated
		_, err := auditlog.IntegrateAll(ctx, db)
		return err
	})
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	if audited {
		if t, err := auditlog.Check(ctx, db); err != nil || t.Size != uint64(b.N) {
			b.Fatalf("tree of %d entries after %d writes: %v", t.Size, b.N, err)
		}
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
}
