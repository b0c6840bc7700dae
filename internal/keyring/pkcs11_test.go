//go:build cgo

package keyring_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11"
	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11/softhsmtest"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// token adapts a pkcs11.Token to keyring.HSM, as the CLI does.
type token struct{ t *pkcs11.Token }

func (h token) Generate(ctx context.Context, alg keys.Algorithm, id string) (keys.Signer, error) {
	return h.t.Generate(ctx, alg, id)
}

func (h token) Find(ctx context.Context, id string) (keys.Signer, error) {
	return h.t.Find(ctx, id)
}

// TestPKCS11Backend runs the key life cycle on a SoftHSM2 token for every
// algorithm the token backend supports.
func TestPKCS11Backend(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		setup(t, db) // creates the organization
		tok, err := pkcs11.Open(softhsmtest.New(t))
		if err != nil {
			t.Fatalf("open SoftHSM2 token: %v", err)
		}
		t.Cleanup(func() { tok.Close() })
		svc := keyring.New(keyring.Deps{Store: db, Tx: db.KeyTx, HSM: token{tok}, Now: time.Now, Rand: rand.Reader})

		for _, c := range []struct {
			name string
			alg  keys.Algorithm
		}{
			{"hsm-ec", keys.ECDSAP256},
			{"hsm-ed", keys.Ed25519},
		} {
			alg := c.alg
			t.Run(string(alg), func(t *testing.T) {
				k, err := svc.Create(ctx, keyring.NewKey{Org: orgCode, Name: c.name, Purpose: keyring.Seal, Algorithm: alg, Backend: keyring.PKCS11})
				if err != nil {
					t.Fatalf("Create(%s on the token) = %v", alg, err)
				}
				if k.Algorithm != alg || k.Backend != keyring.PKCS11 {
					t.Fatalf("Create() = %+v, want %s on pkcs11", k, alg)
				}
				msg := []byte("电子印章 " + string(alg))
				sig, _, err := svc.Sign(ctx, k.ID, msg)
				if err != nil {
					t.Fatalf("Sign() = %v", err)
				}
				if _, err := svc.Verify(ctx, k.ID, msg, sig); err != nil {
					t.Errorf("Verify() = %v, want nil", err)
				}
				next, err := svc.Rotate(ctx, k.ID)
				if err != nil {
					t.Fatalf("Rotate() = %v", err)
				}
				if _, _, err := svc.Sign(ctx, next.ID, msg); err != nil {
					t.Errorf("Sign with the rotated key = %v", err)
				}
				if _, err := svc.Verify(ctx, k.ID, msg, sig); err != nil {
					t.Errorf("Verify with the retired key = %v, want nil", err)
				}
			})
		}

		// A token key of another algorithm under a stored id must not sign.
		k, err := svc.Create(ctx, keyring.NewKey{Org: orgCode, Name: "swapped", Purpose: keyring.Seal, Algorithm: keys.Ed25519, Backend: keyring.PKCS11})
		if err != nil {
			t.Fatalf("Create(swapped) = %v", err)
		}
		if err := tok.Delete(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tok.Generate(ctx, keys.ECDSAP256, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Sign(ctx, k.ID, []byte("m")); !errors.Is(err, keys.ErrAlgorithmMismatch) || !errors.Is(err, apperr.Internal) {
			t.Errorf("Sign(Ed25519 record, ECDSA token key) = %v, want internal ErrAlgorithmMismatch", err)
		}
	})
}
