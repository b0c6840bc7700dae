package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupAndRestore backs up a store, restores it elsewhere with its
// master key and reads the encrypted data back; every refused restore
// leaves no store behind.
func TestBackupAndRestore(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	key := "--master-key-file=" + filepath.Join(a, "master.key")
	if code, _, errOut := run(t, "org", "create", "--data", a, "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000007"); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	file := filepath.Join(dir, "backup.db")
	code, out, errOut := run(t, "backup", "--data", a, "--out", file, "--json")
	var made struct {
		AuditSize uint64 `json:"audit_size"`
		AuditRoot string `json:"audit_root"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &made) != nil || made.AuditSize == 0 || len(made.AuditRoot) != 64 {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if code, _, _ := run(t, "backup", "--data", a, "--out", file); code == 0 {
		t.Fatal("a backup overwrote an existing file")
	}

	code, out, errOut = run(t, "restore", "--data", b, key, file, "--json")
	var restored struct {
		AuditSize uint64 `json:"audit_size"`
		AuditRoot string `json:"audit_root"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &restored) != nil || restored != made {
		t.Fatalf("restore: %d %s %s; want the backup's audit tree %+v", code, out, errOut, made)
	}
	if code, out, errOut := run(t, "org", "list", "--data", b, key, "--json"); code != 0 || !strings.Contains(out, "13900000007") {
		t.Fatalf("the restored store does not read its encrypted data: %d %s %s", code, out, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		exit int
	}{
		{"into a store", []string{"restore", "--data", b, key, file}, 1},
		{"without its master key", []string{"restore", "--data", c, file}, 1},
		{"not a backup", []string{"restore", "--data", c, key, filepath.Join(a, "master.key")}, 2},
		{"no file", []string{"restore", "--data", c, key, filepath.Join(dir, "none.db")}, 2},
	} {
		if code, _, errOut := run(t, tc.args...); code != tc.exit || strings.Count(errOut, "\n") != 1 {
			t.Errorf("restore %s: exit %d, stderr %q; want %d and one line", tc.name, code, errOut, tc.exit)
		}
	}
	if _, err := os.Stat(filepath.Join(c, "zhengzhao.db")); err == nil {
		t.Error("a refused restore left a store behind")
	}
}
