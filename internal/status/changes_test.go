package status_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestStoreConcurrentChangesOfOneList changes the bits of many slots of
// one list at once, as a burst of suspensions of one issuer's licenses
// does: every change commits, the published list has exactly the bits set,
// and the list's change counter grew by exactly the number of changes, so
// that it moves a list's signature iff its bits moved. The retries the
// burst cost are logged: no row is shared by every change, but on
// PostgreSQL the changes still share index pages (docs/status-lists.md,
// "Storage"), all of them in a fresh list, fewer in a list with many bits
// set already.
func TestStoreConcurrentChangesOfOneList(t *testing.T) {
	for _, c := range []struct {
		name   string
		filled int // slots whose bits are set before the burst
	}{{"fresh", 0}, {"filled", 4096}} {
		t.Run(c.name, func(t *testing.T) {
			if c.filled > 0 && testing.Short() {
				t.Skip("fills a list")
			}
			concurrentChangesOfOneList(t, c.filled)
		})
	}
}

func concurrentChangesOfOneList(t *testing.T, filled int) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		key, err := keys.GenerateSoftware(keys.ECDSAP256, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		signer := func(context.Context) (keys.Signer, string, error) { return key, base + "/keys/status#1", nil }
		s := newService(t, db, signer)
		// The filling, revoked and suspended in turn, in one transaction:
		// only the burst below is measured.
		fill := map[int]status.State{}
		storetest.Write(t, db, func(tx *store.Tx) error {
			for i := range filled {
				a, err := s.Allocate(ctx, tx, issuerA)
				if err != nil {
					return err
				}
				fill[a.Slot.Index] = []status.State{status.Revoked, status.Suspended}[i%2]
				if err := s.SetState(ctx, tx, a.Slot, fill[a.Slot.Index]); err != nil {
					return err
				}
			}
			return nil
		})
		const n = 32
		slots := make([]status.Slot, n)
		for i := range slots {
			slots[i] = allocate(t, db, s, issuerA).Slot
		}
		published := map[statuslist.Purpose]status.Published{}
		for _, p := range []statuslist.Purpose{statuslist.PurposeRevocation, statuslist.PurposeSuspension} {
			if published[p], err = s.Publish(ctx, issuerA, 1, p); err != nil {
				t.Fatal(err)
			}
		}

		// Each round moves every slot to a state whose bits differ from
		// the previous round's: one change per slot per round.
		rounds := []struct {
			name  string
			state func(i int) status.State
		}{
			{"suspend all", func(int) status.State { return status.Suspended }},
			{"resume the even, revoke the odd", func(i int) status.State {
				return map[bool]status.State{true: status.Active, false: status.Revoked}[i%2 == 0]
			}},
		}
		changes := int64(filled)
		for _, r := range rounds {
			before := db.Retries()
			errs := make([]error, n)
			storetest.Race(n, func(i int) {
				errs[i] = db.WithTx(ctx, func(tx *store.Tx) error { return s.SetState(ctx, tx, slots[i], r.state(i)) })
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("%s: slot %d: %v", r.name, i, err)
				}
			}
			t.Logf("%s: %d bits set before: %s: %d changes of one list at once, %d store retries", db.Dialect(), filled, r.name, n, db.Retries()-before)
			changes += n

			for _, p := range []statuslist.Purpose{statuslist.PurposeRevocation, statuslist.PurposeSuspension} {
				got, err := s.Publish(ctx, issuerA, 1, p)
				if err != nil {
					t.Fatal(err)
				}
				if got.Changes != changes {
					t.Errorf("%s: %s list published at change %d, want %d", r.name, p, got.Changes, changes)
				}
				if got.ETag == published[p].ETag {
					t.Errorf("%s: %s list not signed again", r.name, p)
				}
				published[p] = got
				cred, err := statuslist.ParseCredential(got.Doc, key.Public())
				if err != nil {
					t.Fatal(err)
				}
				bits, err := cred.List()
				if err != nil {
					t.Fatal(err)
				}
				want := map[int]bool{}
				for i, st := range fill {
					b, err := status.BitsOf(st)
					if err != nil {
						t.Fatal(err)
					}
					want[i] = b.Bit(p)
				}
				for i, slot := range slots {
					b, err := status.BitsOf(r.state(i))
					if err != nil {
						t.Fatal(err)
					}
					want[slot.Index] = b.Bit(p)
				}
				for i := range bits.Len() {
					if v, _ := bits.Get(i); v != want[i] {
						t.Errorf("%s: %s bit %d = %v, want %v", r.name, p, i, v, want[i])
					}
				}
			}
		}

		// Setting the bits a slot has already is no change: the lists are
		// served as they were.
		errs := make([]error, n)
		storetest.Race(n, func(i int) {
			errs[i] = db.WithTx(ctx, func(tx *store.Tx) error { return s.SetState(ctx, tx, slots[i], rounds[len(rounds)-1].state(i)) })
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("repeat: slot %d: %v", i, err)
			}
		}
		for _, p := range []statuslist.Purpose{statuslist.PurposeRevocation, statuslist.PurposeSuspension} {
			got, err := s.Publish(ctx, issuerA, 1, p)
			if err != nil {
				t.Fatal(err)
			}
			if got.Changes != changes || got.ETag != published[p].ETag {
				t.Errorf("%s list after no change: change %d, ETag %s; want %d, %s", p, got.Changes, got.ETag, changes, published[p].ETag)
			}
		}
	})
}
