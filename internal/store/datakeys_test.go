package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// testCodes are valid credit codes for several organizations.
var testCodes = []string{"91350100M000100Y43", "914403001922038216", "91110000100006485K", "91310000132200821H", "911100001000013428"}

// seedContacts inserts one organization per code, each with its own phone,
// and a software private key owned by the first, and returns the orgs.
func seedContacts(t *testing.T, db *store.DB, codes []string) []org.Org {
	t.Helper()
	ctx := context.Background()
	var out []org.Org
	for i, c := range codes {
		o := contactOrg(c)
		o.Responsible.Phone = fmt.Sprintf("139000000%02d", i)
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(ctx, o) })
		out = append(out, o)
	}
	k := keyring.Key{ID: "key_test_1", Org: codes[0], Name: "k", Version: 1, Purpose: keyring.Purpose("seal"), Algorithm: keys.Algorithm("SM2-SM3"),
		Backend: keyring.Software, State: keyring.State("active"), PublicPEM: []byte("pem"), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertKey(ctx, k, []byte("private pkcs8")) })
	return out
}

// keyIDOf returns the data key a raw column names (Unnamed for layout 1).
func keyIDOf(t *testing.T, db *store.DB, table, column, keyCol, key string) envelope.KeyID {
	t.Helper()
	raw, err := store.RawColumn(context.Background(), db, table, column, keyCol, key)
	if err != nil {
		t.Fatal(err)
	}
	id, err := envelope.CiphertextKeyID(raw)
	if err != nil {
		t.Fatalf("%s.%s of %s: %v", table, column, key, err)
	}
	return id
}

// checkAll reads every seeded value back and checks which data key each
// names: want, or any key when want is 0.
func checkAll(t *testing.T, db *store.DB, orgs []org.Org, want envelope.KeyID) {
	t.Helper()
	ctx := context.Background()
	for _, o := range orgs {
		got, err := db.GetOrg(ctx, o.CreditCode)
		if err != nil || got.Responsible != o.Responsible {
			t.Errorf("%s reads back %+v, %v; want %+v", o.CreditCode, got.Responsible, err, o.Responsible)
		}
		for _, col := range []string{"responsible_phone", "responsible_email"} {
			if id := keyIDOf(t, db, "orgs", col, "credit_code", o.CreditCode); want != 0 && id != want {
				t.Errorf("%s.%s names data key %d, want %d", o.CreditCode, col, id, want)
			}
		}
	}
	if pk, err := db.KeyPrivate(ctx, "key_test_1"); err != nil || string(pk) != "private pkcs8" {
		t.Errorf("private key reads back %q, %v", pk, err)
	}
	if id := keyIDOf(t, db, "keys", "private_key", "id", "key_test_1"); want != 0 && id != want {
		t.Errorf("keys.private_key names data key %d, want %d", id, want)
	}
}

func dataKeyStates(t *testing.T, db *store.DB, purpose string) []string {
	t.Helper()
	ks, err := db.DataKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range ks {
		if k.Purpose == purpose {
			out = append(out, fmt.Sprintf("v%d %s", k.Version, k.State))
			if (k.State == store.DataKeyRetired) != (k.RetiredAt != nil) {
				t.Errorf("%s v%d is %s with retired_at %v", purpose, k.Version, k.State, k.RetiredAt)
			}
		}
	}
	return out
}

// TestRotateDataKeys rotates every purpose: layout 1 values and values
// under key 1 move to key 2, read back equal, new writes name key 2, key 1
// is retired, and layout 1 values still decrypt afterwards.
func TestRotateDataKeys(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		orgs := seedContacts(t, db, testCodes[:3])
		// New writes name key 1; a value as stored before versions (layout 1)
		// is read with key 1 too.
		checkAll(t, db, orgs, 1)
		v1, err := store.SealV1(ctx, db, store.FieldKey, "orgs", orgs[0].CreditCode, "responsible_phone", orgs[0].Responsible.Phone)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRawColumn(ctx, db, "orgs", "responsible_phone", v1, "credit_code", orgs[0].CreditCode); err != nil {
			t.Fatal(err)
		}
		if id := keyIDOf(t, db, "orgs", "responsible_phone", "credit_code", orgs[0].CreditCode); id != envelope.Unnamed {
			t.Fatalf("SealV1 wrote a value naming key %d", id)
		}
		checkAll(t, db, orgs, 0)

		var progress []store.DataKeyProgress
		res, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{BatchSize: 2, Progress: func(p store.DataKeyProgress) { progress = append(progress, p) }})
		if err != nil {
			t.Fatalf("RotateDataKeys: %v", err)
		}
		if len(res) != 2 {
			t.Fatalf("RotateDataKeys reports %d purposes, want 2", len(res))
		}
		want := map[string]int64{store.FieldKey: 6, store.PrivateKeyKey: 1}
		for _, r := range res {
			if r.Version != 2 || r.Resumed || !r.Done || !slices.Equal(r.Retired, []int64{1}) || r.Reencrypted != want[r.Purpose] || r.Suite != envelope.DefaultSuite.String() {
				t.Errorf("%s: %+v; want version 2, done, retired [1], %d re-encrypted", r.Purpose, r, want[r.Purpose])
			}
		}
		if len(progress) == 0 || progress[len(progress)-1].Reencrypted != 1 {
			t.Errorf("progress reports %+v", progress)
		}
		checkAll(t, db, orgs, 2)
		for _, p := range store.Purposes() {
			if got := dataKeyStates(t, db, p); !slices.Equal(got, []string{"v1 retired", "v2 active"}) {
				t.Errorf("%s data keys %v, want v1 retired, v2 active", p, got)
			}
		}

		// New writes name the new key.
		more := seedContactsFrom(t, db, testCodes[3:4])
		checkAll(t, db, append(orgs, more...), 2)

		// A layout 1 value (a row restored from a backup) still decrypts
		// with the retired key.
		if err := store.SetRawColumn(ctx, db, "orgs", "responsible_phone", v1, "credit_code", orgs[0].CreditCode); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetOrg(ctx, orgs[0].CreditCode); err != nil || got.Responsible != orgs[0].Responsible {
			t.Fatalf("layout 1 value after rotation reads %+v, %v", got.Responsible, err)
		}

		// A re-encrypted value moved to another row does not decrypt.
		raw, err := store.RawColumn(ctx, db, "orgs", "responsible_phone", "credit_code", orgs[1].CreditCode)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRawColumn(ctx, db, "orgs", "responsible_phone", raw, "credit_code", orgs[2].CreditCode); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetOrg(ctx, orgs[2].CreditCode); err == nil {
			t.Fatalf("a ciphertext moved to another row decrypted to %q", got.Responsible.Phone)
		}

		entries, _ := storetest.AuditEntries(t, db)
		var got []string
		for _, e := range entries {
			if e.Action == "data-key.created" || e.Action == "data-key.rotated" {
				got = append(got, e.Action+" "+e.Subject+" "+e.Actor+" retired="+e.Details["retired"])
			}
		}
		wantLog := []string{"data-key.created field/v2 operator retired=", "data-key.rotated field/v2 operator retired=1",
			"data-key.created private-key/v2 operator retired=", "data-key.rotated private-key/v2 operator retired=1"}
		if !slices.Equal(got, wantLog) {
			t.Errorf("audit log:\n%q\nwant\n%q", got, wantLog)
		}

		// Rotating one purpose leaves the other alone.
		res, err = db.RotateDataKeys(ctx, store.RotateDataKeysOptions{Purposes: []string{store.PrivateKeyKey}})
		if err != nil || len(res) != 1 || res[0].Version != 3 {
			t.Fatalf("RotateDataKeys(private-key) = %+v, %v", res, err)
		}
		if got := dataKeyStates(t, db, store.FieldKey); !slices.Equal(got, []string{"v1 retired", "v2 active"}) {
			t.Errorf("field data keys after rotating private-key: %v", got)
		}
		if _, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{Purposes: []string{"nope"}}); err == nil {
			t.Error("RotateDataKeys(unknown purpose) succeeded")
		}
	})
}

// seedContactsFrom inserts organizations without a private key.
func seedContactsFrom(t *testing.T, db *store.DB, codes []string) []org.Org {
	t.Helper()
	var out []org.Org
	for _, c := range codes {
		o := contactOrg(c)
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(context.Background(), o) })
		out = append(out, o)
	}
	return out
}

// TestRotateDataKeysInterrupted stops a rotation after its first batch:
// every value stays readable, writes meanwhile use the new key, and a
// second run finishes with the same key.
func TestRotateDataKeysInterrupted(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		orgs := seedContacts(t, db, testCodes)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		batches := 0
		res, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{BatchSize: 1, Progress: func(store.DataKeyProgress) {
			batches++
			cancel()
		}})
		if !errors.Is(err, context.Canceled) || batches != 1 {
			t.Fatalf("interrupted RotateDataKeys = %+v, %v after %d batches; want context.Canceled after 1", res, err, batches)
		}
		if len(res) != 1 || res[0].Done || res[0].Reencrypted != 1 || res[0].Version != 2 {
			t.Fatalf("interrupted rotation reports %+v", res)
		}
		checkAll(t, db, orgs, 0)
		if got := dataKeyStates(t, db, store.FieldKey); !slices.Equal(got, []string{"v1 active", "v2 active"}) {
			t.Errorf("field data keys after interruption: %v", got)
		}
		// Batches go in row key order.
		if id := keyIDOf(t, db, "orgs", "responsible_phone", "credit_code", slices.Min(testCodes)); id != 2 {
			t.Errorf("first row names key %d after one batch, want 2", id)
		}
		if id := keyIDOf(t, db, "orgs", "responsible_phone", "credit_code", slices.Max(testCodes)); id != 1 {
			t.Errorf("last row names key %d after one batch, want 1", id)
		}
		// A write while the rotation is unfinished uses the new key.
		o := orgs[3]
		o.Responsible.Email = "new@example.cn"
		o.Version++
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.UpdateOrg(context.Background(), o) })
		orgs[3] = o
		if id := keyIDOf(t, db, "orgs", "responsible_email", "credit_code", o.CreditCode); id != 2 {
			t.Errorf("value written during the rotation names key %d, want 2", id)
		}

		res, err = db.RotateDataKeys(context.Background(), store.RotateDataKeysOptions{BatchSize: 2})
		if err != nil {
			t.Fatalf("second RotateDataKeys: %v", err)
		}
		if f := res[0]; f.Purpose != store.FieldKey || !f.Resumed || f.Version != 2 || !f.Done || !slices.Equal(f.Retired, []int64{1}) || f.Reencrypted != 7 {
			t.Errorf("second run, field: %+v; want resumed version 2, 7 re-encrypted (10 values: 1 moved, 2 rewritten by the update), v1 retired", f)
		}
		if p := res[1]; p.Resumed || p.Version != 2 || !p.Done {
			t.Errorf("second run, private-key: %+v; want a fresh rotation to version 2", p)
		}
		checkAll(t, db, orgs, 2)
		if got := dataKeyStates(t, db, store.FieldKey); !slices.Equal(got, []string{"v1 retired", "v2 active"}) {
			t.Errorf("field data keys after the second run: %v", got)
		}
	})
}

// TestRunningServerFollowsRotation has one process rotate while another,
// unlocked before, goes on: it writes with the new key and reads the
// re-encrypted values without a restart.
func TestRunningServerFollowsRotation(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			ctx := context.Background()
			server, dsn, dir := storetest.OpenLocked(t, pg)
			m := storetest.MasterKey(t)
			if err := server.Unlock(ctx, m, envelope.DefaultSuite, rand.Reader); err != nil {
				t.Fatal(err)
			}
			orgs := seedContacts(t, server, testCodes[:2])
			cli, err := store.Open(ctx, dsn, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			if err := cli.Unlock(ctx, m, envelope.DefaultSuite, rand.Reader); err != nil {
				t.Fatal(err)
			}
			if _, err := cli.RotateDataKeys(ctx, store.RotateDataKeysOptions{}); err != nil {
				t.Fatal(err)
			}
			orgs = append(orgs, seedContactsFrom(t, server, testCodes[2:3])...)
			checkAll(t, server, orgs, 2)
		})
	}
}

// TestRotateMasterAfterDataKeyRotation re-wraps retired and active data
// keys alike: a new process with the new master key reads everything.
func TestRotateMasterAfterDataKeyRotation(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			ctx := context.Background()
			db, dsn, dir := storetest.OpenLocked(t, pg)
			old, next := storetest.MasterKey(t), storetest.MasterKey(t)
			if err := db.Unlock(ctx, old, envelope.AES256GCM, rand.Reader); err != nil {
				t.Fatal(err)
			}
			orgs := seedContacts(t, db, testCodes[:2])
			v1, err := store.SealV1(ctx, db, store.FieldKey, "orgs", orgs[0].CreditCode, "responsible_email", orgs[0].Responsible.Email)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{}); err != nil {
				t.Fatal(err)
			}
			n, err := db.RotateMaster(ctx, old, next)
			if err != nil || n != 4 {
				t.Fatalf("RotateMaster = %d, %v; want 4 data keys (2 purposes x 2 versions)", n, err)
			}
			// This process makes its next data keys under the new master key.
			res, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{Purposes: []string{store.FieldKey}})
			if err != nil || res[0].Version != 3 || res[0].Suite != envelope.AES256GCM.String() {
				t.Fatalf("RotateDataKeys after RotateMaster = %+v, %v; want version 3 in AES-256-GCM", res, err)
			}
			fresh, err := store.Open(ctx, dsn, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			if err := fresh.Unlock(ctx, next, envelope.DefaultSuite, rand.Reader); err != nil {
				t.Fatalf("the new master key does not unlock: %v", err)
			}
			ks, err := fresh.DataKeys(ctx)
			if err != nil || len(ks) != 5 {
				t.Fatalf("DataKeys = %d keys, %v; want 5", len(ks), err)
			}
			for _, k := range ks {
				if k.MasterKeyID != next.ID() {
					t.Errorf("%s v%d is wrapped under %s, want %s", k.Purpose, k.Version, k.MasterKeyID, next.ID())
				}
			}
			checkAll(t, fresh, orgs, 0)
			// The retired version 1 still opens a layout 1 value.
			if err := store.SetRawColumn(ctx, fresh, "orgs", "responsible_email", v1, "credit_code", orgs[0].CreditCode); err != nil {
				t.Fatal(err)
			}
			if got, err := fresh.GetOrg(ctx, orgs[0].CreditCode); err != nil || got.Responsible != orgs[0].Responsible {
				t.Fatalf("layout 1 value after both rotations reads %+v, %v", got.Responsible, err)
			}
		})
	}
}
