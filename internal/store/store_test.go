package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		n, err := db.Migrate(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, %v; want 0", n, err)
		}
	})
}

// TestWithTxRollsBack proves a failing unit of work leaves nothing behind.
func TestWithTxRollsBack(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		o := org.Org{CreditCode: "91350100M000100Y43", Name: "x", Region: "350100", Kinds: []org.Kind{org.KindIssuer},
			Responsible: org.Responsible{Name: "y", Phone: "13900000000"}, Status: org.Active, Version: 1, CreatedAt: now, UpdatedAt: now}
		boom := errors.New("boom")
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertOrg(ctx, o); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx = %v, want the function's error", err)
		}
		if _, err := db.GetOrg(ctx, o.CreditCode); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("after rollback GetOrg = %v, want not-found", err)
		}
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(ctx, o) })
		if err := db.WithTx(ctx, func(tx *store.Tx) error { return tx.InsertOrg(ctx, o) }); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("duplicate insert = %v, want conflict", err)
		}
		got, err := db.GetOrg(ctx, o.CreditCode)
		if err != nil || !got.CreatedAt.Equal(now) || got.Kinds[0] != org.KindIssuer {
			t.Fatalf("read back %+v, %v", got, err)
		}
		bad := o
		bad.CreditCode, bad.Parent = "914403001922038216", "91110108551385082Q"
		if err := db.WithTx(ctx, func(tx *store.Tx) error { return tx.InsertOrg(ctx, bad) }); !errors.Is(err, apperr.Invalid) {
			t.Fatalf("insert with a missing parent = %v, want invalid (foreign key)", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, "mysql://x", ""); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Errorf("mysql DSN: %v", err)
	}
	_, err := store.Open(ctx, "postgres://user:hunter2@127.0.0.1:1/x?connect_timeout=1", "")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "cannot reach PostgreSQL") {
		t.Errorf("unreachable PostgreSQL: %v", err)
	}
	if _, err := store.Open(ctx, "", ""); err == nil {
		t.Error("embedded store without a data directory opened")
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{ //nolint:gosec // G101: made-up DSNs whose passwords Redact must hide
		"postgres://u:pw@h/db":              "postgres://u:xxxxx@h/db",
		"postgres://u@h/db?password=pw&x=1": "postgres://u@h/db?password=xxxxx&x=1",
		"postgres://h/db?sslmode=disable":   "postgres://h/db?sslmode=disable",
	} {
		if got := store.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
