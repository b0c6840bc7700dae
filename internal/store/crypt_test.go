package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

func contactOrg(code string) org.Org {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return org.Org{CreditCode: code, Name: "x", Region: "350100", Kinds: []org.Kind{org.KindIssuer},
		Responsible: org.Responsible{Name: "y", Phone: "13912345678", Email: "y@example.cn"}, Status: org.Active, Version: 1, CreatedAt: now, UpdatedAt: now}
}

// TestContactIsEncryptedAtRest reads the raw columns: the phone number is not
// there in clear, and a ciphertext copied to another row does not decrypt.
func TestContactIsEncryptedAtRest(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := contactOrg("91350100M000100Y43"), contactOrg("914403001922038216")
		b.Responsible.Phone = "13800000000"
		for _, o := range []org.Org{a, b} {
			storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(ctx, o) })
		}
		raw, err := store.RawColumn(ctx, db, "orgs", "responsible_phone", "credit_code", a.CreditCode)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(a.Responsible.Phone)) || len(raw) < len(a.Responsible.Phone)+16 {
			t.Fatalf("phone stored as %q: not encrypted", raw)
		}
		if got, err := db.GetOrg(ctx, a.CreditCode); err != nil || got.Responsible != a.Responsible {
			t.Fatalf("read back %+v, %v", got.Responsible, err)
		}
		// Move a's ciphertext into b's row: reading b must fail, not show a's phone.
		if err := store.SetRawColumn(ctx, db, "orgs", "responsible_phone", raw, "credit_code", b.CreditCode); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetOrg(ctx, b.CreditCode); err == nil {
			t.Fatalf("a ciphertext moved to another row decrypted to %q", got.Responsible.Phone)
		}
	})
}

func TestUnlockChecksTheMasterKey(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// storetest unlocked db with some key; another key must be refused.
		other := storetest.MasterKey(t)
		err := db.Unlock(ctx, other, envelope.DefaultSuite, rand.Reader)
		var mm *store.MasterKeyMismatchError
		if !errors.As(err, &mm) || mm.Given != other.ID() {
			t.Fatalf("Unlock with another key = %v, want a mismatch naming it", err)
		}
	})
}

// TestRotateMaster re-wraps the data keys: the new key unlocks, the old one
// no longer does, and the data reads the same.
func TestRotateMaster(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) { testRotateMaster(t, pg) })
	}
}

func testRotateMaster(t *testing.T, postgres bool) {
	{
		ctx := context.Background()
		db, dsn, dir := storetest.OpenLocked(t, postgres)
		old, next := storetest.MasterKey(t), storetest.MasterKey(t)
		if err := db.Unlock(ctx, old, envelope.AES256GCM, rand.Reader); err != nil {
			t.Fatal(err)
		}
		o := contactOrg("91350100M000100Y43")
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(ctx, o) })
		checkBlindIndex(t, db, old)
		if _, err := db.RotateMaster(ctx, next, old); err == nil {
			t.Fatal("RotateMaster with the wrong current key succeeded")
		}
		n, err := db.RotateMaster(ctx, old, next)
		if err != nil || n != 2 {
			t.Fatalf("RotateMaster = %d, %v; want 2 data keys", n, err)
		}
		// Blind indexes follow the master key, the store's keys derived
		// from the old one forgotten.
		checkBlindIndex(t, db, next)
		// The running store keeps working on its unwrapped data keys.
		if got, err := db.GetOrg(ctx, o.CreditCode); err != nil || got.Responsible != o.Responsible {
			t.Fatalf("after rotation, running store reads %+v, %v", got.Responsible, err)
		}
		fresh, err := store.Open(ctx, dsn, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		if err := fresh.Unlock(ctx, old, envelope.DefaultSuite, rand.Reader); err == nil {
			t.Fatal("the old master key still unlocks after rotation")
		}
		if err := fresh.Unlock(ctx, next, envelope.DefaultSuite, rand.Reader); err != nil {
			t.Fatalf("the new master key does not unlock: %v", err)
		}
		if got, err := fresh.GetOrg(ctx, o.CreditCode); err != nil || got.Responsible != o.Responsible {
			t.Fatalf("after rotation a new process reads %+v, %v", got.Responsible, err)
		}
	}
}

// checkBlindIndex checks, twice (derived, then kept), that db indexes
// under the blind index key m derives.
func checkBlindIndex(t *testing.T, db *store.DB, m *envelope.MasterKey) {
	t.Helper()
	k, err := m.BlindIndexKey("holder-login-nonce")
	if err != nil {
		t.Fatal(err)
	}
	want := envelope.BlindIndex(k, "state")
	for range 2 {
		if got, err := db.DeriveHolderSecret("holder-login-nonce", "state"); err != nil || got != want {
			t.Fatalf("blind index %q, %v; want %q, the master key's", got, err, want)
		}
	}
}

func TestLockedStoreRefusesEncryptedColumns(t *testing.T) {
	db, _, _ := storetest.OpenLocked(t, false)
	if err := db.WithTx(context.Background(), func(tx *store.Tx) error { return tx.InsertOrg(context.Background(), contactOrg("91350100M000100Y43")) }); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("insert into a locked store = %v, want ErrLocked", err)
	}
}
