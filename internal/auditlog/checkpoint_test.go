package auditlog_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

func TestCheckpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// The key ring would log the checkpoint key's creation; a key in
		// memory keeps the log empty for the first checkpoint.
		key, err := keys.GenerateSoftware(keys.Ed25519, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		signer := func(context.Context, string) (keys.Signer, error) { return key, nil }
		platform := func(context.Context) (string, error) { return "91350100M000100Y43", nil }
		cp := auditlog.NewCheckpointer(db, signer, platform)
		vkey, err := cp.VerifierKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		empty, err := cp.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, size, _, err := auditlog.VerifyCheckpoint(empty, vkey); err != nil || size != 0 {
			t.Fatalf("empty log checkpoint: %d, %v\n%s", size, err, empty)
		}
		for range 3 {
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "a", Action: "x", Subject: "y"})
			}); err != nil {
				t.Fatal(err)
			}
		}
		if pending, err := cp.Checkpoint(ctx); err != nil || !bytes.Contains(pending, []byte("\n0\n")) {
			t.Fatalf("checkpoint before integration: %v\n%s", err, pending)
		}
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		msg, err := cp.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		origin, size, root, err := auditlog.VerifyCheckpoint(msg, vkey)
		tree, _ := auditlog.Check(ctx, db)
		if err != nil || origin != auditlog.Origin("91350100M000100Y43") || size != 3 || !bytes.Equal(root, tree.Root) {
			t.Fatalf("checkpoint %q: %s %d %x, %v; tree root %x", msg, origin, size, root, err, tree.Root)
		}
		forged := bytes.Replace(msg, []byte("\n3\n"), []byte("\n2\n"), 1)
		if _, _, _, err := auditlog.VerifyCheckpoint(forged, vkey); err == nil {
			t.Fatal("a checkpoint with a changed size verified")
		}
	})
}
