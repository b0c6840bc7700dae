package seal_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// signBoundEach runs SignBoundEach in a transaction of its own.
func signBoundEach(ctx context.Context, f fixture, req seal.BoundSign, docs []seal.BoundDoc) (seal.BoundEach, error) {
	var out seal.BoundEach
	err := f.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = f.svc.SignBoundEach(ctx, tx, req, docs)
		return err
	})
	return out, err
}

// TestSignBoundEach signs documents each by itself with a bound seal:
// each signature verifies over its own digest only, each has its use
// record, and one audit entry names them all; a seal that may not sign
// signs none and writes nothing.
func TestSignBoundEach(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeLicenseSeal(t)
		const n = 7
		docs := make([]seal.BoundDoc, n)
		for i := range docs {
			docs[i] = seal.BoundDoc{Digest: digestOf(fmt.Appendf(nil, "license %d", i)), Title: fmt.Sprintf("license %d", i), PropertyInfo: fmt.Sprint(i)}
		}
		req := seal.BoundSign{Org: f.orgA, SealID: x.ID, LicenseType: "BL01", Title: "import batch", Actor: f.keeper.AccountID}
		if _, err := signBoundEach(ctx, f, req, docs); rule(err) != "seal-not-bound" {
			t.Fatalf("sign before binding: %v", err)
		}
		if uses, err := f.svc.Uses(ctx, x.ID); err != nil || len(uses) != 0 {
			t.Fatalf("a refusal wrote uses %+v (%v)", uses, err)
		}
		f.applyAndApprove(t, seal.Bind, x.ID, seal.BindTerms{})
		out, err := signBoundEach(ctx, f, req, docs)
		if err != nil {
			t.Fatal(err)
		}
		uses, err := f.svc.Uses(ctx, x.ID)
		if err != nil || len(uses) != n || len(out.Uses) != n {
			t.Fatalf("%d uses stored, %d returned, want %d (%v)", len(uses), len(out.Uses), n, err)
		}
		stored := map[string]seal.Use{}
		for _, u := range uses {
			stored[u.ID] = u
		}
		for i, u := range out.Uses {
			s := stored[u.ID]
			if s.Kind != seal.UseBound || s.DocHash != hex.EncodeToString(docs[i].Digest) || s.Title != docs[i].Title || !bytes.Equal(s.Signature, u.Signature) {
				t.Fatalf("use %d: stored %+v", i, s)
			}
			if v := f.svc.Verify(ctx, u.Signature, nil, docs[i].Digest); !v.Valid || v.SealCode != x.ID {
				t.Fatalf("signature %d over its digest: %+v", i, v)
			}
			if v := f.svc.Verify(ctx, u.Signature, nil, docs[(i+1)%n].Digest); v.Valid {
				t.Fatalf("signature %d verified over another document's digest", i)
			}
		}
		actions := sealActions(t, f, x.ID)
		if countOf(actions, "seal.sign.bound.each") != 1 || countOf(actions, "seal.sign.bound") != 0 {
			t.Fatalf("audit actions %v, want one seal.sign.bound.each", actions)
		}
		// The root commits to the digests, whatever their order.
		reversed := make([]seal.BoundDoc, n)
		for i := range docs {
			reversed[n-1-i] = docs[i]
		}
		again, err := signBoundEach(ctx, f, req, reversed)
		if err != nil {
			t.Fatal(err)
		}
		other, err := signBoundEach(ctx, f, req, docs[1:])
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Root) != 64 || again.Root != out.Root || other.Root == out.Root {
			t.Fatalf("roots %s, reversed %s, one fewer %s", out.Root, again.Root, other.Root)
		}
		bad := append([]seal.BoundDoc(nil), docs...)
		bad[3].Digest = bad[3].Digest[:5]
		if _, err := signBoundEach(ctx, f, req, bad); rule(err) != "sm3" {
			t.Fatalf("a short digest: %v", err)
		}
	})
}
