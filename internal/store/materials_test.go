package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// materialLicense stores a bare license row to attach materials to.
func materialLicense(t *testing.T, db *store.DB, id string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	l := license.License{ID: id, Number: id, TypeCode: "PC0001", TypeVersion: 1, Issuer: "11350100MB0000027N", HolderKind: catalog.HolderPerson,
		HolderID: "11010519491231002X", HolderName: "王建国", ValidFrom: now, State: license.Active, Version: 1,
		Slot:   status.Slot{List: status.ListRef{Issuer: "11350100MB0000027N", Purposes: "revocation", Number: 1}, Index: len(id)},
		SealID: "seal", IssuedBy: "acc", IssuedAt: now, UpdatedAt: now}
	storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertLicense(context.Background(), l) })
}

// TestMaterialsAtRest stores a material: the raw column is not its
// content, which reads back equal; a ciphertext moved to another material
// does not decrypt; a data key rotation re-encrypts it; a material of no
// license is NotFound.
func TestMaterialsAtRest(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		materialLicense(t, db, "L1")
		content := []byte("%PDF-1.7 申请表 11010519491231002X")
		var infos []license.MaterialInfo
		storetest.Write(t, db, func(tx *store.Tx) error {
			infos = nil
			for _, name := range []string{"a.pdf", "b.pdf"} {
				m, err := tx.InsertMaterial(ctx, license.MaterialInfo{LicenseID: "L1", Name: name, MediaType: "application/pdf",
					Size: int64(len(content)), SM3: "00", AddedBy: "acc", AddedAt: time.Now()}, content)
				if err != nil {
					return err
				}
				infos = append(infos, m)
			}
			return nil
		})
		if infos[0].Seq != 1 || infos[1].Seq != 2 {
			t.Fatalf("seqs %d, %d; want 1, 2", infos[0].Seq, infos[1].Seq)
		}
		raw, err := store.RawColumn(ctx, db, "license_materials", "content", "ref", "L1/1")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("11010519491231002X")) || bytes.Contains(raw, []byte("%PDF")) {
			t.Fatalf("material stored in clear: %q", raw)
		}
		m, got, err := db.Material(ctx, "L1", 1)
		if err != nil || !bytes.Equal(got, content) || m.Name != "a.pdf" || m.Size != int64(len(content)) {
			t.Fatalf("read back %+v %q, %v", m, got, err)
		}
		raw2, err := store.RawColumn(ctx, db, "license_materials", "content", "ref", "L1/2")
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRawColumn(ctx, db, "license_materials", "content", raw, "ref", "L1/2"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Material(ctx, "L1", 2); err == nil {
			t.Fatal("a ciphertext moved to another material decrypted")
		}
		if err := store.SetRawColumn(ctx, db, "license_materials", "content", raw2, "ref", "L1/2"); err != nil {
			t.Fatal(err)
		}
		res, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{Purposes: []string{store.FieldKey}})
		if err != nil || len(res) != 1 || !res[0].Done {
			t.Fatalf("rotate: %+v, %v", res, err)
		}
		after, err := store.RawColumn(ctx, db, "license_materials", "content", "ref", "L1/1")
		if err != nil || bytes.Equal(after, raw) {
			t.Fatalf("rotation left the material under the old key (%v)", err)
		}
		if _, got, err := db.Material(ctx, "L1", 1); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("after rotation: %q, %v", got, err)
		}
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertMaterial(ctx, license.MaterialInfo{LicenseID: "nope", Name: "x", MediaType: "application/pdf", AddedAt: time.Now()}, content)
			return err
		})
		if !errors.Is(err, apperr.NotFound) {
			t.Fatalf("material of no license: %v, want NotFound", err)
		}
		if _, _, err := db.Material(ctx, "L1", 9); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("material 9: %v, want NotFound", err)
		}
	})
}

// TestConcurrentMaterials adds materials to one license from 32
// goroutines at once, and to another beside it: every addition succeeds,
// and each license's seqs are 1 to n once each.
func TestConcurrentMaterials(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		materialLicense(t, db, "L1")
		materialLicense(t, db, "L22")
		const n = 32
		errs := make([]error, n)
		storetest.Race(n, func(i int) {
			id := []string{"L1", "L22"}[i%2]
			errs[i] = db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.InsertMaterial(ctx, license.MaterialInfo{LicenseID: id, Name: fmt.Sprintf("m%d.json", i), MediaType: "application/json",
					Size: 2, SM3: "00", AddedBy: "acc", AddedAt: time.Now()}, []byte("{}"))
				return err
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("addition %d: %v", i, err)
			}
		}
		for _, id := range []string{"L1", "L22"} {
			ms, err := db.ListMaterials(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			seqs := make([]int, len(ms))
			for i, m := range ms {
				seqs[i] = m.Seq
			}
			want := make([]int, n/2)
			for i := range want {
				want[i] = i + 1
			}
			if !slices.Equal(seqs, want) {
				t.Fatalf("%s seqs %v, want 1 to %d", id, seqs, n/2)
			}
		}
		t.Logf("%s: %d additions, %d retries", db.Dialect(), n, db.Retries())
	})
}
