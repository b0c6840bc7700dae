package auditlog_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestProofs checks every inclusion proof and a spread of consistency
// proofs of a 13-entry log with the library's own verifiers.
func TestProofs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		roots := map[uint64][]byte{}
		for i := range 13 {
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "a", Action: "x", Subject: fmt.Sprint(i)})
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
				t.Fatal(err)
			}
			tree, _ := db.AuditTree(ctx)
			roots[tree.Size] = tree.Root
		}
		entries, leaves, err := db.AuditEntries(ctx, 0, 13)
		if err != nil || len(entries) != 13 {
			t.Fatal(err)
		}
		// A request may name indexes past the largest SQL integer, or a range
		// whose end wrapped around: such ranges hold nothing, and must not
		// turn into negative indexes that read from the start.
		for _, r := range [][2]uint64{{math.MaxUint64, 5}, {math.MaxUint64 - 5, math.MaxUint64}, {1 << 63, 1<<63 + 10}, {5, 5}} {
			got, _, err := db.AuditEntries(ctx, r[0], r[1])
			if err != nil || len(got) != 0 {
				t.Errorf("AuditEntries(%d, %d) = %d entries, %v; want none", r[0], r[1], len(got), err)
			}
		}
		h := rfc6962.DefaultHasher
		for size := uint64(1); size <= 13; size++ {
			for index := uint64(0); index < size; index++ {
				path, root, err := auditlog.InclusionProof(ctx, db, index, size)
				if err != nil {
					t.Fatal(err)
				}
				oldPath, oldRoot, err := auditlog.InclusionProof(ctx, forgetful{db}, index, size)
				if err != nil || !slices.EqualFunc(path, oldPath, bytes.Equal) || !bytes.Equal(root, oldRoot) {
					t.Fatalf("inclusion of %d in %d from leaves alone differs: %v", index, size, err)
				}
				if string(root) != string(roots[size]) {
					t.Fatalf("size %d: root %x, the tree had %x", size, root, roots[size])
				}
				if err := proof.VerifyInclusion(h, index, size, h.HashLeaf(leaves[index]), path, root); err != nil {
					t.Fatalf("inclusion of %d in %d: %v", index, size, err)
				}
			}
		}
		for _, p := range [][2]uint64{{1, 13}, {3, 7}, {4, 8}, {5, 13}, {12, 13}, {13, 13}} {
			path, root, err := auditlog.ConsistencyProof(ctx, db, p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			oldPath, oldRoot, err := auditlog.ConsistencyProof(ctx, forgetful{db}, p[0], p[1])
			if err != nil || !slices.EqualFunc(path, oldPath, bytes.Equal) || !bytes.Equal(root, oldRoot) {
				t.Fatalf("consistency %d→%d from leaves alone differs: %v", p[0], p[1], err)
			}
			if err := proof.VerifyConsistency(h, p[0], p[1], path, roots[p[0]], root); err != nil {
				t.Fatalf("consistency %d→%d: %v", p[0], p[1], err)
			}
		}
		if _, _, err := auditlog.InclusionProof(ctx, db, 13, 13); err == nil {
			t.Fatal("proof for an index beyond the tree")
		}
		if _, _, err := auditlog.ConsistencyProof(ctx, db, 3, 14); err == nil {
			t.Fatal("consistency to a size beyond the tree")
		}
	})
}

// forgetful hides the kept subtree hashes, as in a log written before they
// were kept, so proofs are computed from the leaves.
type forgetful struct{ auditlog.Reader }

func (forgetful) AuditNode(context.Context, uint, uint64) ([]byte, error) {
	return nil, apperr.New(apperr.NotFound, "no kept node")
}

// BenchmarkInclusionProof compares a proof from kept subtree hashes with
// one recomputed from every leaf, in a log of 2,000 entries on SQLite.
func BenchmarkInclusionProof(b *testing.B) {
	ctx := context.Background()
	db := storetest.OpenSQLite(b)
	const n = 2000
	for i := range n {
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "a", Action: "x", Subject: fmt.Sprint(i)})
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		st   auditlog.Reader
	}{{"kept-nodes", db}, {"from-leaves", forgetful{db}}} {
		b.Run(c.name, func(b *testing.B) {
			var i uint64
			for b.Loop() {
				if _, _, err := auditlog.InclusionProof(ctx, c.st, i%n, n); err != nil {
					b.Fatal(err)
				}
				i += 7
			}
		})
	}
}
