package auditlog_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
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

// BenchmarkInclusionProofAtScale measures one inclusion proof, read from
// the kept subtree hashes, in a log of 10^6 entries (set
// ZHENGZHAO_BENCH_AUDIT_ENTRIES for another size) on each store, at
// indices spread over the log. The log is filled with entries appended
// 10,000 to a transaction and integrated as serve integrates them: the
// same rows a log of that size holds, written faster than one entry to a
// transaction. Each proof is checked against the tree's root.
//
//	go test -run '^$' -bench InclusionProofAtScale -benchtime 2000x ./internal/auditlog/
func BenchmarkInclusionProofAtScale(b *testing.B) {
	n := uint64(1_000_000)
	if v := os.Getenv("ZHENGZHAO_BENCH_AUDIT_ENTRIES"); v != "" {
		var err error
		if n, err = strconv.ParseUint(v, 10, 64); err != nil || n == 0 {
			b.Fatalf("ZHENGZHAO_BENCH_AUDIT_ENTRIES=%q: a positive count", v)
		}
	}
	for _, name := range storetest.Backends() {
		b.Run(fmt.Sprintf("%s/entries=%d", name, n), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, name)
			start := time.Now()
			fillLog(ctx, b, db, n)
			b.Logf("%s: %d entries appended and integrated in %s", name, n, time.Since(start).Round(time.Second))
			tree, err := auditlog.Check(ctx, db)
			if err != nil || tree.Size != n {
				b.Fatalf("tree of %d entries, want %d: %v", tree.Size, n, err)
			}
			var i uint64
			for b.Loop() {
				// A stride coprime to most sizes visits the whole log.
				index := (i * 7_919) % n
				i++
				path, root, err := auditlog.InclusionProof(ctx, db, index, n)
				if err != nil {
					b.Fatal(err)
				}
				if i%64 == 1 {
					leaf := leafHash(ctx, b, db, index)
					if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, n, leaf, path, root); err != nil || !bytes.Equal(root, tree.Root) {
						b.Fatalf("proof of %d: %v", index, err)
					}
				}
			}
		})
	}
}

// fillLog appends n entries, 10,000 to a transaction, and integrates them.
func fillLog(ctx context.Context, b testing.TB, db *store.DB, n uint64) {
	const batch = 10_000
	at := time.Now()
	for from := uint64(0); from < n; from += batch {
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			for i := from; i < min(from+batch, n); i++ {
				e := auditlog.Entry{At: at, Actor: "acc_01HZX3K4M5N6P7Q8R9S0T1V2W3", Org: "91350100M000100Y43", Action: "license.used",
					Subject: fmt.Sprintf("BL000191350100M000100Y43%011d", i), Details: map[string]string{"unit": "91610100MA000001XX", "matter": "KH-001"}}
				if err := auditlog.Append(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			b.Fatal(err)
		}
	}
}

// leafHash is the RFC 6962 leaf hash of the entry at index.
func leafHash(ctx context.Context, b *testing.B, db *store.DB, index uint64) []byte {
	_, leaves, err := db.AuditEntries(ctx, index, index+1)
	if err != nil || len(leaves) != 1 {
		b.Fatalf("entry %d: %v", index, err)
	}
	return rfc6962.DefaultHasher.HashLeaf(leaves[0])
}
