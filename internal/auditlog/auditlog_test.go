package auditlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

func TestAppendAndCheck(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const workers, each = 4, 8
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					err := db.WithTx(ctx, func(tx *store.Tx) error {
						_, err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: fmt.Sprintf("acc_%d", w), Org: "X",
							Action: "seal.sign", Subject: fmt.Sprintf("seal-%d-%d", w, i), Details: map[string]string{"doc": "abc"}})
						return err
					})
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("append: %v", err)
		}
		tree, err := auditlog.Check(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if tree.Size != workers*each || len(tree.Root) != 32 {
			t.Fatalf("tree %d entries, root %x; want %d", tree.Size, tree.Root, workers*each)
		}

		// An append in a transaction that rolls back leaves no trace.
		boom := errors.New("boom")
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "a", Action: "x", Subject: "y"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if again, err := auditlog.Check(ctx, db); err != nil || again.Size != tree.Size || string(again.Root) != string(tree.Root) {
			t.Fatalf("after a rolled back append: %d, %v", again.Size, err)
		}

	})
}

func TestAppendRefusesIncompleteEntries(t *testing.T) {
	db := storetest.OpenSQLite(t)
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		_, err := auditlog.Append(context.Background(), tx, auditlog.Entry{Subject: "x"})
		return err
	})
	if err == nil {
		t.Fatal("an entry without actor and action was appended")
	}
}
