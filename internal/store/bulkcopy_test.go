package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// bulkRows are licenses, their versions and outbox events under the
// identifiers prefix-0000…: the same content whatever the prefix (of one
// length), each license in status list list.
func bulkRows(prefix string, list, n int) ([]license.License, []license.Version, []license.OutboxEvent) {
	ls, vs, es := make([]license.License, n), make([]license.Version, n), make([]license.OutboxEvent, n)
	for i := range n {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		slot := status.Slot{List: status.ListRef{Issuer: "11350100MB0000027N", Purposes: "revocation", Number: list}, Index: i}
		kind, until := catalog.HolderPerson, (*time.Time)(nil)
		if i%2 == 1 {
			u := t0.AddDate(5, 0, i)
			kind, until = catalog.HolderOrganization, &u
		}
		ls[i] = license.License{ID: id, Number: "N" + id, TypeCode: "PC0001", TypeVersion: 1 + i%3, Issuer: "11350100MB0000027N",
			HolderKind: kind, HolderID: fmt.Sprintf("1101051949123%05d", i), HolderName: fmt.Sprintf("王建国 \"%d\"\t\\", i),
			ValidFrom: t0.Add(time.Duration(i) * time.Second), ValidUntil: until, State: license.Active, Version: 1, Slot: slot,
			SealID: "seal", IssuedBy: "acc", IssuedAt: t0, UpdatedAt: t0.Add(time.Microsecond)}
		vs[i] = license.Version{LicenseID: id, Version: 1, Document: fmt.Appendf(nil, `{"n":%d,"name":"王建国\n"}`, i), SealID: "seal",
			UseID: fmt.Sprintf("use-%d", i%7), Slot: slot, CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}
		es[i] = license.OutboxEvent{ID: "obx-" + id, Topic: "license.issued", Payload: fmt.Appendf(nil, `{"n":%d,"x":"\u0000 é"}`, i),
			At: t0.Add(time.Duration(i) * time.Microsecond)}
	}
	return ls, vs, es
}

// writeBulkRows writes the rows of bulkRows in one transaction run by
// withTx.
func writeBulkRows(ctx context.Context, withTx func(context.Context, func(*store.Tx) error) error, ls []license.License,
	vs []license.Version, es []license.OutboxEvent) error {
	return withTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertLicenses(ctx, ls); err != nil {
			return err
		}
		if err := tx.InsertLicenseVersions(ctx, vs); err != nil {
			return err
		}
		return tx.InsertOutboxes(ctx, es)
	})
}

// TestBulkTxWritesAsInsert writes the same licenses, versions and events
// once through an ordinary transaction (multi-row INSERT) and once through
// a bulk one (COPY on PostgreSQL), under other identifiers, and finds
// every column the same: the plain ones as stored, the encrypted ones
// decrypted (their ciphertexts differ by their nonces alone), the holder's
// blind index finding both.
func TestBulkTxWritesAsInsert(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := store.CopyMinRows + 22
		las, vas, eas := bulkRows("a", 1, n)
		lbs, vbs, ebs := bulkRows("b", 2, n)
		if err := writeBulkRows(ctx, db.WithTx, las, vas, eas); err != nil {
			t.Fatalf("ordinary transaction: %v", err)
		}
		if got := db.CopiedRows(); got != 0 {
			t.Fatalf("an ordinary transaction copied %d rows", got)
		}
		if err := writeBulkRows(ctx, db.WithBulkTx, lbs, vbs, ebs); err != nil {
			t.Fatalf("bulk transaction: %v", err)
		}
		want := uint64(0)
		if db.Dialect() == store.Postgres {
			want = uint64(3 * n)
		}
		if got := db.CopiedRows(); got != want {
			t.Fatalf("the bulk transaction copied %d rows, want %d", got, want)
		}
		for i := range n {
			a, b := las[i], lbs[i]
			la, err := db.GetLicense(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			lb, err := db.GetLicense(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			a.HolderIndex = la.HolderIndex // set on reads
			if !reflect.DeepEqual(la, a) {
				t.Fatalf("license %d written with INSERT reads back as\n%+v, want\n%+v", i, la, a)
			}
			lb.ID, lb.Number, lb.Slot.List.Number = a.ID, a.Number, a.Slot.List.Number
			if !reflect.DeepEqual(lb, la) {
				t.Fatalf("license %d written in bulk reads back as\n%+v, written with INSERT as\n%+v", i, lb, la)
			}
			same(t, db, "licenses", []string{"type_code", "type_version", "issuer", "holder_kind", "holder_index", "holder_name", "valid_from",
				"valid_until", "state", "version", "status_issuer", "status_purposes", "status_index", "seal_id", "issued_by", "issued_at",
				"updated_at", "materials", "transitions"}, "id", a.ID, b.ID)
			same(t, db, "license_versions", []string{"version", "seal_id", "use_id", "status_issuer", "status_purposes", "status_index",
				"created_at"}, "ref", a.ID+"/1", b.ID+"/1")
			same(t, db, "outbox", []string{"topic", "payload", "created_at", "delivered_at"}, "id", eas[i].ID, ebs[i].ID)
			for _, c := range []struct{ table, col, key, a, b string }{{"licenses", "holder_identifier", "id", a.ID, b.ID},
				{"license_versions", "document", "ref", a.ID + "/1", b.ID + "/1"}} {
				ca, errA := store.RawColumn(ctx, db, c.table, c.col, c.key, c.a)
				cb, errB := store.RawColumn(ctx, db, c.table, c.col, c.key, c.b)
				if errA != nil || errB != nil || len(ca) != len(cb) || bytes.Equal(ca, cb) {
					t.Fatalf("%s.%s of %d: %d and %d bytes (%v, %v), want as long, sealed apart", c.table, c.col, i, len(ca), len(cb), errA, errB)
				}
			}
			da, errA := db.LicenseDocument(ctx, a.ID, 1)
			db2, errB := db.LicenseDocument(ctx, b.ID, 1)
			if errA != nil || errB != nil || !bytes.Equal(da, vas[i].Document) || !bytes.Equal(db2, da) {
				t.Fatalf("document %d: %q and %q (%v, %v), want %q", i, da, db2, errA, errB, vas[i].Document)
			}
			held, err := db.ListLicenses(ctx, license.Filter{Holder: a.HolderID, Limit: 10})
			if err != nil || len(held) != 2 || held[0].ID != a.ID || held[1].ID != b.ID {
				t.Fatalf("licenses of holder %d: %d (%v), want %s and %s", i, len(held), err, a.ID, b.ID)
			}
		}
	})
}

// same fails t unless the columns of the rows a and b of table read the
// same.
func same(t *testing.T, db *store.DB, table string, cols []string, keyCol, a, b string) {
	t.Helper()
	ctx := context.Background()
	ra, errA := store.RowText(ctx, db, table, cols, keyCol, a)
	rb, errB := store.RowText(ctx, db, table, cols, keyCol, b)
	if errA != nil || errB != nil {
		t.Fatalf("%s rows %s, %s: %v, %v", table, a, b, errA, errB)
	}
	for i := range cols {
		if (ra[i] == nil) != (rb[i] == nil) || (ra[i] != nil && *ra[i] != *rb[i]) {
			t.Fatalf("%s.%s: %s has %s, %s has %s", table, cols[i], a, show(ra[i]), b, show(rb[i]))
		}
	}
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", *s)
}

// TestBulkTxCopiesInTransaction rolls back a bulk transaction after it
// wrote (copied, on PostgreSQL) its rows, and refuses as a whole a batch
// whose last event's identifier is taken: the rows go with the transaction, and a
// conflict is the usual Conflict.
func TestBulkTxCopiesInTransaction(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ls, vs, es := bulkRows("c", 1, store.CopyMinRows)
		abort := errors.New("abort")
		err := db.WithBulkTx(ctx, func(tx *store.Tx) error {
			if err := writeBulkRows(ctx, func(_ context.Context, fn func(*store.Tx) error) error { return fn(tx) }, ls, vs, es); err != nil {
				return err
			}
			// The copied rows are there for the rest of the transaction.
			if got, err := tx.GetLicense(ctx, ls[len(ls)-1].ID); err != nil || got.HolderID != ls[len(ls)-1].HolderID {
				return fmt.Errorf("a copied license in its transaction: %+v, %w", got, err)
			}
			return abort
		})
		if !errors.Is(err, abort) {
			t.Fatalf("bulk transaction: %v, want it aborted", err)
		}
		if items, err := db.ListOutbox(ctx, notify.Filter{Limit: 1000}); err != nil || len(items) != 0 {
			t.Fatalf("%d events after a rolled back bulk transaction (%v)", len(items), err)
		}
		if _, err := db.GetLicense(ctx, ls[0].ID); err == nil {
			t.Fatal("a license of a rolled back bulk transaction was committed")
		}
		if err := writeBulkRows(ctx, db.WithBulkTx, ls, vs, es); err != nil {
			t.Fatal(err)
		}
		more, _, moreEvents := bulkRows("d", 2, store.CopyMinRows)
		moreEvents[len(moreEvents)-1].ID = es[0].ID
		err = writeBulkRows(ctx, db.WithBulkTx, more, nil, moreEvents)
		if !errors.Is(err, apperr.Conflict) {
			t.Fatalf("a bulk batch with a taken event identifier: %v, want a conflict", err)
		}
		if items, err := db.ListOutbox(ctx, notify.Filter{Limit: 1000}); err != nil || len(items) != len(es) {
			t.Fatalf("%d events after the refused batch (%v), want %d", len(items), err, len(es))
		}
		if _, err := db.GetLicense(ctx, more[0].ID); err == nil {
			t.Fatal("a license of the refused batch was committed")
		}
	})
}
