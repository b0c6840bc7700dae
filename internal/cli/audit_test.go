package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
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
		if code, _, errOut := cmd("org", "create", "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
			"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
			t.Fatalf("org create: %s", errOut)
		}
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
