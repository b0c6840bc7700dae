// Package storetest opens real stores for tests: the embedded SQLite store in
// a temporary directory always, and PostgreSQL when ZHENGZHAO_TEST_POSTGRES
// holds a DSN, each test in a schema of its own so that tests run in
// parallel. Every test that touches a store runs through Run, so that both
// dialects pass the same suite.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for schema set-up

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/testskip"
)

// EnvPostgres names the environment variable holding the PostgreSQL DSN.
const EnvPostgres = "ZHENGZHAO_TEST_POSTGRES"

// Run runs fn as a subtest on each available backend, with a freshly
// migrated store.
func Run(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// OpenSQLite returns a migrated embedded store in a temporary directory.
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db)
	return db
}

// PostgresDSN returns the DSN of a fresh, empty schema (dropped when the test
// ends), or skips the test loudly when no PostgreSQL is configured.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		testskip.Missing(t, "PostgreSQL", EnvPostgres+" is not set; only SQLite is tested (bash .ci/run sets it up)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "zz_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema on %s: %v", store.Redact(base), err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("open %s to drop schema %s: %v", EnvPostgres, schema, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvPostgres, err)
	}
	v := u.Query()
	v.Set("search_path", schema)
	u.RawQuery = v.Encode()
	return u.String()
}

// OpenPostgres returns a migrated PostgreSQL store in a fresh schema.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresDSN(t), "")
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db)
	return db
}

// migrate applies the migrations and unlocks the store with a fresh master
// key.
func migrate(t testing.TB, db *store.DB) {
	t.Helper()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	Unlock(t, db)
}

// Unlock unlocks db with a fresh master key.
func Unlock(t testing.TB, db *store.DB) {
	t.Helper()
	if err := db.Unlock(context.Background(), MasterKey(t), envelope.DefaultSuite, rand.Reader); err != nil {
		t.Fatalf("unlock: %v", err)
	}
}

// OpenLocked returns a migrated store, opened with opts, that is not yet
// unlocked, with the DSN and data directory that open it again: PostgreSQL
// (skipped loudly when not configured) or SQLite.
func OpenLocked(t testing.TB, postgres bool, opts ...store.Option) (db *store.DB, dsn, dataDir string) {
	t.Helper()
	if postgres {
		dsn = PostgresDSN(t)
	} else {
		dataDir = t.TempDir()
	}
	db, err := store.Open(context.Background(), dsn, dataDir, opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db, dsn, dataDir
}

// Write runs fn in one transaction of db and fails the test if it does not
// commit: how a test puts rows in place, since the store writes only
// through a transaction.
func Write(t testing.TB, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.WithTx(context.Background(), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// MasterKey returns a fresh random master key.
func MasterKey(t testing.TB) *envelope.MasterKey {
	t.Helper()
	raw := make([]byte, envelope.MasterKeySize)
	rand.Read(raw)
	m, err := envelope.NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// AuditEntries integrates the entries waiting for it and returns every
// entry of db's audit log, oldest first, with the canonical bytes each leaf
// covers.
func AuditEntries(t testing.TB, db *store.DB) ([]auditlog.Entry, [][]byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
		t.Fatal(err)
	}
	tree, err := db.AuditTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, leaves, err := db.AuditEntries(ctx, 0, tree.Size)
	if err != nil {
		t.Fatal(err)
	}
	return entries, leaves
}

// TamperAuditEntry overwrites one column of the stored audit entry at index,
// behind the log's back, in the store that dsn (PostgreSQL) or dataDir
// (SQLite) names: what an attacker with write access to the database does.
func TamperAuditEntry(t testing.TB, dsn, dataDir string, index uint64, column string, value any) {
	t.Helper()
	driver, name, query := "sqlite", "file:"+dataDir+"/"+store.DBFile, `UPDATE audit_entries SET `+column+` = ? WHERE idx = ?` //nolint:gosec // G202: the column is named by the test
	if dsn != "" {
		driver, name, query = "pgx", dsn, `UPDATE audit_entries SET `+column+` = $1 WHERE idx = $2`
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(query, value, int64(index)) //nolint:gosec // G115: test indices are small
	if err != nil {
		t.Fatalf("tamper with audit entry %d: %v", index, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("tamper with audit entry %d: %d rows, %v", index, n, err)
	}
}

// Race runs fn(i) for i < n in n goroutines released together, and returns
// when all have returned: the shape of every test that an attacker's or a
// busy day's simultaneous requests hold.
func Race(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// Backends names the stores benchmarks run on: "sqlite" always, and
// "postgres" when ZHENGZHAO_TEST_POSTGRES is set (benchmarks skip rather
// than report a backend they could not reach).
func Backends() []string {
	if os.Getenv(EnvPostgres) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// Open returns a migrated store of the backend name, one of Backends.
func Open(tb testing.TB, name string) *store.DB {
	tb.Helper()
	if name == "postgres" {
		return OpenPostgres(tb)
	}
	return OpenSQLite(tb)
}

// Writers times a write benchmark: writers goroutines call write with 1,
// 2, … b.N between them, then done (when not nil) finishes what the writes
// started. It returns the time from the first call until done returned,
// and fails b with the first error.
func Writers(b *testing.B, writers int, write func(i int64) error, done func() error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := write(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if done != nil {
		if err := done(); err != nil {
			failed.Store(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return elapsed
}
