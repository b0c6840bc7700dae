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

// TestAppendAndIntegrate appends from several writers while several
// integrators run at once: every committed entry is integrated exactly
// once, at contiguous indices, and the log checks.
func TestAppendAndIntegrate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const workers, each, integrators = 8, 16, 3
		var wg, iwg sync.WaitGroup
		errs := make(chan error, workers*each+integrators)
		stop := make(chan struct{})
		for range integrators {
			iwg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					// A small batch, so that integrations interleave with
					// the writers and with each other.
					if _, err := auditlog.Integrate(ctx, db, 5); err != nil && !errors.Is(err, auditlog.ErrIntegratorBusy) {
						errs <- err
						return
					}
				}
			})
		}
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					err := db.WithTx(ctx, func(tx *store.Tx) error {
						return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: fmt.Sprintf("acc_%d", w), Org: "X",
							Action: "seal.sign", Subject: fmt.Sprintf("seal-%d-%d", w, i), Details: map[string]string{"doc": "abc"}})
					})
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		iwg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("append or integrate: %v", err)
		}
		// Writers share no row with each other or with the integrators: on
		// PostgreSQL no transaction had to be retried. (SQLite writers take
		// turns on the database lock instead, which may time out under a
		// heavily loaded test machine and then be retried.)
		if n := db.Retries(); n != 0 && db.Dialect() == store.Postgres {
			t.Errorf("%d transactions were retried", n)
		}
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		tree, err := auditlog.Check(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if tree.Size != workers*each || len(tree.Root) != 32 {
			t.Fatalf("tree %d entries, root %x; want %d", tree.Size, tree.Root, workers*each)
		}
		entries, _, err := db.AuditEntries(ctx, 0, tree.Size)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, e := range entries {
			if e.Index != uint64(i) || e.Pending || seen[e.Subject] {
				t.Fatalf("entry %d: index %d, pending %v, %s seen before: %v", i, e.Index, e.Pending, e.Subject, seen[e.Subject])
			}
			seen[e.Subject] = true
		}
		if pending, err := db.AuditPending(ctx, "", 10); err != nil || len(pending) != 0 {
			t.Fatalf("after integration %d entries pending, %v", len(pending), err)
		}

		// An append in a transaction that rolls back leaves no trace.
		boom := errors.New("boom")
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			if err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "a", Action: "x", Subject: "y"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if pending, err := db.AuditPending(ctx, "", 10); err != nil || len(pending) != 0 {
			t.Fatalf("a rolled back append left %d pending entries, %v", len(pending), err)
		}
		if n, err := auditlog.IntegrateAll(ctx, db); err != nil || n != 0 {
			t.Fatalf("integrated %d after a rolled back append, %v", n, err)
		}
		if again, err := auditlog.Check(ctx, db); err != nil || again.Size != tree.Size || string(again.Root) != string(tree.Root) {
			t.Fatalf("after a rolled back append: %d, %v", again.Size, err)
		}
	})
}

// TestPendingEntriesAreReadable reads an entry between its commit and its
// integration: it is there, marked pending, and has no index until the
// integrator gives it the next one.
func TestPendingEntriesAreReadable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
		for _, org := range []string{"A", "B", "A"} {
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				return auditlog.Append(ctx, tx, auditlog.Entry{At: at, Actor: "acc", Org: org, Action: "org.updated", Subject: org,
					Details: map[string]string{"changed": "name"}})
			}); err != nil {
				t.Fatal(err)
			}
		}
		all, err := db.AuditPending(ctx, "", 10)
		if err != nil || len(all) != 3 {
			t.Fatalf("%d pending, %v; want 3", len(all), err)
		}
		ofA, err := db.AuditPending(ctx, "A", 10)
		if err != nil || len(ofA) != 2 || ofA[0].Seq >= ofA[1].Seq {
			t.Fatalf("pending of A: %+v, %v", ofA, err)
		}
		e := all[0]
		if !e.Pending || e.Org != "A" || e.Details["changed"] != "name" || !e.At.Equal(at.Truncate(time.Microsecond)) {
			t.Fatalf("pending entry %+v", e)
		}
		if entries, _, err := db.AuditEntries(ctx, 0, 10); err != nil || len(entries) != 0 {
			t.Fatalf("%d integrated before integration, %v", len(entries), err)
		}
		if n, err := auditlog.IntegrateAll(ctx, db); err != nil || n != 3 {
			t.Fatalf("integrated %d, %v", n, err)
		}
		entries, err := db.AuditEntriesOfOrg(ctx, "A", 0, 10)
		if err != nil || len(entries) != 2 || entries[0].Index != 0 || entries[1].Index != 2 || entries[0].Pending {
			t.Fatalf("integrated entries of A: %+v, %v", entries, err)
		}
	})
}

// TestLeafEncoding pins the leaf bytes docs/audit.md describes, which
// auditors recompute without the platform's code: RFC 8785 JSON of index,
// at (RFC 3339 in UTC, microseconds, trailing zeros dropped), actor, org,
// action, subject, and details only when there are any.
func TestLeafEncoding(t *testing.T) {
	at := time.Date(2026, 11, 30, 16, 4, 5, 120000000, time.FixedZone("CST", 8*3600))
	for _, c := range []struct {
		e    auditlog.Entry
		want string
	}{
		{auditlog.Entry{Index: 7, At: at, Actor: "acc_1", Org: "91350100M000100Y43", Action: "seal.sign", Subject: "S1",
			Details: map[string]string{"use": "u1", "doc": "ab"}},
			`{"action":"seal.sign","actor":"acc_1","at":"2026-11-30T08:04:05.12Z","details":{"doc":"ab","use":"u1"},"index":7,"org":"91350100M000100Y43","subject":"S1"}`},
		{auditlog.Entry{Index: 0, At: at.Truncate(time.Second), Actor: "operator", Action: "key.created", Subject: "k", Details: map[string]string{}, Pending: true, Seq: 9},
			`{"action":"key.created","actor":"operator","at":"2026-11-30T08:04:05Z","index":0,"org":"","subject":"k"}`},
	} {
		got, err := auditlog.Leaf(c.e)
		if err != nil || string(got) != c.want {
			t.Errorf("Leaf = %s, %v\nwant %s", got, err, c.want)
		}
	}
}

// TestIntegratorRuns starts the background integrator: an entry committed
// while it runs is integrated without anyone asking, and Run returns when
// its context ends.
func TestIntegratorRuns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		var failed []error
		in := &auditlog.Integrator{Store: db, Interval: 20 * time.Millisecond, OnError: func(err error) { failed = append(failed, err) }}
		done := make(chan struct{})
		go func() { in.Run(ctx); close(done) }()
		for i := range 3 {
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "a", Action: "x", Subject: fmt.Sprint(i)})
			}); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			tree, err := db.AuditTree(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tree.Size == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the integrator left the tree at %d entries of 3", tree.Size)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if len(failed) > 0 {
			t.Fatal(failed)
		}
		if _, err := auditlog.Check(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppendRefusesIncompleteEntries(t *testing.T) {
	db := storetest.OpenSQLite(t)
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		return auditlog.Append(context.Background(), tx, auditlog.Entry{Subject: "x"})
	})
	if err == nil {
		t.Fatal("an entry without actor and action was appended")
	}
}
