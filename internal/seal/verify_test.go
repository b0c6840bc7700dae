package seal_test

import (
	"context"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestOnlineVerdictsAfterChanges: online verification remembers what it
// read, but a revocation decides every verdict from TrustTTL after it on,
// also when many verdicts ran at once before.
func TestOnlineVerdictsAfterChanges(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		doc := []byte("合同正文")
		x, req := f.pinSeal(t, doc)
		signed, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "135790"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		invalid := make(chan string, 20)
		for range 20 {
			wg.Go(func() {
				if v := f.svc.Verify(ctx, signed.Signature, doc, nil); !v.Valid {
					invalid <- v.Checks[len(v.Checks)-1].Reason
				}
			})
		}
		wg.Wait()
		close(invalid)
		for r := range invalid {
			t.Fatalf("a concurrent verdict is invalid: %s", r)
		}

		// Revoked in the second it signed: the signature no longer holds,
		// once the verdicts' facts are TrustTTL old.
		if _, err := f.certs.Revoke(ctx, x.CertFingerprint, ca.ReasonKeyCompromise); err != nil {
			t.Fatal(err)
		}
		if v := f.svc.Verify(ctx, signed.Signature, doc, nil); !v.Valid {
			t.Fatalf("the revocation counted before TrustTTL passed; is the cache in use? %+v", v.Checks)
		}
		f.clk.add(seal.TrustTTL)
		v := f.svc.Verify(ctx, signed.Signature, doc, nil)
		if v.Valid {
			t.Fatalf("verdict after the seal certificate's revocation is valid: %+v", v.Checks)
		}
		for _, c := range v.Checks {
			if c.Name == "certificate-chain" && c.OK {
				t.Fatalf("certificate-chain passes after the revocation: %+v", v.Checks)
			}
		}
	})
}
