package use_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// TestMatterInputIsChecked refuses every bad matter with the field and the
// rule it breaks, and keeps nothing of any refused one: no matter, no
// version, no audit entry.
func TestMatterInputIsChecked(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		tests := []struct {
			name  string
			actor *authz.Actor
			edit  func(*use.NewMatter)
			kind  apperr.Kind
			want  []string
		}{
			{"code with a space", f.bankStaff, func(m *use.NewMatter) { m.Code = "KH 01" }, apperr.Invalid, []string{"code: matter-code"}},
			{"code too long", f.bankStaff, func(m *use.NewMatter) { m.Code = strings.Repeat("A", 33) }, apperr.Invalid, []string{"code: matter-code"}},
			{"code ending in a hyphen", f.bankStaff, func(m *use.NewMatter) { m.Code = "KH-" }, apperr.Invalid, []string{"code: matter-code"}},
			{"no name, no legal basis", f.bankStaff, func(m *use.NewMatter) { m.Name, m.LegalBasis = " ", "" }, apperr.Invalid,
				[]string{"name: required", "legal_basis: required"}},
			{"a control character in the name", f.bankStaff, func(m *use.NewMatter) { m.Name = "开户\x07" }, apperr.Invalid, []string{"name: no-control"}},
			{"no needs", f.bankStaff, func(m *use.NewMatter) { m.Needs = nil }, apperr.Invalid, []string{"needs: required"}},
			{"a type named twice", f.bankStaff, func(m *use.NewMatter) {
				m.Needs = append(m.Needs, use.Need{TypeCode: "bl0001", Fields: []string{"domicile"}})
			}, apperr.Invalid, []string{"needs[1].type: unique"}},
			{"no fields", f.bankStaff, func(m *use.NewMatter) { m.Needs[0].Fields = nil }, apperr.Invalid, []string{"needs[0].fields: required"}},
			{"a field named twice", f.bankStaff, func(m *use.NewMatter) { m.Needs[0].Fields = []string{"name", "name"} }, apperr.Invalid,
				[]string{"needs[0].fields[1]: unique"}},
			{"a field not in the template", f.bankStaff, func(m *use.NewMatter) { m.Needs[0].Fields = []string{"name", "blood_type"} }, apperr.Invalid,
				[]string{"needs[0].fields[1]: template-field"}},
			{"an unknown type", f.bankStaff, func(m *use.NewMatter) { m.Needs[0].TypeCode = "ZZ0009" }, apperr.Invalid, []string{"needs[0].type: exists"}},
			{"a type without an approved version", f.bankStaff, func(m *use.NewMatter) { m.Needs[0].TypeCode = "TP0001" }, apperr.Invalid,
				[]string{"needs[0].type: approved"}},
			{"the operator for an issuer", nil, func(m *use.NewMatter) { m.Org = f.issuer }, apperr.Invalid, []string{"org: using-unit-kind"}},
			{"the operator for a bad credit code", nil, func(m *use.NewMatter) { m.Org = "91350100M000100Y44" }, apperr.Invalid, []string{"org: check-character"}},
			{"the operator for no unit", nil, func(m *use.NewMatter) { m.Org = "" }, apperr.Invalid, []string{"org: required"}},
			{"another unit's staff", f.hotelStaff, func(m *use.NewMatter) { m.Org = f.bank }, apperr.Forbidden, []string{"org: own-org"}},
			{"an issuer", f.issuerStaff, func(*use.NewMatter) {}, apperr.Forbidden, []string{"org: own-org"}},
			{"a platform admin", f.admin1, func(m *use.NewMatter) { m.Org = f.bank }, apperr.Forbidden, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := matter("KH-001")
				m.Needs = slices.Clone(m.Needs)
				tt.edit(&m)
				_, err := f.svc.CreateMatter(ctx, tt.actor, m)
				wantErr(t, err, tt.kind, tt.want...)
			})
		}
		p, err := f.svc.ListMatters(ctx, nil, use.MatterFilter{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 || len(useActions(t, db)) != 0 {
			t.Fatalf("refused matters left %d matters and audit entries %q", len(p.Items), useActions(t, db))
		}
	})
}

// TestMatterVersions walks a matter through its versions: the first is not
// usable before approval; a change leaves the approved version usable
// until it is approved itself; a newer change supersedes a pending one; a
// refusal keeps the usable version; nobody reviews twice or their own
// version, and only the platform operator reviews. Each step is audited.
func TestMatterVersions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		v, err := f.svc.CreateMatter(ctx, f.bankStaff, matter(" kh-001 "))
		if err != nil {
			t.Fatal(err)
		}
		if v.Org != f.bank || v.Code != "KH-001" || v.Number != 1 || v.State != use.Pending || v.Author != f.bankStaff.AccountID {
			t.Fatalf("created %+v", v)
		}
		_, err = f.svc.CreateMatter(ctx, f.bankStaff, matter("KH-001"))
		wantErr(t, err, apperr.Conflict, "code: unique")
		// Codes are per unit: the hotel may use the same one.
		if _, err := f.svc.CreateMatter(ctx, f.hotelStaff, matter("KH-001")); err != nil {
			t.Fatal(err)
		}
		_, err = use.UsableMatter(ctx, db, f.bank, "KH-001")
		wantErr(t, err, apperr.Conflict, "matter: approved")

		_, err = f.svc.Approve(ctx, f.bankStaff, f.bank, "KH-001", 1, "")
		wantErr(t, err, apperr.Forbidden)
		_, err = f.svc.Approve(ctx, f.auditor, f.bank, "KH-001", 1, "")
		wantErr(t, err, apperr.Forbidden)
		_, err = f.svc.Approve(ctx, f.admin1, f.bank, "KH-001", 7, "")
		wantErr(t, err, apperr.NotFound, "version: exists")
		_, err = f.svc.Approve(ctx, f.admin1, f.bank, "KH-404", 1, "")
		wantErr(t, err, apperr.NotFound, "matter: exists")
		_, err = f.svc.Refuse(ctx, f.admin1, f.bank, "KH-001", 1, " ")
		wantErr(t, err, apperr.Invalid, "reason: required")
		if v, err = f.svc.Approve(ctx, f.admin1, f.bank, "kh-001", 1, "依据充分"); err != nil {
			t.Fatal(err)
		}
		if v.State != use.Approved || v.DecidedBy != f.admin1.AccountID || v.Reason != "依据充分" || !v.DecidedAt.Equal(f.now()) {
			t.Fatalf("approved %+v", v)
		}
		_, err = f.svc.Approve(ctx, f.admin2, f.bank, "KH-001", 1, "")
		wantErr(t, err, apperr.Conflict, "state: transition")
		if u, err := use.UsableMatter(ctx, db, f.bank, "KH-001"); err != nil || u.Number != 1 {
			t.Fatalf("usable version %+v, %v; want 1", u, err)
		}

		// A change is a new version; the approved one stays usable.
		change := matter("").Content
		change.Needs = []use.Need{{TypeCode: "BL0001", Fields: []string{"credit_code", "name", "legal_representative"}}}
		_, err = f.svc.ChangeMatter(ctx, f.hotelStaff, f.bank, "KH-001", change)
		wantErr(t, err, apperr.Forbidden, "org: own-org")
		_, err = f.svc.ChangeMatter(ctx, f.bankStaff, f.bank, "KH-404", change)
		wantErr(t, err, apperr.NotFound, "matter: exists")
		bad := change
		bad.Needs = []use.Need{{TypeCode: "BL0001", Fields: []string{"photo"}}}
		_, err = f.svc.ChangeMatter(ctx, f.bankStaff, f.bank, "KH-001", bad)
		wantErr(t, err, apperr.Invalid, "needs[0].fields[0]: template-field")
		v2, err := f.svc.ChangeMatter(ctx, f.bankStaff, f.bank, "KH-001", change)
		if err != nil {
			t.Fatal(err)
		}
		if v2.Number != 2 || v2.State != use.Pending {
			t.Fatalf("change %+v", v2)
		}
		if u, err := use.UsableMatter(ctx, db, f.bank, "KH-001"); err != nil || u.Number != 1 || len(u.Needs[0].Fields) != 2 {
			t.Fatalf("usable version during review %+v, %v; want 1", u, err)
		}
		// A newer change supersedes the pending one.
		f.advance(1)
		v3, err := f.svc.ChangeMatter(ctx, f.bankStaff, f.bank, "KH-001", change)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.GetVersion(ctx, f.bankStaff, f.bank, "KH-001", 2); err != nil || got.State != use.Superseded {
			t.Fatalf("version 2 after version 3: %+v, %v", got, err)
		}
		_, err = f.svc.Approve(ctx, f.admin1, f.bank, "KH-001", 2, "")
		wantErr(t, err, apperr.Conflict, "state: transition")
		if _, err := f.svc.Refuse(ctx, f.admin1, f.bank, "KH-001", v3.Number, "法定代表人姓名不是该事项必需"); err != nil {
			t.Fatal(err)
		}
		m, err := f.svc.GetMatter(ctx, f.bankStaff, f.bank, "KH-001")
		if err != nil || m.Latest != 3 || m.Approved != 1 {
			t.Fatalf("matter after refusal %+v, %v; want latest 3, approved 1", m, err)
		}
		v4, err := f.svc.ChangeMatter(ctx, f.bankStaff, f.bank, "KH-001", change)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, f.admin2, f.bank, "KH-001", v4.Number, ""); err != nil {
			t.Fatal(err)
		}
		if u, err := use.UsableMatter(ctx, db, f.bank, "KH-001"); err != nil || u.Number != 4 || len(u.Needs[0].Fields) != 3 {
			t.Fatalf("usable version %+v, %v; want 4", u, err)
		}

		// The operator on the host lists a matter and is not its reviewer.
		op, err := f.svc.CreateMatter(ctx, nil, use.NewMatter{Org: f.hotel, Code: "RZ-1", Content: matter("").Content})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Approve(ctx, nil, f.hotel, op.Code, 1, "")
		wantErr(t, err, apperr.Forbidden, "by: four-eyes")

		want := []string{"use.matter-proposed", "use.matter-proposed", "use.matter-approved", "use.matter-proposed", "use.matter-proposed",
			"use.matter-refused", "use.matter-proposed", "use.matter-approved", "use.matter-proposed"}
		if got := useActions(t, db); !slices.Equal(got, want) {
			t.Fatalf("audit actions %q, want %q", got, want)
		}
	})
}

// TestMatterReads: a unit's staff read their own unit's matters only,
// platform admins and auditors every unit's; lists page and filter.
func TestMatterReads(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		for i := range 3 {
			if _, err := f.svc.CreateMatter(ctx, f.bankStaff, matter(fmt.Sprintf("KH-%03d", i))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.svc.CreateMatter(ctx, f.hotelStaff, matter("RZ-001")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, f.admin1, f.bank, "KH-001", 1, ""); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.GetMatter(ctx, f.hotelStaff, f.bank, "KH-001")
		wantErr(t, err, apperr.Forbidden, "org: own-org")
		_, err = f.svc.GetVersion(ctx, f.hotelStaff, f.bank, "KH-001", 1)
		wantErr(t, err, apperr.Forbidden, "org: own-org")
		_, err = f.svc.GetMatter(ctx, f.issuerStaff, f.bank, "KH-001")
		wantErr(t, err, apperr.Forbidden)
		_, err = f.svc.ListMatters(ctx, f.hotelStaff, use.MatterFilter{Org: f.bank}, "")
		wantErr(t, err, apperr.Forbidden, "org: own-org")

		count := func(actor *authz.Actor, flt use.MatterFilter) int {
			t.Helper()
			n, cursor := 0, ""
			for {
				flt.Limit = 1
				p, err := f.svc.ListMatters(ctx, actor, flt, cursor)
				if err != nil {
					t.Fatal(err)
				}
				n += len(p.Items)
				if cursor = p.Next; cursor == "" {
					return n
				}
			}
		}
		for _, c := range []struct {
			name  string
			actor *authz.Actor
			f     use.MatterFilter
			want  int
		}{
			{"the hotel's own", f.hotelStaff, use.MatterFilter{}, 1},
			{"the bank's own", f.bankStaff, use.MatterFilter{}, 3},
			{"the bank's usable", f.bankStaff, use.MatterFilter{Usable: true}, 1},
			{"all, to an auditor", f.auditor, use.MatterFilter{}, 4},
			{"the bank's, to an admin", f.admin2, use.MatterFilter{Org: f.bank}, 3},
		} {
			if got := count(c.actor, c.f); got != c.want {
				t.Errorf("%s: %d matters, want %d", c.name, got, c.want)
			}
		}
		pending, err := f.svc.ListVersions(ctx, f.admin1, use.VersionFilter{State: use.Pending, Limit: 2}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(pending.Items) != 2 || pending.Next == "" {
			t.Fatalf("first page of pending versions: %+v", pending)
		}
		rest, err := f.svc.ListVersions(ctx, f.admin1, use.VersionFilter{State: use.Pending, Limit: 2}, pending.Next)
		if err != nil || len(rest.Items) != 1 || rest.Next != "" {
			t.Fatalf("second page of pending versions: %+v, %v", rest, err)
		}
		own, err := f.svc.ListVersions(ctx, f.hotelStaff, use.VersionFilter{State: use.Pending}, "")
		if err != nil || len(own.Items) != 1 || own.Items[0].Org != f.hotel {
			t.Fatalf("the hotel's pending versions: %+v, %v", own, err)
		}
		_, err = f.svc.ListVersions(ctx, f.admin1, use.VersionFilter{Org: f.bank, Code: "KH-404"}, "")
		wantErr(t, err, apperr.NotFound, "matter: exists")
	})
}

// TestConcurrentApprovals: of twenty simultaneous approvals of one version
// exactly one succeeds and the others are Conflicts, with one audit entry.
func TestConcurrentApprovals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		if _, err := f.svc.CreateMatter(ctx, f.bankStaff, matter("KH-001")); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		kinds := map[apperr.Kind]int{}
		storetest.Race(20, func(i int) {
			admin := f.admin1
			if i%2 == 1 {
				admin = f.admin2
			}
			_, err := f.svc.Approve(ctx, admin, f.bank, "KH-001", 1, "")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				kinds[""]++
				return
			}
			kinds[apperr.KindOf(err)]++
			if apperr.KindOf(err) != apperr.Conflict {
				t.Errorf("approval: %v", err)
			}
		})
		if kinds[""] != 1 || kinds[apperr.Conflict] != 19 {
			t.Fatalf("twenty approvals: %v, want one success and nineteen conflicts", kinds)
		}
		approved := 0
		for _, a := range useActions(t, db) {
			if a == "use.matter-approved" {
				approved++
			}
		}
		if approved != 1 {
			t.Fatalf("%d approvals audited, want 1", approved)
		}
	})
}

// TestConcurrentMatterWrites: twenty units' staff listing matters at once
// all succeed, twenty listings of one code make one matter, and twenty
// simultaneous changes of one matter each get their own version number,
// leaving exactly one pending and the others superseded.
func TestConcurrentMatterWrites(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		var mu sync.Mutex
		errs := map[apperr.Kind]int{}
		count := func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				errs[""]++
				return
			}
			errs[apperr.KindOf(err)]++
			if apperr.KindOf(err) != apperr.Conflict {
				t.Errorf("unexpected: %v", err)
			}
		}
		storetest.Race(20, func(i int) {
			staff := f.bankStaff
			if i%2 == 1 {
				staff = f.hotelStaff
			}
			_, err := f.svc.CreateMatter(ctx, staff, matter(fmt.Sprintf("M-%02d", i)))
			count(err)
		})
		if errs[""] != 20 {
			t.Fatalf("twenty distinct matters: %v, want twenty made", errs)
		}
		clear(errs)
		storetest.Race(20, func(int) {
			_, err := f.svc.CreateMatter(ctx, f.bankStaff, matter("SAME"))
			count(err)
		})
		if errs[""] != 1 || errs[apperr.Conflict] != 19 {
			t.Fatalf("twenty listings of one code: %v, want one made and nineteen conflicts", errs)
		}
		clear(errs)
		before := db.Retries()
		storetest.Race(20, func(int) {
			_, err := f.svc.ChangeMatter(ctx, f.bankStaff, f.bank, "SAME", matter("").Content)
			count(err)
		})
		if errs[""] != 20 {
			t.Fatalf("twenty changes of one matter: %v, want twenty versions", errs)
		}
		// Changes of one matter collide by design; the figure shows how much.
		t.Logf("twenty changes of one matter: %d store retries", db.Retries()-before)
		p, err := f.svc.ListVersions(ctx, f.auditor, use.VersionFilter{Org: f.bank, Code: "SAME"}, "")
		if err != nil {
			t.Fatal(err)
		}
		states := map[use.State]int{}
		for i, v := range p.Items {
			if v.Number != i+1 {
				t.Fatalf("version %d at position %d", v.Number, i)
			}
			states[v.State]++
		}
		if len(p.Items) != 21 || states[use.Pending] != 1 || states[use.Superseded] != 20 || p.Items[20].State != use.Pending {
			t.Fatalf("versions after twenty changes: %d, %v; want 21, the last pending and the others superseded", len(p.Items), states)
		}
	})
}
