package status_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// countingSigner counts the signatures made through it.
type countingSigner struct {
	keys.Signer
	n *atomic.Int64
}

func (c countingSigner) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(ctx, msg)
}

// TestPublish signs lists with each suite and checks when a list is signed
// again: not while nothing changed, at once after a change, and after half
// of its validity; many concurrent requests of a changed list sign it once.
func TestPublish(t *testing.T) {
	for _, c := range []struct {
		alg   keys.Algorithm
		suite string
	}{{keys.SM2SM3, statuslist.SuiteSM2JCS}, {keys.ECDSAP256, statuslist.SuiteECDSAJCS2019}} {
		t.Run(string(c.alg), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				key, err := keys.GenerateSoftware(c.alg, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				var signed atomic.Int64
				signer := func(context.Context) (keys.Signer, string, error) {
					return countingSigner{key, &signed}, base + "/keys/status#1", nil
				}
				var mu sync.Mutex
				now := t0
				clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
				advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
				s, err := status.New(status.Deps{Reader: db, BaseURL: base, Signer: signer, Now: clock})
				if err != nil {
					t.Fatal(err)
				}
				a := allocate(t, db, s, issuerA)

				p1, err := s.Publish(ctx, issuerA, 1, statuslist.PurposeSuspension)
				if err != nil {
					t.Fatal(err)
				}
				cred, err := statuslist.ParseCredential(p1.Doc, key.Public())
				if err != nil {
					t.Fatalf("published list does not verify: %v", err)
				}
				if cred.Proof.Cryptosuite != c.suite || cred.CredentialSubject.TTL != 5000 || cred.Issuer != base {
					t.Errorf("suite %s, ttl %d, issuer %s", cred.Proof.Cryptosuite, cred.CredentialSubject.TTL, cred.Issuer)
				}
				if err := cred.CheckValidity(t0.Add(23 * time.Hour)); err != nil {
					t.Errorf("validity: %v", err)
				}

				advance(time.Hour)
				if p, _ := s.Publish(ctx, issuerA, 1, statuslist.PurposeSuspension); p.ETag != p1.ETag || signed.Load() != 1 {
					t.Errorf("unchanged list: ETag %s (was %s), %d signatures; want the same list signed once", p.ETag, p1.ETag, signed.Load())
				}

				storetest.Write(t, db, func(tx *store.Tx) error { return s.SetState(ctx, tx, a.Slot, status.Suspended) })
				var wg sync.WaitGroup
				docs := make([]status.Published, 16)
				for i := range docs {
					wg.Go(func() {
						p, err := s.Publish(ctx, issuerA, 1, statuslist.PurposeSuspension)
						if err != nil {
							t.Error(err)
						}
						docs[i] = p
					})
				}
				wg.Wait()
				if signed.Load() != 2 {
					t.Errorf("%d signatures after a change and 16 requests, want 2", signed.Load())
				}
				for _, p := range docs {
					if p.ETag != docs[0].ETag || p.ETag == p1.ETag {
						t.Fatalf("after a change: ETags %s and %s, first %s", p.ETag, docs[0].ETag, p1.ETag)
					}
				}
				c2, err := statuslist.ParseCredential(docs[0].Doc, key.Public())
				if err != nil {
					t.Fatal(err)
				}
				e, _ := statuslist.NewEntry(c2.ID, statuslist.PurposeSuspension, a.Slot.Index)
				if set, err := statuslist.Check(e, c2); err != nil || !set {
					t.Errorf("suspension bit after suspending: %v, %v", set, err)
				}

				advance(status.DefaultValidity / 2)
				p3, err := s.Publish(ctx, issuerA, 1, statuslist.PurposeSuspension)
				if err != nil {
					t.Fatal(err)
				}
				if signed.Load() != 3 || p3.ETag == docs[0].ETag || !p3.ValidUntil.Equal(now.Add(status.DefaultValidity)) {
					t.Errorf("after half the validity: %d signatures, valid until %s; want signed again", signed.Load(), p3.ValidUntil)
				}
			})
		})
	}
}
