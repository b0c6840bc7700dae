//go:build unix

package store_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/store"
)

// TestDataFilesAreTheOperatorsAlone opens the embedded store in a new data
// directory under a permissive umask, writes, and backs it up: the
// directory is 0700 and the database, its -wal and -shm files and the
// backup are 0600, like master.key.
func TestDataFilesAreTheOperatorsAlone(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil { // writes: the -wal and -shm files exist now
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		dir:                                     0o700 | fs.ModeDir,
		filepath.Join(dir, store.DBFile):        0o600,
		filepath.Join(dir, store.DBFile+"-wal"): 0o600,
		filepath.Join(dir, store.DBFile+"-shm"): 0o600,
		backup:                                  0o600,
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s is %v, want %v", filepath.Base(path), fi.Mode(), mode)
		}
	}
}
