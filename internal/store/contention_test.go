package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestSharedRowsUnderConcurrency runs the writes that every request or
// many requests share from 64 clients at once: idempotency claims of
// distinct keys and of one key, and CRL numbers. None is refused, claims
// of distinct keys do not even conflict, one claimer wins a key, and CRL
// numbers are distinct and gapless.
func TestSharedRowsUnderConcurrency(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const clients = 64
		var mu sync.Mutex
		var errs []error
		fail := func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		run := func(n int, fn func(i int)) {
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { fn(i) })
			}
			wg.Wait()
			for _, err := range errs {
				t.Error(err)
			}
			errs = nil
		}

		run(clients, func(i int) {
			prev, err := db.ClaimIdempotencyKey(ctx, "acc", fmt.Sprintf("key-%d", i), []byte("h"), time.Now(), time.Minute)
			if err != nil || prev != nil {
				fail(fmt.Errorf("claim of a fresh key: %+v, %w", prev, err))
			}
		})
		// Claims of different keys share no row: none had to be retried.
		if n := db.Retries(); n != 0 {
			t.Errorf("%d claims of distinct keys were retried", n)
		}

		won := 0
		run(20, func(int) {
			prev, err := db.ClaimIdempotencyKey(ctx, "acc", "same", []byte("h"), time.Now(), time.Minute)
			if err != nil {
				fail(fmt.Errorf("claim of a shared key: %w", err))
				return
			}
			if prev == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if prev.Done {
				fail(fmt.Errorf("a pending key reads as done: %+v", prev))
			}
		})
		if won != 1 {
			t.Errorf("%d of 20 requests claimed the same key, want 1", won)
		}

		var numbers []int64
		run(clients, func(int) {
			n, err := db.NextCRLNumber(ctx)
			if err != nil {
				fail(fmt.Errorf("CRL number: %w", err))
				return
			}
			mu.Lock()
			numbers = append(numbers, n)
			mu.Unlock()
		})
		slices.Sort(numbers)
		for i, n := range numbers {
			if n != int64(i+1) {
				t.Fatalf("CRL numbers %v, want 1 to %d", numbers, clients)
			}
		}
	})
}
