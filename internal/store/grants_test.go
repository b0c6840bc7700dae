package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// grantUnit stores the license L1 and a unit to grant it to, and returns
// the unit and the time now to the second.
func grantUnit(t *testing.T, db *store.DB) (org.Org, time.Time) {
	t.Helper()
	materialLicense(t, db, "L1")
	unit := contactOrg("91350100M000100Y43")
	storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(context.Background(), unit) })
	return unit, time.Now().UTC().Truncate(time.Second)
}

// TestGrantStore: the grant in force for (license, unit, matter) at a time
// is the newest active one whose end is after it; a withdrawal applies to
// an active grant once; a license has one open reissue request, which
// closes once.
func TestGrantStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		unit, now := grantUnit(t, db)
		grant := func(id string, until time.Time) license.Grant {
			return license.Grant{ID: id, LicenseID: "L1", HolderKind: catalog.HolderPerson, HolderIndex: "idx", GrantedBy: "hol_1",
				Org: unit.CreditCode, Matter: "户籍迁移", Fields: []string{"name", "photo"}, ValidUntil: until, State: license.GrantActive, CreatedAt: now}
		}
		for _, g := range []license.Grant{grant("lgr_1", now.Add(time.Hour)), grant("lgr_2", now.Add(2*time.Hour))} {
			storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertGrant(ctx, g) })
		}
		g, err := db.ActiveGrant(ctx, "L1", unit.CreditCode, "户籍迁移", now)
		if err != nil || g.ID != "lgr_2" || g.Issuer != "11350100MB0000027N" || len(g.Fields) != 2 || !g.ValidUntil.Equal(now.Add(2*time.Hour)) {
			t.Fatalf("active grant %+v, %v", g, err)
		}
		if _, err := db.ActiveGrant(ctx, "L1", unit.CreditCode, "户籍迁移", now.Add(2*time.Hour)); !errors.Is(err, apperr.NotFound) {
			t.Errorf("at its end: %v", err)
		}
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.WithdrawGrant(ctx, "lgr_2", now) })
		var again error
		storetest.Write(t, db, func(tx *store.Tx) error { again = tx.WithdrawGrant(ctx, "lgr_2", now); return nil })
		if !errors.Is(again, apperr.Conflict) {
			t.Errorf("a second withdrawal: %v", again)
		}
		if g, err := db.ActiveGrant(ctx, "L1", unit.CreditCode, "户籍迁移", now); err != nil || g.ID != "lgr_1" {
			t.Errorf("after the withdrawal %+v, %v", g, err)
		}
		for _, c := range []struct {
			state license.GrantState
			want  int
		}{{license.GrantActive, 1}, {license.GrantWithdrawn, 1}, {license.GrantExpired, 0}, {"", 2}} {
			gs, err := db.ListGrants(ctx, license.GrantFilter{HolderKind: catalog.HolderPerson, HolderIndex: "idx", State: c.state, Now: now, Limit: 10})
			if err != nil || len(gs) != c.want {
				t.Errorf("%q: %d grants, %v; want %d", c.state, len(gs), err, c.want)
			}
		}

		req := func(id string) license.ReissueRequest {
			return license.ReissueRequest{ID: id, LicenseID: "L1", RequestedBy: "hol_1", State: license.ReissueOpen, CreatedAt: now}
		}
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertReissueRequest(ctx, req("lrr_1")) })
		// On PostgreSQL the violation aborts the transaction: it fails whole.
		if dup := db.WithTx(ctx, func(tx *store.Tx) error { return tx.InsertReissueRequest(ctx, req("lrr_2")) }); !errors.Is(dup, apperr.Conflict) {
			t.Errorf("a second open request: %v", dup)
		}
		closed := req("lrr_1")
		closed.State, closed.ClosedBy, closed.ClosedAt = license.ReissueDone, "acc", now
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.CloseReissueRequest(ctx, closed) })
		var twice error
		storetest.Write(t, db, func(tx *store.Tx) error { twice = tx.CloseReissueRequest(ctx, closed); return nil })
		if !errors.Is(twice, apperr.Conflict) {
			t.Errorf("closing a closed request: %v", twice)
		}
		if _, err := db.OpenReissueRequest(ctx, "L1"); !errors.Is(err, apperr.NotFound) {
			t.Errorf("open request after closing: %v", err)
		}
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertReissueRequest(ctx, req("lrr_3")) })
		rs, err := db.ListReissueRequests(ctx, license.ReissueFilter{Issuer: "11350100MB0000027N", Limit: 10})
		if err != nil || len(rs) != 2 || rs[0].State != license.ReissueDone || rs[1].State != license.ReissueOpen {
			t.Errorf("requests %+v, %v", rs, err)
		}
	})
}

// TestGrantMatterMigration: migration 0030 rewrites a grant naming the
// name of one of its unit's approved matters to that matter's code, and
// leaves a code, and free text naming no approved matter, as they are.
func TestGrantMatterMigration(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		unit, now := grantUnit(t, db)
		for _, m := range []struct {
			code, name string
			state      use.State
		}{{"HUJI", "户籍迁移", use.Approved}, {"DRAFT", "草稿事项", use.Pending}} {
			storetest.Write(t, db, func(tx *store.Tx) error {
				if err := tx.InsertMatter(ctx, use.Matter{Org: unit.CreditCode, Code: m.code, CreatedBy: "acc_1", CreatedAt: now}); err != nil {
					return err
				}
				return tx.InsertMatterVersion(ctx, use.MatterVersion{Org: unit.CreditCode, Code: m.code, Number: 1, Name: m.name, LegalBasis: "依据",
					Needs: []use.Need{{TypeCode: "PC0001", Fields: []string{"name"}}}, State: m.state, Author: "acc_1", ProposedAt: now, DecidedAt: now})
			})
		}
		for id, matter := range map[string]string{"lgr_name": "户籍迁移", "lgr_code": "HUJI", "lgr_pending": "草稿事项", "lgr_text": "其他事项"} {
			g := license.Grant{ID: id, LicenseID: "L1", HolderKind: catalog.HolderPerson, HolderIndex: "idx", GrantedBy: "hol_1",
				Org: unit.CreditCode, Matter: matter, ValidUntil: now.Add(time.Hour), State: license.GrantActive, CreatedAt: now}
			storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertGrant(ctx, g) })
		}
		if err := store.RedoMigration(ctx, db, 30); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"lgr_name": "HUJI", "lgr_code": "HUJI", "lgr_pending": "草稿事项", "lgr_text": "其他事项"} {
			if g, err := db.GetGrant(ctx, id); err != nil || g.Matter != want {
				t.Errorf("%s: matter %q, %v; want %q", id, g.Matter, err, want)
			}
		}
	})
}
