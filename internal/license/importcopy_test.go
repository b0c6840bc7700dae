package license_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestImportBatchCopiesConcurrent has jobs of different files import the
// same numbers at once, each in one batch large enough that PostgreSQL
// writes it with COPY: the batches serialize as INSERTs do (each number
// ends as one license, imported once and unchanged for the others), and
// on PostgreSQL the rows were copied.
func TestImportBatchCopiesConcurrent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		const clients, n = 4, 150
		shared := f.importRows(t, "C", n)
		counts := make([]license.ImportCounts, clients)
		errs := make([]error, clients)
		var wg sync.WaitGroup
		for i := range clients {
			job := f.startImport(t, fmt.Sprintf("c%x", i+1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := f.p.Licenses.ImportBatch(ctx, f.issuer, job.ID, license.ImportBatch{From: 0, To: n, Rows: shared})
				counts[i], errs[i] = res.Job.Counts, err
			}()
		}
		wg.Wait()
		importedOnce(t, db, errs, counts, n, n)
		copied := db.CopiedRows()
		if (db.Dialect() == store.Postgres) != (copied >= 3*n) {
			t.Fatalf("%s: %d rows copied, want at least %d on PostgreSQL and none on SQLite", db.Dialect(), copied, 3*n)
		}
		t.Logf("%s: %d transactions started again, %d rows copied", db.Dialect(), db.Retries(), copied)
	})
}

// importedOnce checks what clients that each imported the same n numbers
// in jobs of their own left: no client failed, and each number is one
// license, imported once and unchanged for the others; the store holds
// total licenses.
func importedOnce(t *testing.T, db *store.DB, errs []error, counts []license.ImportCounts, n, total int) {
	t.Helper()
	var imported, unchanged int64
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		imported, unchanged = imported+counts[i].Imported, unchanged+counts[i].Unchanged
	}
	found, err := db.ListLicenses(context.Background(), license.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	numbers := map[string]bool{}
	for _, l := range found {
		if numbers[l.Number] {
			t.Fatalf("number %s twice", l.Number)
		}
		numbers[l.Number] = true
	}
	others := int64(n * (len(errs) - 1))
	if len(found) != total || imported != int64(n) || unchanged != others {
		t.Fatalf("%d licenses, %d imported, %d unchanged; want %d, %d, %d", len(found), imported, unchanged, total, n, others)
	}
}
