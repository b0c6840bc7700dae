package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestAuditCommandsAndPendingEntries writes with commands while no serve
// runs (they leave an integrated log), lists entries that wait for
// integration, and has `audit check` catch an entry changed behind the
// log's back both while later entries wait for integration and after they
// are integrated on top.
func TestAuditCommandsAndPendingEntries(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		ctx := context.Background()
		createPlatformOrg(t, cmd)
		db, err := store.Open(ctx, dsn, data)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if pending, err := db.AuditPending(ctx, "", 10); err != nil || len(pending) != 0 {
			t.Fatalf("org create left %d entries pending, %v", len(pending), err)
		}
		tree, err := db.AuditTree(ctx)
		if err != nil || tree.Size == 0 {
			t.Fatalf("org create left a tree of %d entries, %v", tree.Size, err)
		}
		appendPending := func(subjects ...string) {
			t.Helper()
			for _, s := range subjects {
				if err := db.WithTx(ctx, func(tx *store.Tx) error {
					return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc", Action: "test.later", Subject: s})
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
		appendPending("p1", "p2")
		code, out, errOut := cmd("audit", "list")
		if code != 0 || strings.Count(out, "pending") != 2 || !strings.Contains(out, "p2") {
			t.Fatalf("audit list with two entries pending: exit %d\n%s%s", code, out, errOut)
		}

		// Tampering while entries wait for integration: check (which
		// integrates them first) catches it.
		storetest.TamperAuditEntry(t, dsn, data, 0, "subject", "forged")
		if code, out, _ := cmd("audit", "check", "--json"); code != 1 || !strings.Contains(out, `"intact": false`) {
			t.Fatalf("audit check after tampering: exit %d %s", code, out)
		}
		if pending, err := db.AuditPending(ctx, "", 10); err != nil || len(pending) != 0 {
			t.Fatalf("audit check left %d entries pending, %v", len(pending), err)
		}
		// And after more entries are integrated on top.
		appendPending("p3")
		if n, err := auditlog.IntegrateAll(ctx, db); err != nil || n != 1 {
			t.Fatalf("integrated %d, %v", n, err)
		}
		if code, out, _ := cmd("audit", "check"); code != 1 || !strings.Contains(out, "does not match") {
			t.Fatalf("audit check after tampering and integration: exit %d %s", code, out)
		}
	})
}

// createPlatformOrg makes the platform's organization with the command.
func createPlatformOrg(t *testing.T, cmd storeCmd) {
	t.Helper()
	if code, _, errOut := cmd("org", "create", "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
}

// TestAuditVerifyNamesEditedEntry edits one entry's bytes directly in the
// database of a serving platform, first its leaf alone, then its columns to
// agree with the leaf, and has `audit verify` name it: exactly while the
// listing and the leaf disagree, as one of a pair once they agree (the
// log's kept hash of the pair is what differs then). A checkpoint kept
// from the intact log's archive is held against it too.
func TestAuditVerifyNamesEditedEntry(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		ctx := context.Background()
		createPlatformOrg(t, cmd)
		db := openUnlocked(t, dsn, data)
		p, err := platform.New(db, platform.Options{})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := p.Orgs.CreateAccount(ctx, org.NewAccount{Org: "91350100M000100Y43", Name: "auditor", Roles: []authz.Role{authz.Auditor}})
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := p.Orgs.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
		if err != nil {
			t.Fatal(err)
		}
		// 300 entries: 256 under one kept level-8 hash, the rest after.
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			for i := range 300 {
				if err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc", Action: "seal.sign", Subject: fmt.Sprint("seal-", i)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		srv := serveWeb(t, p)
		logKey, err := p.Checkpoints.VerifierKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(t.TempDir(), "archive")
		verify := func(args ...string) (int, string) {
			t.Helper()
			code, out, errOut := cmd(append([]string{"audit", "verify", "--url", srv.URL, "--token", token, "--log-key", logKey}, args...)...)
			return code, out + errOut
		}
		if code, out := verify("--archive", archive); code != 0 {
			t.Fatalf("audit verify of the intact log: exit %d\n%s", code, out)
		}
		held := filepath.Join(archive, "checkpoint")
		if _, err := os.Stat(filepath.Join(archive, "tile", "1", "000.p", "1")); err != nil {
			t.Fatalf("the archive lacks the level-1 hash tile: %v", err)
		}

		entries, leaves, err := db.AuditEntries(ctx, 100, 101)
		if err != nil || len(entries) != 1 {
			t.Fatalf("entry 100: %v", err)
		}
		forged := entries[0]
		forged.Subject = "seal-forged"
		leaf, err := auditlog.Leaf(forged)
		if err != nil {
			t.Fatal(err)
		}
		storetest.TamperAuditEntry(t, dsn, data, 100, "leaf", leaf)
		if code, out := verify("--checkpoint", held); code != ExitInvalid || !strings.Contains(out, fmt.Sprintf(`entry 100: the platform lists it with subject %q, its leaf says "seal-forged"`, entries[0].Subject)) {
			t.Fatalf("audit verify after editing entry 100's leaf: exit %d\n%s", code, out)
		}
		storetest.TamperAuditEntry(t, dsn, data, 100, "subject", "seal-forged")
		if code, out := verify("--checkpoint", held); code != ExitInvalid || !strings.Contains(out, "entry 100 or 101: one of them is not the entry the log held") {
			t.Fatalf("audit verify after editing entry 100's leaf and columns: exit %d\n%s", code, out)
		}
		// The archive of the intact log still verifies alone.
		if code, out, errOut := cmd("audit", "verify", "--dir", archive, "--log-key", logKey); code != 0 {
			t.Fatalf("audit verify --dir of the intact archive: exit %d\n%s%s", code, out, errOut)
		}
		storetest.TamperAuditEntry(t, dsn, data, 100, "leaf", leaves[0])
		if code, out := verify(); code != ExitInvalid || !strings.Contains(out, fmt.Sprintf(`entry 100: the platform lists it with subject "seal-forged", its leaf says %q`, entries[0].Subject)) {
			t.Fatalf("audit verify with entry 100's columns edited: exit %d\n%s", code, out)
		}
		storetest.TamperAuditEntry(t, dsn, data, 100, "subject", entries[0].Subject)
		if code, out := verify("--checkpoint", held); code != 0 {
			t.Fatalf("audit verify after undoing the edit: exit %d\n%s", code, out)
		}
		if code, out := verify("--checkpoint", filepath.Join(archive, "tile", "1", "000.p", "1")); code != ExitUsage || !strings.Contains(out, "--checkpoint") {
			t.Fatalf("audit verify --checkpoint of a file that is none: exit %d\n%s", code, out)
		}
		// An entry edited in the archive, canonical still: offline, the
		// archived hash tile names its 256 entries.
		bundle := filepath.Join(archive, "tile", "entries", "000")
		b, err := os.ReadFile(bundle)
		if err != nil || !bytes.Contains(b, []byte(`"seal-100"`)) {
			t.Fatalf("archived bundle: %v", err)
		}
		writeFile(t, bundle, bytes.Replace(b, []byte(`"seal-100"`), []byte(`"seal-999"`), 1))
		if code, out, errOut := cmd("audit", "verify", "--dir", archive, "--log-key", logKey); code != ExitInvalid || !strings.Contains(out, "entries 0 to 255: they hash to") {
			t.Fatalf("audit verify --dir of an edited archive: exit %d\n%s%s", code, out, errOut)
		}
	})
}
