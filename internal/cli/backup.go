package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

func (a *app) backupCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Copy the embedded store to a file while it serves (R-SEC-8)",
		Long: `backup writes a consistent copy of the embedded SQLite store to FILE (mode 0600)
while servers keep running, and prints the audit log's size and root hash recorded in
the copy, to compare after a restore. Sensitive columns stay encrypted: keep the master
key file (DATA/master.key or --master-key-file) safe and apart from the backup; without
it the backup cannot be read. A PostgreSQL store is backed up with pg_dump or a base
backup. See docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageErr("--out is required: the file to write the backup to")
			}
			if a.cfg.DB != "" {
				return usageErr("a PostgreSQL store is backed up with pg_dump or a base backup, not by zhengzhao")
			}
			db, _, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			t, err := db.Backup(cmd.Context(), out)
			if err != nil {
				return err
			}
			return a.reportBackup("cli.backup.done", out, t)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the backup to; an existing file is never overwritten")
	return cmd
}

func (a *app) restoreCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore the embedded store from a backup into an empty data directory",
		Long: `restore copies a backup made by "zhengzhao backup" into --data, which must not hold
a store yet, applies this binary's migrations, unlocks it with the master key (the one
the backup was made under) and recomputes the audit log's root from every entry. If any
step fails, the restored copy is removed again and the data directory is as it was.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.cfg.DB != "" {
				return usageErr("restore is for the embedded store; restore PostgreSQL with pg_restore")
			}
			return a.restore(cmd.Context(), args[0])
		},
	}
}

func (a *app) restore(ctx context.Context, file string) error {
	if _, err := store.BackupTree(ctx, file); err != nil {
		return err
	}
	if err := os.MkdirAll(a.cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	target := filepath.Join(a.cfg.Data, store.DBFile)
	if _, err := os.Stat(target); err == nil {
		return apperr.New(apperr.Conflict, "%s holds a store already: restore into an empty data directory", a.cfg.Data)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := copyFile(file, target); err != nil {
		return err
	}
	// Nothing half-done: a restore that does not verify leaves no store.
	undo := func(err error) error {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(target + suffix)
		}
		return err
	}
	db, _, err := a.open(ctx)
	if err != nil {
		return undo(err)
	}
	// A backup taken while serve ran may hold entries that were waiting
	// for integration: integrated here, they are checked with the rest.
	_, err = auditlog.IntegrateAll(ctx, db)
	var t auditlog.Tree
	if err == nil {
		t, err = auditlog.Check(ctx, db)
	}
	db.Close()
	if err != nil {
		return undo(fmt.Errorf("the restored audit log does not match its tree: %w", err))
	}
	return a.reportBackup("cli.restore.done", target, t)
}

func (a *app) reportBackup(key, file string, t auditlog.Tree) error {
	root := hex.EncodeToString(t.Root)
	return a.printLine(map[string]any{"file": file, "audit_size": t.Size, "audit_root": root},
		a.t(key, map[string]any{"File": file, "Size": t.Size, "Root": root}))
}

// copyFile copies src to a new file dst (mode 0600) through a temporary
// file, so dst is either complete or absent.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("backup file: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".restore-*")
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; removed on failure
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("copy the backup: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("copy the backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("copy the backup: %w", err)
	}
	return os.Rename(tmp.Name(), dst)
}
