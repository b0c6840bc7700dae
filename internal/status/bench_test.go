package status_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// BenchmarkAllocate measures allocations per second (Service.Allocate in a
// transaction of its own, one issuer, so that every writer draws from the
// same list) beside plain inserts of the same claim row at consecutive
// indices, one transaction each, on both stores with 1, 8 and 32 writers.
// It also reports the transactions started again per allocation.
//
//	go test -run '^$' -bench Allocate -benchtime 5000x ./internal/status/
func BenchmarkAllocate(b *testing.B) {
	for _, name := range storetest.Backends() {
		for _, writers := range []int{1, 8, 32} {
			for _, mode := range []string{"allocate", "plain"} {
				b.Run(fmt.Sprintf("%s/writers=%d/%s", name, writers, mode), func(b *testing.B) {
					benchAllocate(b, storetest.Open(b, name), writers, mode == "allocate")
				})
			}
		}
	}
}

func benchAllocate(b *testing.B, db *store.DB, writers int, allocate bool) {
	ctx := context.Background()
	s := newService(b, db, nil)
	ref := status.ListRef{Issuer: issuerA, Purposes: status.RevocationAndSuspension, Number: 1}
	storetest.Write(b, db, func(tx *store.Tx) error {
		_, err := tx.OpenList(ctx, status.List{ListRef: ref, Size: status.DefaultListSize, Created: t0})
		return err
	})
	write := func(i int64) error {
		return db.WithTx(ctx, func(tx *store.Tx) error {
			if allocate {
				_, err := s.Allocate(ctx, tx, issuerA)
				return err
			}
			ok, err := tx.ClaimIndex(ctx, ref, int(i%status.DefaultListSize))
			if err == nil && !ok {
				err = fmt.Errorf("index %d taken", i)
			}
			return err
		})
	}
	retries := db.Retries()
	elapsed := storetest.Writers(b, writers, write, nil)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tx/s")
	b.ReportMetric(float64(db.Retries()-retries)/float64(b.N), "retries/op")
}
