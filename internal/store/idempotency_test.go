package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestIdempotencyAnswersSealed stores answers for replay and checks that
// they are kept encrypted under the field data key, replay in clear, follow
// a data key rotation, and that the stored request hash is keyed.
func TestIdempotencyAnswersSealed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		answers := map[string][]byte{}
		for i := range 3 {
			key := fmt.Sprintf("k-%d", i)
			sum := sha256.Sum256([]byte(key))
			if prev, err := db.ClaimIdempotencyKey(ctx, "acc_1", key, sum[:], now, time.Minute); err != nil || prev != nil {
				t.Fatalf("claim %s: %+v %v", key, prev, err)
			}
			answers[key] = []byte(fmt.Sprintf(`{"token":"zz_secret-%d"}`, i))
			if err := db.CompleteIdempotencyKey(ctx, "acc_1", key, 201, "application/json", answers[key]); err != nil {
				t.Fatal(err)
			}
			raw, err := store.RawColumn(ctx, db, "idempotency_keys", "response", "key", key)
			if err != nil || bytes.Contains(raw, []byte("zz_secret")) {
				t.Fatalf("stored answer %q (%v)", raw, err)
			}
			stored, err := store.RawColumn(ctx, db, "idempotency_keys", "request_hash", "key", key)
			if err != nil || bytes.Equal(stored, sum[:]) {
				t.Fatalf("stored request hash is the plain hash (%v)", err)
			}
		}
		replay := func(key string) {
			t.Helper()
			sum := sha256.Sum256([]byte(key))
			prev, err := db.ClaimIdempotencyKey(ctx, "acc_1", key, sum[:], now, time.Minute)
			if err != nil || prev == nil || !prev.Done || !bytes.Equal(prev.Response, answers[key]) || !bytes.Equal(prev.RequestHash, sum[:]) {
				t.Fatalf("replay %s: %+v %v", key, prev, err)
			}
			other := sha256.Sum256([]byte("another body"))
			if prev, err := db.ClaimIdempotencyKey(ctx, "acc_1", key, other[:], now, time.Minute); err != nil || bytes.Equal(prev.RequestHash, other[:]) {
				t.Fatalf("another body under %s matched: %v", key, err)
			}
		}
		replay("k-1")
		if _, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{Purposes: []string{store.FieldKey}, BatchSize: 2}); err != nil {
			t.Fatal(err)
		}
		for key := range answers {
			if id := keyIDOf(t, db, "idempotency_keys", "response", "key", key); id != 2 {
				t.Errorf("%s sealed with key %d after the rotation, want 2", key, id)
			}
			replay(key)
		}
	})
}
