package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestAuditTamperingIsDetected rewrites a stored audit entry behind the
// log's back: Check finds it.
func TestAuditTamperingIsDetected(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 5 {
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc", Action: "seal.sign", Subject: string(rune('a' + i))})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := auditlog.Check(ctx, db); err != nil {
			t.Fatal(err)
		}
		if err := store.SetRawColumn(ctx, db, "audit_entries", "subject", []byte("forged"), "idx", "3"); err != nil {
			t.Fatal(err)
		}
		if _, err := auditlog.Check(ctx, db); !errors.Is(err, auditlog.ErrTampered) {
			t.Fatalf("Check after tampering = %v, want ErrTampered", err)
		}
	})
}
