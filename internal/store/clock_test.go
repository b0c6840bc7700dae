package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestStoreClock checks that the times the store stamps by itself come from
// the clock it was opened with, on both stores.
func TestStoreClock(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, postgres := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[postgres], func(t *testing.T) {
			ctx := context.Background()
			db, _, _ := storetest.OpenLocked(t, postgres, store.WithClock(func() time.Time { return at }))
			storetest.Unlock(t, db)
			keys, err := db.DataKeys(ctx)
			if err != nil || len(keys) == 0 {
				t.Fatalf("data keys: %v (%d)", err, len(keys))
			}
			for _, k := range keys {
				if !k.CreatedAt.Equal(at) {
					t.Errorf("data key %s v%d made at %s, want the store's clock %s", k.Purpose, k.Version, k.CreatedAt, at)
				}
			}
		})
	}
}
