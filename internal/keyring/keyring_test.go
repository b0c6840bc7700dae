package keyring_test

import (
	"context"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

const orgCode = "91350100M000100Y43"

func setup(t *testing.T, db *store.DB) *keyring.Service {
	t.Helper()
	p, err := platform.New(db, platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Orgs.CreateOrg(context.Background(), org.NewOrg{CreditCode: orgCode, Name: "x", Region: "350100",
		Kinds: []org.Kind{org.KindIssuer}, Responsible: org.Responsible{Name: "y", Phone: "13900000000"}}); err != nil {
		t.Fatal(err)
	}
	return p.Keys
}

func TestLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := setup(t, db)
		for _, alg := range keys.Algorithms() {
			name := map[keys.Algorithm]string{keys.SM2SM3: "seal-sm2", keys.ECDSAP256: "seal-ecdsa", keys.Ed25519: "seal-ed25519"}[alg]
			k, err := svc.Create(ctx, keyring.NewKey{Org: orgCode, Name: name, Purpose: keyring.Seal, Algorithm: alg})
			if err != nil {
				t.Fatalf("%s: create: %v", alg, err)
			}
			if k.State != keyring.Active || k.Version != 1 || k.Algorithm != alg || k.Backend != keyring.Software {
				t.Fatalf("%s: created %+v", alg, k)
			}
			msg := []byte("电子证照 " + string(alg))
			sig, _, err := svc.Sign(ctx, k.ID, msg)
			if err != nil {
				t.Fatalf("%s: sign: %v", alg, err)
			}
			pub, err := k.Public()
			if err != nil {
				t.Fatal(err)
			}
			if err := keys.Verify(alg, pub, msg, sig); err != nil {
				t.Fatalf("%s: signature does not verify with the exported public key: %v", alg, err)
			}
			if _, err := svc.Verify(ctx, k.ID, append(msg, '!'), sig); !errors.Is(err, keys.ErrBadSignature) {
				t.Fatalf("%s: tampered message: %v", alg, err)
			}

			next, err := svc.Rotate(ctx, k.ID)
			if err != nil {
				t.Fatalf("%s: rotate: %v", alg, err)
			}
			old, _ := svc.Get(ctx, k.ID)
			if next.Version != 2 || next.Name != name || old.State != keyring.Retired || old.ReplacedBy != next.ID || old.RotatedAt == nil {
				t.Fatalf("%s: after rotation old=%+v new=%+v", alg, old, next)
			}
			if _, err := svc.Verify(ctx, k.ID, msg, sig); err != nil {
				t.Fatalf("%s: the old signature no longer verifies after rotation: %v", alg, err)
			}
			if _, _, err := svc.Sign(ctx, k.ID, msg); !errors.Is(err, keyring.ErrNotActive) {
				t.Fatalf("%s: a retired key signed: %v", alg, err)
			}
			if _, err := svc.Rotate(ctx, k.ID); !errors.Is(err, apperr.Conflict) {
				t.Fatalf("%s: rotating a retired version: %v", alg, err)
			}
			if got, err := svc.Resolve(ctx, orgCode, name); err != nil || got.ID != next.ID {
				t.Fatalf("%s: resolve by name = %+v, %v; want version 2", alg, got, err)
			}
			if _, err := svc.Disable(ctx, next.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Sign(ctx, next.ID, msg); !errors.Is(err, keyring.ErrNotActive) {
				t.Fatalf("%s: a disabled key signed: %v", alg, err)
			}
			if _, err := svc.Enable(ctx, next.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Sign(ctx, next.ID, msg); err != nil {
				t.Fatalf("%s: an enabled key does not sign: %v", alg, err)
			}
		}
		list, err := svc.List(ctx, keyring.Filter{Org: orgCode, State: keyring.Retired, Limit: 10})
		if err != nil || len(list) != 3 {
			t.Fatalf("retired keys: %d, %v; want 3", len(list), err)
		}
	})
}

func TestCreateRejects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := setup(t, db)
		if _, err := svc.Create(ctx, keyring.NewKey{Org: orgCode, Name: "k", Purpose: keyring.Seal}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			n     keyring.NewKey
			kind  apperr.Kind
			field string
		}{
			{keyring.NewKey{Org: orgCode, Name: "K!", Purpose: keyring.Seal}, apperr.Invalid, "name"},
			{keyring.NewKey{Org: orgCode, Name: "a", Purpose: "stamp"}, apperr.Invalid, "purpose"},
			{keyring.NewKey{Org: orgCode, Name: "a", Purpose: keyring.Seal, Algorithm: "RSA"}, apperr.Invalid, "algorithm"},
			{keyring.NewKey{Org: orgCode, Name: "a", Purpose: keyring.Seal, Backend: "cloud"}, apperr.Invalid, "backend"},
			{keyring.NewKey{Org: orgCode, Name: "k", Purpose: keyring.Seal}, apperr.Conflict, "name"},
			{keyring.NewKey{Org: orgCode, Name: "h", Purpose: keyring.Seal, Backend: keyring.PKCS11, Algorithm: keys.ECDSAP256}, apperr.Unavailable, ""},
		}
		for _, c := range cases {
			_, err := svc.Create(ctx, c.n)
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != c.kind || (c.field != "" && (len(ae.Fields) == 0 || ae.Fields[0].Field != c.field)) {
				t.Errorf("Create(%+v) = %v, want %s on %q", c.n, err, c.kind, c.field)
			}
		}
		if _, err := svc.Create(ctx, keyring.NewKey{Org: "914403001922038216", Name: "x", Purpose: keyring.Seal}); !errors.Is(err, apperr.Invalid) {
			t.Errorf("key of an unknown org: %v, want invalid", err)
		}
	})
}

// TestPlatformSigners: the status-list and presentation keys are made SM2
// on first use and found again after; a key an operator made beforehand
// keeps its algorithm; a key of the name made for another purpose is
// refused.
func TestPlatformSigners(t *testing.T) {
	type signerFunc func(*keyring.Service, context.Context, string, keys.Algorithm) (keys.Signer, keyring.Key, error)
	for _, pk := range []struct {
		name    string
		purpose keyring.Purpose
		signer  signerFunc
	}{
		{keyring.StatusListKeyName, keyring.StatusList, (*keyring.Service).StatusListSigner},
		{keyring.PresentationKeyName, keyring.Presentation, (*keyring.Service).PresentationSigner},
	} {
		cases := []struct {
			name     string
			made     *keyring.NewKey
			alg      keys.Algorithm
			wantAlg  keys.Algorithm
			wantKind apperr.Kind
		}{
			{name: "default", wantAlg: keys.SM2SM3},
			{name: "asked ECDSA", alg: keys.ECDSAP256, wantAlg: keys.ECDSAP256},
			{name: "operator's ECDSA", made: &keyring.NewKey{Name: pk.name, Purpose: pk.purpose, Algorithm: keys.ECDSAP256}, wantAlg: keys.ECDSAP256},
			{name: "other purpose", made: &keyring.NewKey{Name: pk.name, Purpose: keyring.Seal}, wantKind: apperr.Conflict},
		}
		for _, c := range cases {
			t.Run(pk.name+"/"+c.name, func(t *testing.T) {
				storetest.Run(t, func(t *testing.T, db *store.DB) {
					ctx := context.Background()
					svc := setup(t, db)
					if c.made != nil {
						n := *c.made
						n.Org = orgCode
						if _, err := svc.Create(ctx, n); err != nil {
							t.Fatal(err)
						}
					}
					signer, k, err := pk.signer(svc, ctx, orgCode, c.alg)
					if c.wantKind != "" {
						if !errors.Is(err, c.wantKind) {
							t.Fatalf("signer = %v, want %s", err, c.wantKind)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if signer.Algorithm() != c.wantAlg || k.Algorithm != c.wantAlg || k.Purpose != pk.purpose || k.Name != pk.name {
						t.Errorf("signer %s, key %+v; want %s", signer.Algorithm(), k, c.wantAlg)
					}
					_, again, err := pk.signer(svc, ctx, orgCode, keys.Ed25519)
					if err != nil || again.ID != k.ID {
						t.Errorf("second call: key %s, %v; want %s again", again.ID, err, k.ID)
					}
				})
			})
		}
	}
}
