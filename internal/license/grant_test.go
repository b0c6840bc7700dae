package license_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// issueTo issues a permit to the n-th person of the fixture (n < 1000)
// and returns it with that person's holder actor.
func (f fixture) issueTo(t testing.TB, n int) (license.License, *authz.Actor) {
	t.Helper()
	first17 := "11010519491231" + fmt.Sprintf("%03d", n)
	c, err := ids.CitizenIDCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	id := first17 + string(c)
	p := f.permit()
	p.HolderID, p.Face = id, []byte(strings.Replace(string(f.personSample), "11010519491231002x", id, 1))
	got, err := f.p.Licenses.Issue(context.Background(), f.issuer, p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := f.p.Licenses.Get(context.Background(), f.issuer, got.License.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l, &authz.Actor{Holder: &authz.Holder{ID: fmt.Sprintf("hol_%024d", n), Kind: string(l.HolderKind), Index: l.HolderIndex, Name: l.HolderName}}
}

// unit makes an account with the using-unit role in organization code.
func (f fixture) unit(t testing.TB, code string) *authz.Actor {
	t.Helper()
	a, err := f.p.Orgs.CreateAccount(context.Background(), org.NewAccount{Org: code, Name: "unit-" + code[8:16], Roles: []authz.Role{authz.UsingUnit}})
	if err != nil {
		t.Fatal(err)
	}
	return &authz.Actor{AccountID: a.ID, Org: code, Roles: a.Roles}
}

// usingUnit makes a using unit with an account of the using-unit role and
// the matters HUJI and SHEBAO needing the residence permit, BIZ needing
// only the business license, all approved, and DRAFT not yet approved.
func (f fixture) usingUnit(t testing.TB) (string, *authz.Actor) {
	t.Helper()
	ctx := context.Background()
	code, err := ids.NewCreditCode('1', '1', "350100", "MB000009")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Orgs.CreateOrg(ctx, org.NewOrg{CreditCode: code, Name: "福州市示例银行", Kinds: []org.Kind{org.KindUsingUnit},
		Parent: f.approver.Org, Region: "350100", Responsible: org.Responsible{Name: "李四", Phone: "13800000001"}}); err != nil {
		t.Fatal(err)
	}
	staff := f.unit(t, code)
	a, err := f.p.Orgs.CreateAccount(ctx, org.NewAccount{Org: f.approver.Org, Name: "matter-reviewer", Roles: []authz.Role{authz.PlatformAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	reviewer := &authz.Actor{AccountID: a.ID, Org: f.approver.Org, Roles: a.Roles}
	for _, m := range []struct {
		code, name, typ string
		approve         bool
	}{{"HUJI", "户籍迁移", "PC0001", true}, {"SHEBAO", "社保登记", "PC0001", true}, {"BIZ", "企业开户", "BL0001", true}, {"DRAFT", "草稿", "PC0001", false}} {
		if _, err := f.p.Use.CreateMatter(ctx, staff, use.NewMatter{Code: m.code, Content: use.Content{Name: m.name, LegalBasis: "依据",
			Needs: []use.Need{{TypeCode: m.typ, Fields: []string{"name"}}}}}); err != nil {
			t.Fatal(err)
		}
		if !m.approve {
			continue
		}
		if _, err := f.p.Use.Approve(ctx, reviewer, code, m.code, 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	return code, staff
}

// actions counts the audit entries of action.
func (f fixture) actions(t testing.TB, action string) int {
	t.Helper()
	all, err := f.db.AuditPending(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(slices.DeleteFunc(all, func(e auditlog.Entry) bool { return e.Action != action }))
}

func kindOf(err error) apperr.Kind { return apperr.KindOf(err) }

// TestGrant grants, lists, looks up and withdraws a holder's
// authorization, and refuses what breaks a rule without writing.
func TestGrant(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		l, h := f.issueTo(t, 1)
		_, other := f.issueTo(t, 2)
		bank, unit := f.usingUnit(t)
		until := f.clk.now().Add(30 * 24 * time.Hour)
		ok := license.NewGrant{LicenseID: l.ID, Org: bank, Matter: "huji ", Fields: []string{"name", "citizen_id"}, ValidUntil: until}

		for _, c := range []struct {
			name  string
			edit  func(*license.NewGrant)
			actor *authz.Actor
			kind  apperr.Kind
			rule  string
		}{
			{"staff", func(*license.NewGrant) {}, f.issuer, apperr.Forbidden, "actor: holder"},
			{"bad org", func(n *license.NewGrant) { n.Org = "91350100M000100Y44" }, h, apperr.Invalid, "org: check-character"},
			{"unknown org", func(n *license.NewGrant) { n.Org = "91350100M000100Y43" }, h, apperr.Invalid, "org: active-org"},
			{"not a using unit", func(n *license.NewGrant) { n.Org = f.otherOrg }, h, apperr.Invalid, "org: using-unit-kind"},
			{"no matter", func(n *license.NewGrant) { n.Matter = " " }, h, apperr.Invalid, "matter: required"},
			{"hidden matter", func(n *license.NewGrant) { n.Matter = "HU\u200bJI" }, h, apperr.Invalid, "matter: invisible"},
			{"a matter's name", func(n *license.NewGrant) { n.Matter = "户籍迁移" }, h, apperr.Invalid, "matter: approved"},
			{"no such matter", func(n *license.NewGrant) { n.Matter = "NONE" }, h, apperr.Invalid, "matter: approved"},
			{"a matter not approved", func(n *license.NewGrant) { n.Matter = "DRAFT" }, h, apperr.Invalid, "matter: approved"},
			{"a matter not needing the type", func(n *license.NewGrant) { n.Matter = "BIZ" }, h, apperr.Invalid, "matter: needs-license-type"},
			{"past the license", func(n *license.NewGrant) { n.ValidUntil = l.ValidUntil.Add(time.Hour) }, h, apperr.Invalid,
				"valid_until: within-license"},
			{"no end", func(n *license.NewGrant) { n.ValidUntil = time.Time{} }, h, apperr.Invalid, "valid_until: required"},
			{"past", func(n *license.NewGrant) { n.ValidUntil = f.clk.now().Add(-time.Second) }, h, apperr.Invalid, "valid_until: future"},
			{"too long", func(n *license.NewGrant) { n.ValidUntil = f.clk.now().Add(license.MaxGrantTerm + time.Hour) }, h, apperr.Invalid,
				"valid_until: max-term"},
			{"field twice", func(n *license.NewGrant) { n.Fields = []string{"name", "name"} }, h, apperr.Invalid, "fields: unique"},
			{"no such field", func(n *license.NewGrant) { n.Fields = []string{"salary"} }, h, apperr.Invalid, "fields: template-field"},
			{"another's license", func(*license.NewGrant) {}, other, apperr.NotFound, ""},
		} {
			n := ok
			c.edit(&n)
			before := f.actions(t, "license.granted")
			_, err := f.p.Licenses.Grant(ctx, c.actor, n)
			if kindOf(err) != c.kind || c.rule != "" && !slices.Contains(rules(err), c.rule) {
				t.Errorf("%s: %v (%v), want %s %s", c.name, err, rules(err), c.kind, c.rule)
			}
			if after := f.actions(t, "license.granted"); after != before {
				t.Errorf("%s: wrote a grant", c.name)
			}
		}

		g, err := f.p.Licenses.Grant(ctx, h, ok)
		if err != nil {
			t.Fatal(err)
		}
		if g.State != license.GrantActive || g.Issuer != f.issuerOrg || !slices.Equal(g.Fields, ok.Fields) || !g.ValidUntil.Equal(until) {
			t.Fatalf("grant %+v", g)
		}
		// The holder chooses among the unit's approved matters only.
		ms, err := f.p.Licenses.UnitMatters(ctx, h, strings.ToLower(bank), 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, m := range ms.Items {
			codes = append(codes, fmt.Sprintf("%s %s v%d %v", m.Code, m.Name, m.Version, m.Types))
		}
		if want := []string{"BIZ 企业开户 v1 [BL0001]", "HUJI 户籍迁移 v1 [PC0001]", "SHEBAO 社保登记 v1 [PC0001]"}; !slices.Equal(codes, want) {
			t.Errorf("unit matters %q, want %q", codes, want)
		}
		for _, c := range []struct {
			name  string
			actor *authz.Actor
			unit  string
			kind  apperr.Kind
		}{{"staff", f.issuer, bank, apperr.Forbidden}, {"not a using unit", h, f.otherOrg, apperr.NotFound},
			{"unknown", h, "91350100M000100Y43", apperr.NotFound}, {"bad code", h, "91350100M000100Y44", apperr.Invalid}} {
			if _, err := f.p.Licenses.UnitMatters(ctx, c.actor, c.unit, 10, ""); kindOf(err) != c.kind {
				t.Errorf("unit matters, %s: %v, want %s", c.name, err, c.kind)
			}
		}
		got, err := f.p.Licenses.ActiveGrant(ctx, l.ID, bank, "HUJI", f.clk.now())
		if err != nil || got.ID != g.ID || got.Matter != "HUJI" {
			t.Fatalf("active grant %+v, %v", got, err)
		}
		if _, err := f.p.Licenses.ActiveGrant(ctx, l.ID, bank, "SHEBAO", f.clk.now()); kindOf(err) != apperr.NotFound {
			t.Errorf("another matter: %v", err)
		}
		if _, err := f.p.Licenses.ActiveGrant(ctx, l.ID, bank, "HUJI", until); kindOf(err) != apperr.NotFound {
			t.Errorf("at its end: %v", err)
		}
		list := func(a *authz.Actor, s license.GrantState) []string {
			t.Helper()
			var out []string
			var items []license.Grant
			var err error
			if a.Holder != nil {
				pg, e := f.p.Licenses.HolderGrants(ctx, a, license.GrantFilter{State: s}, "")
				items, err = pg.Items, e
			} else {
				pg, e := f.p.Licenses.UnitGrants(ctx, a, license.GrantFilter{State: s}, "")
				items, err = pg.Items, e
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range items {
				out = append(out, g.ID+":"+string(g.State))
			}
			return out
		}
		if got := list(h, ""); !slices.Equal(got, []string{g.ID + ":active"}) {
			t.Errorf("holder's grants %v", got)
		}
		if got := list(other, ""); len(got) != 0 {
			t.Errorf("another holder sees %v", got)
		}
		if got := list(unit, license.GrantActive); !slices.Equal(got, []string{g.ID + ":active"}) {
			t.Errorf("unit's grants %v", got)
		}
		if got := list(f.unit(t, f.issuerOrg), ""); len(got) != 0 {
			t.Errorf("another unit sees %v", got)
		}
		if _, err := f.p.Licenses.UnitGrants(ctx, f.issuer, license.GrantFilter{}, ""); kindOf(err) != apperr.Forbidden {
			t.Errorf("an issuer reads a unit's grants: %v", err)
		}

		// Another holder's withdrawal is NotFound and logged.
		refused := f.actions(t, license.RefusedAction)
		if _, err := f.p.Licenses.WithdrawGrant(ctx, other, g.ID); kindOf(err) != apperr.NotFound {
			t.Errorf("another holder withdraws: %v", err)
		}
		if f.actions(t, license.RefusedAction) != refused+1 {
			t.Error("the refused withdrawal was not logged")
		}
		w, err := f.p.Licenses.WithdrawGrant(ctx, h, g.ID)
		if err != nil || w.State != license.GrantWithdrawn || w.WithdrawnAt.IsZero() {
			t.Fatalf("withdraw: %+v, %v", w, err)
		}
		// Withdrawing again is a no-op: the same answer, nothing written.
		again, err := f.p.Licenses.WithdrawGrant(ctx, h, g.ID)
		if err != nil || again.State != license.GrantWithdrawn || !again.WithdrawnAt.Equal(w.WithdrawnAt) {
			t.Fatalf("withdraw again: %+v, %v", again, err)
		}
		if n := f.actions(t, "license.grant-withdrawn"); n != 1 {
			t.Errorf("%d withdrawals logged, want 1", n)
		}
		if _, err := f.p.Licenses.ActiveGrant(ctx, l.ID, bank, "HUJI", f.clk.now()); kindOf(err) != apperr.NotFound {
			t.Errorf("a withdrawn grant is in force: %v", err)
		}

		// A grant whose end has passed lists as expired.
		g2, err := f.p.Licenses.Grant(ctx, h, license.NewGrant{LicenseID: l.ID, Org: bank, Matter: "SHEBAO", ValidUntil: f.clk.now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.add(2 * time.Hour)
		if got := list(h, license.GrantExpired); !slices.Equal(got, []string{g2.ID + ":expired"}) {
			t.Errorf("expired %v", got)
		}
		if got := list(h, license.GrantWithdrawn); !slices.Equal(got, []string{g.ID + ":withdrawn"}) {
			t.Errorf("withdrawn %v", got)
		}

		// Only a license in force is granted: not past its validity, even
		// before it expires, and active.
		f.clk.add(pastValidity)
		if _, err := f.p.Licenses.Grant(ctx, h, license.NewGrant{LicenseID: l.ID, Org: bank, Matter: "SHEBAO",
			ValidUntil: f.clk.now().Add(time.Hour)}); kindOf(err) != apperr.Conflict || !slices.Equal(rules(err), []string{"license_id: in-force"}) {
			t.Errorf("grant of a license past its validity: %v", err)
		}
		f.clk.add(-pastValidity)
		f.apply(t, l.ID, license.Suspend)
		if _, err := f.p.Licenses.Grant(ctx, h, license.NewGrant{LicenseID: l.ID, Org: bank, Matter: "SHEBAO",
			ValidUntil: f.clk.now().Add(time.Hour)}); kindOf(err) != apperr.Conflict || !slices.Equal(rules(err), []string{"license_id: in-force"}) {
			t.Errorf("grant of a suspended license: %v", err)
		}
	})
}

// TestConcurrentGrants races grants of 20 holders, each of its own
// license, and 20 withdrawals of one grant: every grant is written once,
// and the grant is withdrawn once, the rest no-ops.
func TestConcurrentGrants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		bank, staff := f.usingUnit(t)
		const n = 20
		ls, hs := make([]license.License, n), make([]*authz.Actor, n)
		for i := range n {
			ls[i], hs[i] = f.issueTo(t, 10+i)
		}
		errs := make([]error, n)
		storetest.Race(n, func(i int) {
			_, errs[i] = f.p.Licenses.Grant(ctx, hs[i], license.NewGrant{LicenseID: ls[i].ID, Org: bank, Matter: "HUJI",
				ValidUntil: f.clk.now().Add(time.Hour)})
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		p, err := f.p.Licenses.UnitGrants(ctx, staff, license.GrantFilter{Limit: 100}, "")
		if err != nil || len(p.Items) != n || f.actions(t, "license.granted") != n {
			t.Fatalf("%d grants, %d logged, %v", len(p.Items), f.actions(t, "license.granted"), err)
		}
		g := p.Items[0]
		var h *authz.Actor
		for i := range ls {
			if ls[i].ID == g.LicenseID {
				h = hs[i]
			}
		}
		storetest.Race(n, func(i int) {
			var w license.Grant
			w, errs[i] = f.p.Licenses.WithdrawGrant(ctx, h, g.ID)
			if errs[i] == nil && w.State != license.GrantWithdrawn {
				errs[i] = fmt.Errorf("withdrawal %d: %s", i, w.State)
			}
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if got := f.actions(t, "license.grant-withdrawn"); got != 1 {
			t.Errorf("%d withdrawals logged, want 1", got)
		}
	})
}

// TestLossReport races 20 loss reports of one license by its holder: one
// transition, the others refused by state and nothing else written; the
// status bits say it no longer verifies. Then 20 reissue requests race:
// one is open, the others are refused. The issuer lists it, and its
// reissue closes it; another request is refused by the issuer.
func TestLossReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		l, h := f.issueTo(t, 1)
		_, other := f.issueTo(t, 2)
		if _, err := f.p.Licenses.ReportLost(ctx, other, l.ID, ""); kindOf(err) != apperr.NotFound {
			t.Fatalf("another holder reports it lost: %v", err)
		}
		if _, err := f.p.Licenses.RequestReissue(ctx, h, l.ID, ""); kindOf(err) != apperr.Conflict ||
			!slices.Equal(rules(err), []string{"state: reported-lost"}) {
			t.Fatalf("reissue request of an active license: %v", err)
		}
		before := f.counts(t)
		const n = 20
		errs := make([]error, n)
		storetest.Race(n, func(i int) { _, errs[i] = f.p.Licenses.ReportLost(ctx, h, l.ID, "丢失") })
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !isTransitionConflict(err, license.ReportedLost):
				t.Errorf("a loser: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d loss reports won, want 1", won)
		}
		if after := f.counts(t); after != [4]int{before[0], before[1], before[2] + 1, before[3] + 1} {
			t.Errorf("wrote %v -> %v", before, after)
		}
		got, err := f.p.Licenses.Get(ctx, f.issuer, l.ID)
		if err != nil || got.State != license.ReportedLost {
			t.Fatalf("%+v, %v", got, err)
		}
		want, _ := status.BitsOf(status.State(license.ReportedLost))
		if b := f.bits(t, got.Slot); b != want || !b.Suspension && !b.Revocation {
			t.Errorf("bits %+v, want %+v", b, want)
		}
		hist, err := f.p.Licenses.History(ctx, f.issuer, l.ID, 10, "")
		if err != nil || len(hist.Items) != 1 || hist.Items[0].Actor != h.Holder.ID || hist.Items[0].Operation != license.ReportLost {
			t.Fatalf("history %+v, %v", hist.Items, err)
		}

		storetest.Race(n, func(i int) { _, errs[i] = f.p.Licenses.RequestReissue(ctx, h, l.ID, "补办") })
		opened := 0
		for _, err := range errs {
			switch {
			case err == nil:
				opened++
			case kindOf(err) != apperr.Conflict || !slices.Equal(rules(err), []string{"license_id: open-request"}):
				t.Errorf("a loser: %v", err)
			}
		}
		if opened != 1 || f.actions(t, "license.reissue-requested") != 1 {
			t.Fatalf("%d requests opened, %d logged", opened, f.actions(t, "license.reissue-requested"))
		}
		open, err := f.p.Licenses.ReissueRequests(ctx, f.issuer, license.ReissueFilter{State: license.ReissueOpen}, "")
		if err != nil || len(open.Items) != 1 || open.Items[0].LicenseID != l.ID || open.Items[0].Reason != "补办" {
			t.Fatalf("open requests %+v, %v", open.Items, err)
		}
		if mine, err := f.p.Licenses.ReissueRequests(ctx, f.other, license.ReissueFilter{}, ""); err != nil || len(mine.Items) != 0 {
			t.Errorf("another issuer sees %+v, %v", mine.Items, err)
		}
		out := f.apply(t, l.ID, license.Reissue)
		if out.License.State != license.Active || out.License.Version != 2 {
			t.Fatalf("reissued %+v", out.License)
		}
		done, err := f.p.Licenses.ReissueRequests(ctx, f.issuer, license.ReissueFilter{}, "")
		if err != nil || len(done.Items) != 1 || done.Items[0].State != license.ReissueDone || done.Items[0].ClosedBy != f.issuer.AccountID {
			t.Fatalf("after reissue %+v, %v", done.Items, err)
		}
		if _, err := f.p.Licenses.RefuseReissue(ctx, f.issuer, done.Items[0].ID, "不予补办"); kindOf(err) != apperr.Conflict {
			t.Errorf("refuse a closed request: %v", err)
		}

		// The issuer refuses a request; the holder may ask again.
		f.apply(t, l.ID, license.ReportLost)
		r, err := f.p.Licenses.RequestReissue(ctx, h, l.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Licenses.RefuseReissue(ctx, f.other, r.ID, "不予补办"); kindOf(err) != apperr.NotFound {
			t.Errorf("another issuer refuses: %v", err)
		}
		if _, err := f.p.Licenses.RefuseReissue(ctx, f.issuer, r.ID, " "); kindOf(err) != apperr.Invalid {
			t.Errorf("refuse without reason: %v", err)
		}
		refused, err := f.p.Licenses.RefuseReissue(ctx, f.issuer, r.ID, "材料不全")
		if err != nil || refused.State != license.ReissueRefused || refused.Answer != "材料不全" {
			t.Fatalf("refuse: %+v, %v", refused, err)
		}
		if _, err := f.p.Licenses.RequestReissue(ctx, h, l.ID, "再次申请"); err != nil {
			t.Errorf("ask again after a refusal: %v", err)
		}
		mine, err := f.p.Licenses.HolderReissueRequests(ctx, h, l.ID, 10, "")
		// The fixture's clock stands still: the identifiers do not order
		// the requests here.
		answers := map[license.ReissueState]string{}
		for _, r := range mine.Items {
			answers[r.State] = r.Answer
		}
		if err != nil || len(mine.Items) != 3 || len(answers) != 3 || answers[license.ReissueRefused] != "材料不全" {
			t.Errorf("the holder's requests %+v, %v", mine.Items, err)
		}
		if _, err := f.p.Licenses.HolderReissueRequests(ctx, other, l.ID, 10, ""); kindOf(err) != apperr.NotFound {
			t.Errorf("another holder reads the requests: %v", err)
		}
	})
}
