package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestInsertOutboxesChunks writes 100 events with one call, which takes
// statements of 64, 32 and 4 rows, finds every one of them, and refuses a
// batch with a taken identifier as a whole.
func TestInsertOutboxesChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		es := make([]license.OutboxEvent, 100)
		for i := range es {
			es[i] = license.OutboxEvent{ID: fmt.Sprintf("obx_%04d", i), Topic: "license.issued", Payload: []byte(`{"n":1}`),
				At: t0.Add(time.Duration(i) * time.Millisecond)}
		}
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOutboxes(ctx, es) })
		items, err := db.ListOutbox(ctx, notify.Filter{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != len(es) {
			t.Fatalf("%d events, want %d", len(items), len(es))
		}
		for i, it := range items {
			if it.ID != es[i].ID || !it.CreatedAt.Equal(es[i].At) {
				t.Fatalf("event %d: %+v, want %s at %s", i, it, es[i].ID, es[i].At)
			}
		}
		again := []license.OutboxEvent{{ID: "obx_new", Topic: "license.issued", Payload: []byte(`{}`), At: t0}, es[7]}
		if err := db.NotifyTx(ctx, func(tx *store.Tx) error { return tx.InsertOutboxes(ctx, again) }); err == nil {
			t.Fatal("a batch with a taken identifier was written")
		}
		if items, err := db.ListOutbox(ctx, notify.Filter{Limit: 200}); err != nil || len(items) != len(es) {
			t.Fatalf("%d events after the refused batch (%v), want %d", len(items), err, len(es))
		}
	})
}
