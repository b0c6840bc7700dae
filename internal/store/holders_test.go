package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

const personID = "11010519491231002X"

func holderTx(t *testing.T, db *store.DB, fn func(tx holder.Tx) error) error {
	t.Helper()
	return db.HolderTx(context.Background(), fn)
}

// TestHolderStore is the conformance of the holder store on both stores:
// holders found by the blind index licenses keep, the identifier stored
// encrypted, identities linked once, sessions by hash, revoked once, and
// logins taken once.
func TestHolderStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		h := holder.Holder{ID: "hol_1", Kind: catalog.HolderPerson, Identifier: personID, Name: "王建国", CreatedAt: now}
		if err := holderTx(t, db, func(tx holder.Tx) error { return tx.InsertHolder(ctx, h) }); err != nil {
			t.Fatal(err)
		}
		dup := h
		dup.ID = "hol_2"
		if err := holderTx(t, db, func(tx holder.Tx) error { return tx.InsertHolder(ctx, dup) }); !errors.Is(err, apperr.Conflict) {
			t.Errorf("a second holder of the same kind and identifier: %v, want Conflict", err)
		}
		org := holder.Holder{ID: "hol_3", Kind: catalog.HolderOrganization, Identifier: personID, Name: "同号单位", CreatedAt: now}
		if err := holderTx(t, db, func(tx holder.Tx) error { return tx.InsertHolder(ctx, org) }); err != nil {
			t.Errorf("a holder of another kind with the same identifier: %v", err)
		}
		got, err := db.HolderByIdentifier(ctx, catalog.HolderPerson, personID)
		if err != nil || got.ID != h.ID || got.Identifier != personID || got.Name != h.Name || !got.CreatedAt.Equal(now) || got.Index == "" {
			t.Fatalf("HolderByIdentifier = %+v, %v", got, err)
		}
		if _, err := db.HolderByIdentifier(ctx, catalog.HolderPerson, "110105194912310029"); !errors.Is(err, apperr.NotFound) {
			t.Errorf("an unknown identifier: %v, want NotFound", err)
		}
		// The holder's index is the one licenses keep of the same holder.
		l, err := db.ListLicenses(ctx, license.Filter{HolderIndex: got.Index, HolderKind: catalog.HolderPerson, Limit: 10})
		if err != nil || len(l) != 0 {
			t.Errorf("licenses of a holder without any: %d, %v", len(l), err)
		}
		raw, err := store.RawColumn(ctx, db, "holders", "identifier", "id", h.ID)
		if err != nil || bytes.Contains(raw, []byte(personID)) || len(raw) == 0 {
			t.Errorf("the identifier as stored: %q, %v; want it encrypted", raw, err)
		}

		id := holder.Identity{Issuer: "https://idp.example", Subject: "sub-1"}
		if _, err := db.HolderOfIdentity(ctx, id, catalog.HolderPerson); !errors.Is(err, apperr.NotFound) {
			t.Errorf("an identity not linked: %v, want NotFound", err)
		}
		if err := holderTx(t, db, func(tx holder.Tx) error { return tx.LinkHolderIdentity(ctx, id, catalog.HolderPerson, h.ID, now) }); err != nil {
			t.Fatal(err)
		}
		if got, err := db.HolderOfIdentity(ctx, id, catalog.HolderPerson); err != nil || got != h.ID {
			t.Errorf("HolderOfIdentity = %s, %v", got, err)
		}
		err = holderTx(t, db, func(tx holder.Tx) error { return tx.LinkHolderIdentity(ctx, id, catalog.HolderPerson, org.ID, now) })
		if !errors.Is(err, apperr.Conflict) {
			t.Errorf("linking a linked identity again: %v, want Conflict", err)
		}

		s := holder.Session{ID: "hse_1", HolderID: h.ID, Hash: bytes.Repeat([]byte{7}, 32), Prefix: "zh_abcdef", Method: "oidc",
			CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		if err := holderTx(t, db, func(tx holder.Tx) error { return tx.InsertHolderSession(ctx, s) }); err != nil {
			t.Fatal(err)
		}
		byHash, err := db.HolderSessionByHash(ctx, s.Hash)
		if err != nil || byHash.ID != s.ID || !byHash.ExpiresAt.Equal(s.ExpiresAt) || byHash.RevokedAt != nil {
			t.Fatalf("HolderSessionByHash = %+v, %v", byHash, err)
		}
		later := now.Add(time.Minute)
		if err := db.TouchHolderSession(ctx, s.ID, later); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchHolderSession(ctx, s.ID, now); err != nil { // never backwards
			t.Fatal(err)
		}
		if got, _ := db.GetHolderSession(ctx, s.ID); !got.LastSeen.Equal(later) {
			t.Errorf("last seen %v, want %v", got.LastSeen, later)
		}
		if err := holderTx(t, db, func(tx holder.Tx) error { return tx.RevokeHolderSession(ctx, s.ID, later) }); err != nil {
			t.Fatal(err)
		}
		if err := holderTx(t, db, func(tx holder.Tx) error { return tx.RevokeHolderSession(ctx, s.ID, later) }); !errors.Is(err, apperr.Conflict) {
			t.Errorf("revoking twice: %v, want Conflict", err)
		}

		state := []byte("state-hash-1")
		if err := db.BeginHolderLogin(ctx, state, now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.TakeHolderLogin(ctx, state, now); err != nil {
			t.Fatal(err)
		}
		if err := db.TakeHolderLogin(ctx, state, now); !errors.Is(err, apperr.NotFound) {
			t.Errorf("a login taken twice: %v, want NotFound", err)
		}
		expired := []byte("state-hash-2")
		if err := db.BeginHolderLogin(ctx, expired, now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.TakeHolderLogin(ctx, expired, now.Add(time.Minute)); !errors.Is(err, apperr.NotFound) {
			t.Errorf("an expired login: %v, want NotFound", err)
		}
		a, _ := db.DeriveHolderSecret("holder-login-pkce", "s")
		b, _ := db.DeriveHolderSecret("holder-login-nonce", "s")
		if a == "" || a == b {
			t.Errorf("derived secrets %q and %q: want distinct per purpose", a, b)
		}
	})
}

// TestConcurrentHolderSignIn: 20 first sign-ins of the same new person at
// once make exactly one holder, and each gets its own session; 20 racing
// callbacks of one login state finish it once.
func TestConcurrentHolderSignIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, err := holder.New(holder.Deps{Store: db, Tx: db.HolderTx, Now: time.Now, Rand: rand.Reader})
		if err != nil {
			t.Fatal(err)
		}
		const n = 20
		var mu sync.Mutex
		ids, sessions := map[string]bool{}, map[string]bool{}
		var errs []error
		storetest.Race(n, func(int) {
			h, err := svc.Ensure(ctx, holder.Claims{Kind: catalog.HolderPerson, Identifier: "11010519491231002x", Name: "王建国"})
			var s holder.Session
			if err == nil {
				_, s, err = svc.SignIn(ctx, h, "demo", "")
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[h.ID], sessions[s.ID] = true, true
		})
		if len(errs) > 0 || len(ids) != 1 || len(sessions) != n {
			t.Fatalf("%d concurrent sign-ins: holders %v, %d sessions, errors %v", n, ids, len(sessions), errs)
		}
		now := time.Now()
		state := []byte("raced-state")
		if err := db.BeginHolderLogin(ctx, state, now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var taken int
		storetest.Race(n, func(int) {
			if db.TakeHolderLogin(ctx, state, now) == nil {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		})
		if taken != 1 {
			t.Errorf("%d racing callbacks of one state finished it %d times, want once", n, taken)
		}
	})
}
