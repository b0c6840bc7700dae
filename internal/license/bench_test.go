package license_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// BenchmarkIssue measures issuances per second (Service.Issue: checks,
// two sequences, and one transaction with the status slot, the license,
// the bound signature, the version, the audit entry and the event) on both
// stores with 1 and 8 writers, beside a raw SM2 signature, the one step
// of issuance that is pure computation.
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
