package present_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestGroupCommit drives the group commit on both stores: 40 redemptions
// of one digest at once claim it exactly once, whatever batches they fall
// in; among 40 of distinct digests, the one that fails fails alone and
// keeps neither its record nor its audit entry, and the others commit
// both.
func TestGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := present.New(present.Deps{Tx: db.PresentTx, Purger: db})
		exp := time.Now().Add(time.Minute)
		const n = 40
		same := present.Digest("aa", "01")
		fresh := make([]bool, n) // as the committed attempt decided: a retried batch runs again
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				err := s.Batch(ctx, func(context.Context, present.Tx) (*present.Claim, error) {
					return &present.Claim{Digest: same, Expires: exp}, nil
				}, func(claimed, ok bool) auditlog.Entry {
					fresh[i] = claimed && ok
					return entry("same", i)
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		first := 0
		for _, ok := range fresh {
			if ok {
				first++
			}
		}
		if first != 1 {
			t.Fatalf("%d of %d racing redemptions of one digest claimed it, want 1", first, n)
		}
		if again, err := claimOnce(ctx, s, same, exp); err != nil || again {
			t.Fatalf("the digest claimed by %d racing redemptions is claimed again: %v %v", n, again, err)
		}

		boom := errors.New("this redemption fails")
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = s.Batch(ctx, func(context.Context, present.Tx) (*present.Claim, error) {
					if i == 7 {
						return nil, boom
					}
					return &present.Claim{Digest: present.Digest("bb", fmt.Sprintf("%02x", i)), Expires: exp}, nil
				}, func(bool, bool) auditlog.Entry { return entry("distinct", i) })
			})
		}
		wg.Wait()
		recorded := map[string]int{}
		pending, err := db.AuditPending(ctx, "", 10*n)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pending {
			recorded[e.Subject]++
		}
		for i, err := range errs {
			first, cerr := claimOnce(ctx, s, present.Digest("bb", fmt.Sprintf("%02x", i)), exp)
			subject := fmt.Sprintf("distinct-%d", i)
			switch {
			case cerr != nil:
				t.Fatal(cerr)
			case i == 7 && (!errors.Is(err, boom) || !first || recorded[subject] != 0):
				t.Errorf("the failing redemption: %v, its digest kept: %v, its entries: %d", err, !first, recorded[subject])
			case i != 7 && (err != nil || first || recorded[subject] != 1):
				t.Errorf("redemption %d: %v, its digest kept: %v, its entries: %d", i, err, !first, recorded[subject])
			}
		}
	})
}

// TestClaimRedemptions: one insert of a batch's records says which are
// new, a digest recorded before or claimed earlier in the batch is not,
// on both stores.
func TestClaimRedemptions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		exp := time.Now().Add(time.Minute)
		a, b, c := present.Digest("cc", "01"), present.Digest("cc", "02"), present.Digest("cc", "03")
		for _, step := range []struct {
			claims [][]byte
			want   []bool
		}{
			{[][]byte{b}, []bool{true}},
			{[][]byte{a, b, a, c, c}, []bool{true, false, false, true, false}},
			{[][]byte{c, a}, []bool{false, false}},
			{nil, nil},
		} {
			claims := make([]present.Claim, len(step.claims))
			for i, d := range step.claims {
				claims[i] = present.Claim{Digest: d, Expires: exp}
			}
			var got []bool
			err := db.PresentTx(ctx, func(tx present.Tx) error {
				var err error
				got, err = tx.ClaimRedemptions(ctx, claims)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(step.want) {
				t.Errorf("claims %d: new %v, want %v", len(claims), got, step.want)
			}
		}
		if n, err := db.PurgeRedemptions(ctx, exp.Add(time.Second), 10); err != nil || n != 3 {
			t.Errorf("purged %d records (%v), want the 3 distinct digests", n, err)
		}
	})
}

// entry is the audit entry of a test job.
func entry(kind string, i int) auditlog.Entry {
	return auditlog.Entry{At: time.Now(), Actor: auditlog.Operator, Action: present.RedeemAction, Subject: fmt.Sprintf("%s-%d", kind, i)}
}

// claimOnce claims digest in a transaction of its own and says whether it
// was new.
func claimOnce(ctx context.Context, s *present.Service, digest []byte, exp time.Time) (bool, error) {
	var fresh bool
	err := s.Batch(ctx, func(context.Context, present.Tx) (*present.Claim, error) {
		return &present.Claim{Digest: digest, Expires: exp}, nil
	}, func(claimed, ok bool) auditlog.Entry {
		fresh = claimed && ok
		return entry("once", 0)
	})
	return fresh, err
}
