package auditlog_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"zhengzhao/internal/auditlog"
	"zhengzhao/internal/keys/keyring"
	"zhengzhao/internal/org"
	"zhengzhao/internal/store"
	"zhengzhao/internal/store/storetest"
)

func TestCheckpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		orgs := org.NewService(db, db.OrgTx, time.Now, rand.Reader)
		if _, err := orgs.CreateOrg(ctx, org.NewOrg{CreditCode: "91350100M000100Y43", Name: "平台", Region: "350100",
			Kinds: []org.Kind{org.KindPlatform}, Responsible: org.Responsible{Name: "x", Phone: "13900000000"}}); err != nil {
			t.Fatal(err)
		}
		platform := func(ctx context.Context) (string, error) {
			p, err := orgs.Platform(ctx)
			return p.CreditCode, err
		}
		cp := auditlog.NewCheckpointer(db, keyring.New(db, db.KeyTx, nil, time.Now, rand.Reader), platform)
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
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "a", Action: "x", Subject: "y"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
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
