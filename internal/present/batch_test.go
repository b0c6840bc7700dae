package present_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestGroupCommit drives the group commit on both stores: 40 redemptions
// of one digest at once claim it once, whatever batches they fall in;
// among 40 of distinct digests, the one that fails fails alone and keeps
// nothing, and the others commit.
func TestGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := present.New(present.Deps{Tx: db.PresentTx, Purger: db})
		exp := time.Now().Add(time.Minute)
		const n = 40
		same := present.Digest("aa", "01")
		var fresh atomic.Int64
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				err := s.Batch(ctx, func(ctx context.Context, tx present.Tx) error {
					ok, err := tx.ClaimRedemption(ctx, same, exp)
					if ok {
						fresh.Add(1) // counted per attempt: a retried batch runs again
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// A retried transaction runs its jobs again, so count what was kept.
		again, err := claimOnce(ctx, s, same, exp)
		if err != nil || again {
			t.Fatalf("the digest claimed by %d racing redemptions is claimed again: %v %v", n, again, err)
		}
		if fresh.Load() < 1 {
			t.Fatal("no redemption claimed the digest")
		}

		boom := errors.New("this redemption fails")
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = s.Batch(ctx, func(ctx context.Context, tx present.Tx) error {
					if _, err := tx.ClaimRedemption(ctx, present.Digest("bb", fmt.Sprintf("%02x", i)), exp); err != nil {
						return err
					}
					if i == 7 {
						return boom
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			first, cerr := claimOnce(ctx, s, present.Digest("bb", fmt.Sprintf("%02x", i)), exp)
			switch {
			case cerr != nil:
				t.Fatal(cerr)
			case i == 7 && (!errors.Is(err, boom) || !first):
				t.Errorf("the failing redemption: %v, its digest kept: %v", err, !first)
			case i != 7 && (err != nil || first):
				t.Errorf("redemption %d: %v, its digest kept: %v", i, err, !first)
			}
		}
	})
}

// claimOnce claims digest in a transaction of its own and says whether it
// was new.
func claimOnce(ctx context.Context, s *present.Service, digest []byte, exp time.Time) (bool, error) {
	var fresh bool
	err := s.Batch(ctx, func(ctx context.Context, tx present.Tx) error {
		var err error
		fresh, err = tx.ClaimRedemption(ctx, digest, exp)
		return err
	})
	return fresh, err
}
