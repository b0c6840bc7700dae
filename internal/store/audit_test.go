package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestAuditTamperingIsDetected rewrites a stored audit entry behind the
// log's back while later entries wait for integration: Check and an
// auditor's inclusion proof catch it, and still catch it after those
// entries are integrated on top (the integrator extends the stored tree,
// it never recomputes it from the entries).
func TestAuditTamperingIsDetected(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		appendN := func(from, n int) {
			for i := from; i < from+n; i++ {
				err := db.WithTx(ctx, func(tx *store.Tx) error {
					return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc", Action: "seal.sign", Subject: fmt.Sprint(i)})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		appendN(0, 5)
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		held, err := auditlog.Check(ctx, db) // the root an auditor holds
		if err != nil {
			t.Fatal(err)
		}
		// The auditor's check: the leaf as the platform serves it, its
		// inclusion proof, and the root the auditor holds.
		proves := func(index, size uint64, root []byte) error {
			path, _, err := auditlog.InclusionProof(ctx, db, index, size)
			if err != nil {
				return err
			}
			_, leaves, err := db.AuditEntries(ctx, index, index+1)
			if err != nil {
				return err
			}
			h := rfc6962.DefaultHasher
			return proof.VerifyInclusion(h, index, size, h.HashLeaf(leaves[0]), path, root)
		}
		if err := proves(3, 5, held.Root); err != nil {
			t.Fatal(err)
		}

		appendN(5, 3) // pending, not integrated yet
		for _, col := range []string{"subject", "leaf"} {
			t.Run(col, func(t *testing.T) {
				orig, err := store.RawColumn(ctx, db, "audit_entries", col, "idx", "3")
				if err != nil {
					t.Fatal(err)
				}
				forged := []byte("forged")
				if col == "leaf" {
					forged = append([]byte{}, orig...)
					forged[len(forged)-3] ^= 1
				}
				if err := store.SetRawColumn(ctx, db, "audit_entries", col, forged, "idx", "3"); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := store.SetRawColumn(ctx, db, "audit_entries", col, orig, "idx", "3"); err != nil {
						t.Fatal(err)
					}
				}()
				if _, err := auditlog.Check(ctx, db); !errors.Is(err, auditlog.ErrTampered) {
					t.Fatalf("Check after tampering, entries pending = %v, want ErrTampered", err)
				}
				if col == "leaf" {
					if err := proves(3, 5, held.Root); err == nil {
						t.Fatal("an inclusion proof of a forged leaf verified, entries pending")
					}
				}
			})
		}
		if _, err := auditlog.Check(ctx, db); err != nil {
			t.Fatalf("after undoing the tampering: %v", err)
		}

		// The same after the pending entries are integrated on top.
		if err := store.SetRawColumn(ctx, db, "audit_entries", "subject", []byte("forged"), "idx", "3"); err != nil {
			t.Fatal(err)
		}
		orig, err := store.RawColumn(ctx, db, "audit_entries", "leaf", "idx", "3")
		if err != nil {
			t.Fatal(err)
		}
		leaf := append([]byte{}, orig...)
		leaf[len(leaf)-3] ^= 1
		if err := store.SetRawColumn(ctx, db, "audit_entries", "leaf", leaf, "idx", "3"); err != nil {
			t.Fatal(err)
		}
		if n, err := auditlog.IntegrateAll(ctx, db); err != nil || n != 3 {
			t.Fatalf("integrated %d, %v", n, err)
		}
		now, err := auditlog.Check(ctx, db)
		if !errors.Is(err, auditlog.ErrTampered) {
			t.Fatalf("Check after tampering and integration = %v, want ErrTampered", err)
		}
		if err := proves(3, 5, held.Root); err == nil {
			t.Fatal("an inclusion proof of a forged leaf verified against the held root, after integration")
		}
		if err := proves(3, 8, now.Root); err == nil {
			t.Fatal("an inclusion proof of a forged leaf verified against the new root")
		}
		if err := proves(6, 8, now.Root); err != nil {
			t.Fatalf("an untouched entry integrated after the tampering: %v", err)
		}
	})
}
