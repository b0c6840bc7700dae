package use_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// TestTypeGrants walks grants of a type: only the operator grants and
// withdraws; bad grants are refused with their field and rule and keep
// nothing; a grant is in force until its end or its withdrawal, read by
// Granted in a transaction; a second grant in force is a conflict; an
// expired one is closed by the next, and every grant stays on record.
func TestTypeGrants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		day := 24 * time.Hour
		for _, c := range []struct {
			name string
			n    use.NewTypeGrant
			kind apperr.Kind
			want []string
		}{
			{"an unknown type", use.NewTypeGrant{Org: f.bank, TypeCode: "ZZ0009"}, apperr.Invalid, []string{"type: exists"}},
			{"no type", use.NewTypeGrant{Org: f.bank}, apperr.Invalid, []string{"type: required"}},
			{"an end passed already", use.NewTypeGrant{Org: f.bank, TypeCode: "BL0001", ValidUntil: f.now().Add(-time.Second)}, apperr.Invalid,
				[]string{"valid_until: future"}},
			{"an issuer", use.NewTypeGrant{Org: f.issuer, TypeCode: "BL0001"}, apperr.Invalid, []string{"org: using-unit-kind"}},
			{"no organization", use.NewTypeGrant{Org: "91350100M000100Y43", TypeCode: "BL0001"}, apperr.Invalid, []string{"org: exists"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.svc.GrantType(ctx, f.admin1, c.n)
				wantErr(t, err, c.kind, c.want...)
			})
		}
		_, err := f.svc.GrantType(ctx, f.bankStaff, use.NewTypeGrant{Org: f.bank, TypeCode: "BL0001"})
		wantErr(t, err, apperr.Forbidden)
		_, err = f.svc.GrantType(ctx, f.auditor, use.NewTypeGrant{Org: f.bank, TypeCode: "BL0001"})
		wantErr(t, err, apperr.Forbidden)
		if got := useActions(t, db); len(got) != 0 {
			t.Fatalf("refused grants audited %q", got)
		}
		granted := func(unit string, at time.Time) (use.TypeGrant, error) {
			var g use.TypeGrant
			err := db.UseTx(ctx, func(tx use.Tx) error {
				var err error
				g, err = use.Granted(ctx, tx, unit, "bl0001", at)
				return err
			})
			return g, err
		}
		_, err = granted(f.bank, f.now())
		wantErr(t, err, apperr.Forbidden, "type: type-granted")

		// A grant for thirty days: in force until then, expired after.
		g, err := f.svc.GrantType(ctx, f.admin1, use.NewTypeGrant{Org: f.bank, TypeCode: "bl0001", ValidUntil: f.now().Add(30 * day), Reason: "数据共享协议第3号"})
		if err != nil {
			t.Fatal(err)
		}
		if g.State != use.GrantActive || g.TypeCode != "BL0001" || g.GrantedBy != f.admin1.AccountID {
			t.Fatalf("grant %+v", g)
		}
		if got, err := granted(f.bank, f.now()); err != nil || got.ID != g.ID {
			t.Fatalf("granted now: %+v, %v", got, err)
		}
		_, err = granted(f.hotel, f.now())
		wantErr(t, err, apperr.Forbidden, "type: type-granted")
		_, err = granted(f.bank, f.now().Add(30*day))
		wantErr(t, err, apperr.Forbidden, "type: type-granted")
		_, err = f.svc.GrantType(ctx, f.admin2, use.NewTypeGrant{Org: f.bank, TypeCode: "BL0001"})
		wantErr(t, err, apperr.Conflict, "type: unique")

		// Units read their own grants only; another unit's is as none.
		if _, err := f.svc.GetTypeGrant(ctx, f.bankStaff, g.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.GetTypeGrant(ctx, f.hotelStaff, g.ID)
		wantErr(t, err, apperr.NotFound, "id: exists")
		_, err = f.svc.ListTypeGrants(ctx, f.hotelStaff, use.GrantFilter{Org: f.bank}, "")
		wantErr(t, err, apperr.Forbidden, "org: own-org")
		if p, err := f.svc.ListTypeGrants(ctx, f.hotelStaff, use.GrantFilter{}, ""); err != nil || len(p.Items) != 0 {
			t.Fatalf("the hotel's grants: %+v, %v", p, err)
		}

		// Past its end the grant is expired; a new grant closes it as such.
		f.advance(31 * day)
		if p, err := f.svc.ListTypeGrants(ctx, f.auditor, use.GrantFilter{State: use.GrantExpired}, ""); err != nil || len(p.Items) != 1 {
			t.Fatalf("expired grants: %+v, %v", p, err)
		}
		g2, err := f.svc.GrantType(ctx, f.admin1, use.NewTypeGrant{Org: f.bank, TypeCode: "BL0001"})
		if err != nil {
			t.Fatal(err)
		}
		old, err := f.svc.GetTypeGrant(ctx, f.admin1, g.ID)
		if err != nil || old.State != use.GrantExpired || old.ClosedBy != f.admin1.AccountID {
			t.Fatalf("the expired grant after a new one: %+v, %v", old, err)
		}
		if got, err := granted(f.bank, f.now().Add(3650*day)); err != nil || got.ID != g2.ID {
			t.Fatalf("a grant without an end, ten years on: %+v, %v", got, err)
		}

		// Withdrawal: with a reason, once.
		_, err = f.svc.WithdrawTypeGrant(ctx, f.admin1, g2.ID, "")
		wantErr(t, err, apperr.Invalid, "reason: required")
		_, err = f.svc.WithdrawTypeGrant(ctx, f.bankStaff, g2.ID, "不再需要")
		wantErr(t, err, apperr.Forbidden)
		_, err = f.svc.WithdrawTypeGrant(ctx, f.admin1, "utg_none", "不再需要")
		wantErr(t, err, apperr.NotFound, "id: exists")
		w, err := f.svc.WithdrawTypeGrant(ctx, f.admin2, g2.ID, "协议终止")
		if err != nil {
			t.Fatal(err)
		}
		if w.State != use.GrantWithdrawn || w.ClosedBy != f.admin2.AccountID || w.Reason != "协议终止" {
			t.Fatalf("withdrawn %+v", w)
		}
		_, err = f.svc.WithdrawTypeGrant(ctx, f.admin1, g2.ID, "再次撤销")
		wantErr(t, err, apperr.Conflict, "state: transition")
		_, err = f.svc.WithdrawTypeGrant(ctx, f.admin1, g.ID, "已过期")
		wantErr(t, err, apperr.Conflict, "state: transition")
		_, err = granted(f.bank, f.now())
		wantErr(t, err, apperr.Forbidden, "type: type-granted")

		// History: all three grants stay, in order.
		p, err := f.svc.ListTypeGrants(ctx, f.bankStaff, use.GrantFilter{}, "")
		if err != nil {
			t.Fatal(err)
		}
		var states []use.GrantState
		for _, x := range p.Items {
			states = append(states, x.StateAt(f.now()))
		}
		if !slices.Equal(states, []use.GrantState{use.GrantExpired, use.GrantWithdrawn}) {
			t.Fatalf("the bank's grants: %v", states)
		}
		want := []string{"use.type-granted", "use.type-granted", "use.type-grant-withdrawn"}
		if got := useActions(t, db); !slices.Equal(got, want) {
			t.Fatalf("audit actions %q, want %q", got, want)
		}
	})
}

// TestConcurrentTypeGrants: of twenty simultaneous grants of one type to
// one unit exactly one is made, and of twenty simultaneous withdrawals of
// it exactly one succeeds; the others are Conflicts.
func TestConcurrentTypeGrants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		race := func(op func(i int) (use.TypeGrant, error)) (ok []use.TypeGrant, conflicts int) {
			var mu sync.Mutex
			storetest.Race(20, func(i int) {
				g, err := op(i)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok = append(ok, g)
				case apperr.KindOf(err) == apperr.Conflict:
					conflicts++
				default:
					t.Errorf("attempt %d: %v", i, err)
				}
			})
			return ok, conflicts
		}
		before, start := db.Retries(), time.Now()
		made, conflicts := race(func(int) (use.TypeGrant, error) {
			return f.svc.GrantType(ctx, f.admin1, use.NewTypeGrant{Org: f.bank, TypeCode: "BL0001"})
		})
		if len(made) != 1 || conflicts != 19 {
			t.Fatalf("twenty grants: %d made, %d conflicts; want 1 and 19", len(made), conflicts)
		}
		t.Logf("twenty grants of one type to one unit: %d store retries (%s)", db.Retries()-before, time.Since(start))
		start = time.Now()
		before = db.Retries()
		withdrawn, conflicts := race(func(int) (use.TypeGrant, error) {
			return f.svc.WithdrawTypeGrant(ctx, f.admin2, made[0].ID, "协议终止")
		})
		if len(withdrawn) != 1 || conflicts != 19 {
			t.Fatalf("twenty withdrawals: %d done, %d conflicts; want 1 and 19", len(withdrawn), conflicts)
		}
		t.Logf("twenty withdrawals of one grant: %d store retries (%s)", db.Retries()-before, time.Since(start))
		want := []string{"use.type-granted", "use.type-grant-withdrawn"}
		if got := useActions(t, db); !slices.Equal(got, want) {
			t.Fatalf("audit actions %q, want %q", got, want)
		}
	})
}
