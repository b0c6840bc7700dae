package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// TestUseStore: matters, versions and type grants read back as written
// (zero times stay zero); the usable version is the newest approved one;
// a version's state and a grant's closing apply only from the state they
// were read in; one active grant per unit and type; cursors of
// composite keys page through every unit.
func TestUseStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		bank, hotel := contactOrg("91350100M000100Y43"), contactOrg("91350100M000200Y45")
		typ := catalog.Entry{Type: catalog.Type{Code: "BL0001", Name: catalog.Label{ZH: "营业执照", EN: "Business license"}, AnyIssuer: true,
			HolderKind: catalog.HolderOrganization, Level: catalog.LevelNational, Public: catalog.PublicShared, CollectionStart: "2020-01-01",
			Validity: catalog.ValidityRule{Kind: catalog.ValidityOpenEnded}, Numbering: "{seq:6}"}, Owner: bank.CreditCode, CreatedBy: "operator", CreatedAt: now}
		storetest.Write(t, db, func(tx *store.Tx) error {
			for _, o := range []struct{ code string }{{bank.CreditCode}, {hotel.CreditCode}} {
				o := contactOrg(o.code)
				if err := tx.InsertOrg(ctx, o); err != nil {
					return err
				}
			}
			return tx.InsertType(ctx, typ)
		})
		version := func(org, code string, n int, s use.State) use.MatterVersion {
			return use.MatterVersion{Org: org, Code: code, Number: n, Name: "开户", LegalBasis: "办法第十七条",
				Needs: []use.Need{{TypeCode: "BL0001", Fields: []string{"credit_code", "name"}}}, State: s, Author: "acc_1", ProposedAt: now}
		}
		for _, m := range []struct {
			org, code string
		}{{bank.CreditCode, "A"}, {bank.CreditCode, "B"}, {hotel.CreditCode, "A"}} {
			storetest.Write(t, db, func(tx *store.Tx) error {
				if err := tx.InsertMatter(ctx, use.Matter{Org: m.org, Code: m.code, CreatedBy: "acc_1", CreatedAt: now}); err != nil {
					return err
				}
				return tx.InsertMatterVersion(ctx, version(m.org, m.code, 1, use.Pending))
			})
		}
		dup := db.WithTx(ctx, func(tx *store.Tx) error {
			return tx.InsertMatter(ctx, use.Matter{Org: bank.CreditCode, Code: "A", CreatedBy: "x", CreatedAt: now})
		})
		if !errors.Is(dup, apperr.Conflict) {
			t.Errorf("a second matter A of the bank: %v", dup)
		}
		got, err := db.GetMatterVersion(ctx, bank.CreditCode, "A", 1)
		if want := version(bank.CreditCode, "A", 1, use.Pending); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("version read back %+v, %v; want %+v", got, err, want)
		}
		if _, err := db.ApprovedMatterVersion(ctx, bank.CreditCode, "A"); !errors.Is(err, apperr.NotFound) {
			t.Errorf("approved version before any approval: %v", err)
		}
		approved := got
		approved.State, approved.DecidedBy, approved.DecidedAt, approved.Reason = use.Approved, "acc_2", now, "ok"
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.UpdateMatterVersion(ctx, approved, use.Pending) })
		var moved error
		storetest.Write(t, db, func(tx *store.Tx) error { moved = tx.UpdateMatterVersion(ctx, approved, use.Pending); return nil })
		if !errors.Is(moved, apperr.Conflict) {
			t.Errorf("a second decision: %v", moved)
		}
		storetest.Write(t, db, func(tx *store.Tx) error {
			return tx.InsertMatterVersion(ctx, version(bank.CreditCode, "A", 2, use.Pending))
		})
		if v, err := db.ApprovedMatterVersion(ctx, bank.CreditCode, "A"); err != nil || !reflect.DeepEqual(v, approved) {
			t.Errorf("approved version %+v, %v; want %+v", v, err, approved)
		}
		m, err := db.GetMatter(ctx, bank.CreditCode, "A")
		if err != nil || m.Latest != 2 || m.Approved != 1 || m.Name != "开户" || !m.CreatedAt.Equal(now) {
			t.Errorf("matter %+v, %v", m, err)
		}
		var keys []string
		after := ""
		for {
			ms, err := db.ListMatters(ctx, use.MatterFilter{After: after, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			after = ms[0].Org + "|" + ms[0].Code
			keys = append(keys, after)
		}
		if want := []string{bank.CreditCode + "|A", bank.CreditCode + "|B", hotel.CreditCode + "|A"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("matters paged one by one: %q, want %q", keys, want)
		}
		vs, err := db.ListMatterVersions(ctx, use.VersionFilter{State: use.Pending, After: bank.CreditCode + "|A|2", Limit: 10})
		if err != nil || len(vs) != 2 || vs[0].Code != "B" || vs[1].Org != hotel.CreditCode {
			t.Errorf("pending versions after the bank's A 2: %+v, %v", vs, err)
		}
		if _, err := db.ListMatterVersions(ctx, use.VersionFilter{After: "garbage", Limit: 10}); !errors.Is(err, apperr.Invalid) {
			t.Errorf("a cursor not returned: %v", err)
		}

		// Type grants.
		g := use.TypeGrant{ID: "utg_1", Org: bank.CreditCode, TypeCode: "BL0001", State: use.GrantActive, GrantedBy: "acc_2", GrantedAt: now}
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertTypeGrant(ctx, g) })
		if got, err := db.GetTypeGrant(ctx, "utg_1"); err != nil || !reflect.DeepEqual(got, g) {
			t.Fatalf("grant read back %+v, %v; want %+v", got, err, g)
		}
		second := db.WithTx(ctx, func(tx *store.Tx) error {
			g2 := g
			g2.ID = "utg_2"
			return tx.InsertTypeGrant(ctx, g2)
		})
		if !errors.Is(second, apperr.Conflict) {
			t.Errorf("a second active grant of the type: %v", second)
		}
		closed := g
		closed.State, closed.ClosedBy, closed.ClosedAt, closed.Reason = use.GrantWithdrawn, "acc_3", now, "协议终止"
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.CloseTypeGrant(ctx, closed) })
		var again error
		storetest.Write(t, db, func(tx *store.Tx) error { again = tx.CloseTypeGrant(ctx, closed); return nil })
		if !errors.Is(again, apperr.Conflict) {
			t.Errorf("a second withdrawal: %v", again)
		}
		if _, err := db.ActiveTypeGrant(ctx, bank.CreditCode, "BL0001"); !errors.Is(err, apperr.NotFound) {
			t.Errorf("active grant after the withdrawal: %v", err)
		}
		g3 := g
		g3.ID, g3.ValidUntil = "utg_3", now.Add(time.Hour)
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertTypeGrant(ctx, g3) })
		for _, c := range []struct {
			state use.GrantState
			at    time.Time
			want  []string
		}{
			{use.GrantActive, now, []string{"utg_3"}},
			{use.GrantExpired, now.Add(time.Hour), []string{"utg_3"}},
			{use.GrantActive, now.Add(time.Hour), nil},
			{use.GrantWithdrawn, now, []string{"utg_1"}},
			{"", now, []string{"utg_1", "utg_3"}},
		} {
			gs, err := db.ListTypeGrants(ctx, use.GrantFilter{Org: bank.CreditCode, State: c.state, Now: c.at, Limit: 10})
			var ids []string
			for _, g := range gs {
				ids = append(ids, g.ID)
			}
			if err != nil || !reflect.DeepEqual(ids, c.want) {
				t.Errorf("grants %s at %s: %q, %v; want %q", c.state, c.at, ids, err, c.want)
			}
		}
	})
}
