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
		var imported, unchanged int64
		for i := range clients {
			if errs[i] != nil {
				t.Fatalf("client %d: %v", i, errs[i])
			}
			imported, unchanged = imported+counts[i].Imported, unchanged+counts[i].Unchanged
		}
		found, err := db.ListLicenses(ctx, license.Filter{Limit: 1000})
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
		if len(found) != n || imported != n || unchanged != n*(clients-1) {
			t.Fatalf("%d licenses, %d imported, %d unchanged; want %d, %d, %d", len(found), imported, unchanged, n, n, n*(clients-1))
		}
		copied := db.CopiedRows()
		if (db.Dialect() == store.Postgres) != (copied >= 3*n) {
			t.Fatalf("%s: %d rows copied, want at least %d on PostgreSQL and none on SQLite", db.Dialect(), copied, 3*n)
		}
		t.Logf("%s: %d transactions started again, %d rows copied", db.Dialect(), db.Retries(), copied)
	})
}
