package store_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestStoreClock checks that the times the store stamps by itself come from
// the clock it was opened with, on both stores.
func TestStoreClock(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, c := range []struct {
		name     string
		dsn, dir func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }, func(t *testing.T) string { return t.TempDir() }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }, func(*testing.T) string { return "" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, c.dsn(t), c.dir(t), store.WithClock(func() time.Time { return at }))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.Unlock(ctx, storetest.MasterKey(t), envelope.DefaultSuite, rand.Reader); err != nil {
				t.Fatal(err)
			}
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
