package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestImportJobs holds both stores to the import methods: a job reads back
// as written, its update is conditional on state and checkpoint, the
// unfinished job of a file is found and a done one is not, a batch of
// identifier sequences is contiguous, and the import digest is keyed and
// deterministic.
func TestImportJobs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
		digest := strings.Repeat("ab", 32)
		j := license.ImportJob{ID: "imp_1", Issuer: "11350100MB0000011X", TypeCode: "PC0001", TypeVersion: 1, FileName: "a.csv",
			FileDigest: digest, Mapping: `{"number":"编号"}`, State: license.ImportRunning, CreatedBy: "acc_1", CreatedAt: now, UpdatedAt: now}
		if err := db.WithTx(ctx, func(tx *store.Tx) error { return tx.InsertImportJob(ctx, j) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetImportJob(ctx, j.ID)
		if err != nil || got.Mapping != j.Mapping || got.State != j.State || !got.CreatedAt.Equal(now) {
			t.Fatalf("read back %+v: %v", got, err)
		}
		next := j
		next.Checkpoint, next.Counts = 1000, license.ImportCounts{Imported: 990, Rejected: 10, Batches: 1}
		for _, tc := range []struct {
			state      license.ImportState
			checkpoint int64
			ok         bool
		}{{license.ImportRunning, 5, false}, {license.ImportCancelled, 0, false}, {license.ImportRunning, 0, true}, {license.ImportRunning, 0, false}} {
			err := db.WithTx(ctx, func(tx *store.Tx) error { return tx.UpdateImportJob(ctx, next, tc.state, tc.checkpoint) })
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, apperr.Conflict)) {
				t.Errorf("update from %s at %d: %v, want ok %v", tc.state, tc.checkpoint, err, tc.ok)
			}
		}
		if u, err := db.UnfinishedImport(ctx, j.Issuer, "PC0001", digest, j.Mapping); err != nil || u.Checkpoint != 1000 || u.Counts != next.Counts {
			t.Fatalf("unfinished: %+v %v", u, err)
		}
		if _, err := db.UnfinishedImport(ctx, j.Issuer, "PC0001", digest, ""); !errors.Is(err, apperr.NotFound) {
			t.Errorf("another mapping found the job: %v", err)
		}
		done := next
		done.State = license.ImportDone
		if err := db.WithTx(ctx, func(tx *store.Tx) error { return tx.UpdateImportJob(ctx, done, license.ImportRunning, 1000) }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UnfinishedImport(ctx, j.Issuer, "PC0001", digest, j.Mapping); !errors.Is(err, apperr.NotFound) {
			t.Errorf("a done job is unfinished: %v", err)
		}
		if found, err := db.ImportedLicenses(ctx, "PC0001", []string{"X-1", "X-2"}); err != nil || len(found) != 0 {
			t.Errorf("numbers of no license: %v %v", found, err)
		}

		a, err := db.NextLicenseSeqs(ctx, "PC0001", j.Issuer, 1000)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.NextLicenseSeq(ctx, "PC0001", j.Issuer)
		if err != nil || a != 1 || b != 1001 {
			t.Fatalf("sequences %d then %d (%v), want 1 then 1001", a, b, err)
		}

		d1, err := db.ImportDigest("row content")
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := db.ImportDigest("row content")
		d3, _ := db.ImportDigest("row content!")
		if d1 != d2 || d1 == d3 || strings.Contains(d1, "row") {
			t.Errorf("digests %q %q %q", d1, d2, d3)
		}
	})
}
