package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

// Backup writes a consistent copy of the embedded store to path while the
// store keeps serving (SQLite's VACUUM INTO reads one snapshot), and
// returns the audit tree recorded in the copy, so an operator can compare
// it after a restore. Encrypted columns stay encrypted: the copy is useless
// without the master key, which is backed up apart from it. A PostgreSQL
// store is backed up with PostgreSQL's own tools (pg_dump, base backups).
// An existing file is never overwritten.
func (d *DB) Backup(ctx context.Context, path string) (auditlog.Tree, error) {
	if d.dialect != SQLite {
		return auditlog.Tree{}, apperr.New(apperr.Invalid, "a PostgreSQL store is backed up with pg_dump or a base backup, not by zhengzhao")
	}
	if _, err := os.Stat(path); err == nil {
		return auditlog.Tree{}, apperr.New(apperr.Conflict, "%s exists: a backup never overwrites a file", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return auditlog.Tree{}, fmt.Errorf("backup file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return auditlog.Tree{}, fmt.Errorf("backup file: %w", err)
	}
	// Created empty and 0600 first, which VACUUM INTO accepts and keeps:
	// the copy is never readable by others, not even for a moment.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return auditlog.Tree{}, fmt.Errorf("backup file: %w", err)
	}
	if err := f.Close(); err != nil {
		return auditlog.Tree{}, fmt.Errorf("backup file: %w", err)
	}
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return auditlog.Tree{}, fmt.Errorf("back up to %s: %w", path, err)
	}
	return BackupTree(ctx, abs)
}

// BackupTree reads the audit tree recorded in a backup file, opening it
// read-only; a file that is not a zhengzhao store is an apperr.Invalid.
func BackupTree(ctx context.Context, path string) (auditlog.Tree, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return auditlog.Tree{}, fmt.Errorf("backup file: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return auditlog.Tree{}, apperr.New(apperr.Invalid, "backup file %s: %v", path, errors.Unwrap(err))
	}
	v := url.Values{}
	v.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+abs+"?"+v.Encode())
	if err != nil {
		return auditlog.Tree{}, fmt.Errorf("open backup %s: %w", path, err)
	}
	defer db.Close()
	t, err := (handle{x: db, dialect: SQLite}).AuditTree(ctx)
	if err != nil {
		return auditlog.Tree{}, apperr.Wrap(apperr.Invalid, err, "%s is not a zhengzhao backup: %v", path, err)
	}
	return t, nil
}
