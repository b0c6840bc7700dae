package use_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// useFixture is the fixture with licenses to use: residence permits of
// persons 1 and 2 and a business license, issued under a bound seal; the
// bank's approved matter HOTEL-1 needing three permit fields and the
// business license's name; the bank granted the permit and the food
// business permit (which the matter does not need), not the business
// license.
type useFixture struct {
	fixture
	permit1, permit2 license.License
	business         license.License
	holder1          *authz.Actor
	id1, id2         string
}

const companyID = "91350100M000100Y43" // the business license sample's

// personID is the citizen ID number of person n.
func personID(t testing.TB, n int) string {
	first17 := "11010519491231" + fmt.Sprintf("%03d", n)
	c, err := ids.CitizenIDCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	return first17 + string(c)
}

func setupUse(t testing.TB, db *store.DB) useFixture {
	t.Helper()
	ctx := context.Background()
	f := useFixture{fixture: setup(t, db)}
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]json.RawMessage{}
	for _, d := range defs {
		samples[d.Type.Code] = d.Sample
		if d.Type.Code == "BL0001" {
			continue
		}
		d.Type.AnyIssuer, d.Type.Issuers = true, nil
		if _, err := f.p.Catalog.DefineType(ctx, nil, d.Type); err != nil {
			t.Fatal(err)
		}
		v, err := f.p.Catalog.ProposeVersion(ctx, nil, d.Type.Code, d.Template)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Catalog.Approve(ctx, f.admin1, d.Type.Code, v.Number, ""); err != nil {
			t.Fatal(err)
		}
	}
	account := func(orgCode, name string, r authz.Role) *authz.Actor {
		a, err := f.p.Orgs.CreateAccount(ctx, org.NewAccount{Org: orgCode, Name: name, Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Actor{AccountID: a.ID, Org: orgCode, Roles: a.Roles}
	}
	admin, keeper := account(f.issuer, "org-admin", authz.OrgAdmin), account(f.issuer, "keeper", authz.SealKeeper)
	approver := account(f.platform, "approver", authz.SealApprover)
	if _, err := f.p.PKI.InitRoot(ctx, f.platform, "root", "平台根证书", "", 20); err != nil {
		t.Fatal(err)
	}
	a, err := f.p.Seals.Apply(ctx, admin, seal.NewApplication{Org: f.issuer, Action: seal.Make, SealKind: seal.LicenseIssuing, Name: "证照专用章",
		Reason: "签发电子证照", Image: seal.SampleImage(), WidthMM: 40, HeightMM: 40, Keepers: []string{keeper.AccountID}, Justification: "测试"})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = f.p.Seals.Decide(ctx, approver, a.ID, true, "同意"); err != nil {
		t.Fatal(err)
	}
	b, err := f.p.Seals.Apply(ctx, admin, seal.NewApplication{Org: f.issuer, Action: seal.Bind, SealID: a.SealID, Reason: "证照签发"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Seals.Decide(ctx, approver, b.ID, true, "同意"); err != nil {
		t.Fatal(err)
	}
	issue := func(typeCode, holderID, name string, face json.RawMessage) license.License {
		got, err := f.p.Licenses.Issue(ctx, f.issuerStaff, license.NewLicense{Type: typeCode, HolderID: holderID, HolderName: name, Face: face})
		if err != nil {
			t.Fatalf("issue %s: %v", typeCode, err)
		}
		l, err := f.p.Licenses.Get(ctx, f.issuerStaff, got.License.ID)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	f.id1, f.id2 = personID(t, 1), personID(t, 2)
	f.permit1 = issue("PC0001", f.id1, "王建国", []byte(strings.Replace(string(samples["PC0001"]), "11010519491231002x", f.id1, 1)))
	f.permit2 = issue("PC0001", f.id2, "王建国", []byte(strings.Replace(string(samples["PC0001"]), "11010519491231002x", f.id2, 1)))
	f.business = issue("BL0001", companyID, "福州闽江示例科技有限公司", samples["BL0001"])
	f.holder1 = &authz.Actor{Holder: &authz.Holder{ID: "hol_000000000000000000000001", Kind: string(f.permit1.HolderKind),
		Index: f.permit1.HolderIndex, Name: "王建国"}}

	if _, err := f.svc.CreateMatter(ctx, f.bankStaff, use.NewMatter{Code: "HOTEL-1", Content: use.Content{Name: "旅客住宿登记",
		LegalBasis: "《旅馆业治安管理办法》第六条", Needs: []use.Need{
			{TypeCode: "PC0001", Fields: []string{"name", "citizen_id", "issuing_authority"}},
			{TypeCode: "BL0001", Fields: []string{"name"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, f.admin1, f.bank, "HOTEL-1", 1, ""); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"PC0001", "FP0001"} {
		if _, err := f.svc.GrantType(ctx, f.admin1, use.NewTypeGrant{Org: f.bank, TypeCode: typ}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// auditTail returns the actions of the audit entries after the first n.
func auditTail(t *testing.T, db *store.DB, n int) []auditlog.Entry {
	t.Helper()
	all, _ := storetest.AuditEntries(t, db)
	return all[n:]
}

func auditCount(t *testing.T, db *store.DB) int {
	t.Helper()
	all, _ := storetest.AuditEntries(t, db)
	return len(all)
}

// fieldsOf renders a used license's fields as key=value (masked).
func fieldsOf(l use.UsedLicense) []string {
	var out []string
	for k, f := range l.Fields {
		s := fmt.Sprintf("%s=%v", k, f.Value)
		if f.Masked {
			s += " (masked)"
		}
		if f.Unmasked {
			s += " (unmasked)"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestScopedUse: a unit obtains exactly the fields its approved matter
// needs of the licenses in force of the one holder it names, of types it
// is granted, masked unless the holder authorized it; each license
// returned is audited without values or the holder's identifier.
func TestScopedUse(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setupUse(t, db)
		ctx := context.Background()
		before := auditCount(t, db)
		r, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "hotel-1", HolderID: f.id1})
		if err != nil {
			t.Fatal(err)
		}
		if r.MatterVersion != 1 || len(r.Licenses) != 1 || r.Licenses[0].ID != f.permit1.ID {
			t.Fatalf("use = %+v, want holder 1's permit only under version 1", r)
		}
		masked := []string{"citizen_id=110***********0018 (masked)", "issuing_authority=福州市公安局台江分局", "name=王** (masked)"}
		masked[0] = "citizen_id=" + f.id1[:3] + strings.Repeat("*", 11) + f.id1[14:] + " (masked)"
		if got := fieldsOf(r.Licenses[0]); !slices.Equal(got, masked) {
			t.Fatalf("fields = %q, want %q", got, masked)
		}
		entries := auditTail(t, db, before)
		if len(entries) != 1 || entries[0].Action != use.UsedAction || entries[0].Subject != f.permit1.ID || entries[0].Org != f.issuer ||
			entries[0].Actor != f.bankStaff.AccountID || entries[0].Details["fields"] != "citizen_id,issuing_authority,name" ||
			entries[0].Details["unmasked"] != "" || entries[0].Details["matter"] != "HOTEL-1" || entries[0].Details["matter_version"] != "1" {
			t.Fatalf("audit = %+v", entries)
		}
		for _, e := range entries {
			for _, v := range e.Details {
				if strings.Contains(v, f.id1) || strings.Contains(v, "王") {
					t.Fatalf("audit entry %+v holds the holder's data", e)
				}
			}
		}

		// The holder authorizes the unit for the matter by its code; the
		// newest grant in force counts. A grant cannot name another unit's
		// matter.
		until := f.now().Add(30 * 24 * time.Hour)
		for _, g := range []license.NewGrant{
			{LicenseID: f.permit1.ID, Org: f.bank, Matter: "HOTEL-1", Fields: []string{"citizen_id"}, ValidUntil: until},
			{LicenseID: f.permit1.ID, Org: f.bank, Matter: " hotel-1 ", Fields: []string{"citizen_id", "name", "sex"}, ValidUntil: until},
		} {
			if _, err := f.p.Licenses.Grant(ctx, f.holder1, g); err != nil {
				t.Fatal(err)
			}
			f.advance(time.Second)
		}
		if _, err := f.p.Licenses.Grant(ctx, f.holder1, license.NewGrant{LicenseID: f.permit1.ID, Org: f.hotel, Matter: "HOTEL-1",
			Fields: []string{"ethnicity"}, ValidUntil: until}); apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("a grant naming another unit's matter: %v", err)
		}
		before = auditCount(t, db)
		r, err = f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: strings.ToLower(f.id1), TypeCode: "pc0001"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"citizen_id=" + f.id1 + " (unmasked)", "issuing_authority=福州市公安局台江分局", "name=王建国 (unmasked)"}
		if len(r.Licenses) != 1 || !slices.Equal(fieldsOf(r.Licenses[0]), want) {
			t.Fatalf("authorized use = %+v, want %q", r, want)
		}
		if e := auditTail(t, db, before); len(e) != 1 || e[0].Details["unmasked"] != "citizen_id,name" {
			t.Fatalf("audit = %+v", e)
		}

		// A change of the matter waiting for review changes nothing.
		if _, err := f.svc.ChangeMatter(ctx, f.bankStaff, f.bank, "HOTEL-1", use.Content{Name: "旅客住宿登记", LegalBasis: "依据",
			Needs: []use.Need{{TypeCode: "PC0001", Fields: []string{"sex", "photo"}}}}); err != nil {
			t.Fatal(err)
		}
		r, err = f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1})
		if err != nil || r.MatterVersion != 1 || !slices.Equal(fieldsOf(r.Licenses[0]), want) {
			t.Fatalf("use with a change pending = %+v, %v", r, err)
		}

		// A license ended is no longer used; the other holder's remains
		// theirs. Holder 2's permit is returned to a query of holder 2 only.
		r, err = f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id2})
		if err != nil || len(r.Licenses) != 1 || r.Licenses[0].ID != f.permit2.ID {
			t.Fatalf("holder 2 = %+v, %v", r, err)
		}
		f.advance(400 * 24 * time.Hour) // past the permits' one year
		before = auditCount(t, db)
		r, err = f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1})
		if err != nil || len(r.Licenses) != 0 {
			t.Fatalf("an expired permit used: %+v, %v", r, err)
		}
		if e := auditTail(t, db, before); len(e) != 1 || e[0].Action != use.EmptyAction || e[0].Org != f.bank || e[0].Details["reason"] != "no-license" {
			t.Fatalf("audit of an empty use = %+v", e)
		}
	})
}

// TestScopedUseRefusals: what a unit may not obtain is refused (403,
// audited under the unit in an entry of its own, nothing else written),
// found empty, or rejected as malformed (422, nothing written).
func TestScopedUseRefusals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setupUse(t, db)
		ctx := context.Background()
		if _, err := f.svc.CreateMatter(ctx, f.bankStaff, use.NewMatter{Code: "DRAFT", Content: use.Content{Name: "草稿", LegalBasis: "依据",
			Needs: []use.Need{{TypeCode: "PC0001", Fields: []string{"name"}}}}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			actor *authz.Actor
			q     use.Query
			kind  apperr.Kind
			want  []string
			audit string // the action of the one entry written, or none
		}{
			{"another unit's matter", f.hotelStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1}, apperr.Forbidden, []string{"matter: exists"}, use.RefusedAction},
			{"a matter not approved", f.bankStaff, use.Query{Matter: "DRAFT", HolderID: f.id1}, apperr.Forbidden, []string{"matter: approved"}, use.RefusedAction},
			{"no such matter", f.bankStaff, use.Query{Matter: "NONE", HolderID: f.id1}, apperr.Forbidden, []string{"matter: exists"}, use.RefusedAction},
			{"a type not granted", f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: companyID, TypeCode: "BL0001"}, apperr.Forbidden,
				[]string{"type: type-granted"}, use.RefusedAction},
			{"a type the matter does not need", f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1, TypeCode: "FP0001"}, apperr.Forbidden,
				[]string{"type: matter-needs"}, use.RefusedAction},
			{"a bad check character", f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1[:17] + "0"}, apperr.Invalid,
				[]string{"holder_id: check-character"}, ""},
			{"no holder", f.bankStaff, use.Query{Matter: "HOTEL-1"}, apperr.Invalid, []string{"holder_id: required"}, ""},
			{"a bad matter code", f.bankStaff, use.Query{Matter: "-X", HolderID: f.id1}, apperr.Invalid, []string{"matter: matter-code"}, ""},
			{"an issuer", f.issuerStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1}, apperr.Forbidden, nil, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := auditCount(t, db)
				_, err := f.svc.Use(ctx, c.actor, c.q)
				wantErr(t, err, c.kind, c.want...)
				e := auditTail(t, db, before)
				if c.audit == "" {
					if len(e) != 0 {
						t.Fatalf("audited %+v", e)
					}
					return
				}
				if len(e) != 1 || e[0].Action != c.audit || e[0].Org != c.actor.Org || e[0].Actor != c.actor.AccountID || e[0].Details["reason"] == "" {
					t.Fatalf("audit = %+v, want one %s", e, c.audit)
				}
				for _, v := range append(mapsValues(e[0].Details), e[0].Subject) {
					if strings.Contains(v, f.id1) || strings.Contains(v, companyID) {
						t.Fatalf("refusal entry %+v names the holder", e[0])
					}
				}
			})
		}
		// The company holds a business license the matter needs, but the
		// bank has no grant of the type: nothing of it is returned.
		r, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: companyID})
		if err != nil || len(r.Licenses) != 0 {
			t.Fatalf("a type not granted returned: %+v, %v", r, err)
		}
		// An unknown holder is an empty answer.
		r, err = f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: personID(t, 9)})
		if err != nil || len(r.Licenses) != 0 || r.Licenses == nil || r.Org != f.bank || r.Matter != "HOTEL-1" || r.MatterVersion != 1 {
			t.Fatalf("an unknown holder = %+v, %v", r, err)
		}
		// Once granted, the business license's name is all that is returned.
		if _, err := f.svc.GrantType(ctx, f.admin1, use.NewTypeGrant{Org: f.bank, TypeCode: "BL0001"}); err != nil {
			t.Fatal(err)
		}
		r, err = f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: companyID})
		if err != nil || len(r.Licenses) != 1 || !slices.Equal(fieldsOf(r.Licenses[0]), []string{"name=福州闽江示例科技有限公司"}) {
			t.Fatalf("granted business license = %+v, %v", r, err)
		}
	})
}

func mapsValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestConcurrentUses: twenty simultaneous uses all answer and each is
// audited once.
func TestConcurrentUses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setupUse(t, db)
		ctx := context.Background()
		before := auditCount(t, db)
		var mu sync.Mutex
		var errs []error
		storetest.Race(20, func(i int) {
			id := f.id1
			if i%2 == 1 {
				id = f.id2
			}
			r, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: id})
			if err == nil && len(r.Licenses) != 1 {
				err = fmt.Errorf("%d licenses", len(r.Licenses))
			}
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		used := 0
		for _, e := range auditTail(t, db, before) {
			if e.Action == use.UsedAction {
				used++
			}
		}
		if used != 20 {
			t.Fatalf("%d uses audited, want 20", used)
		}
	})
}

// TestUseRateLimit: a unit over its bucket is refused with when to retry,
// writes nothing, and another unit is not held back.
func TestUseRateLimit(t *testing.T) {
	db := storetest.OpenSQLite(t)
	f := setupUse(t, db)
	ctx := context.Background()
	svc := use.New(use.Deps{Store: db, Tx: db.UseTx, Query: db.UseQueryTx, Orgs: f.p.Orgs, Catalog: f.p.Catalog, Now: f.now, Rate: 0.5, Burst: 2})
	for i := range 2 {
		if _, err := svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1}); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	before := auditCount(t, db)
	_, err := svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1})
	if apperr.KindOf(err) != apperr.RateLimited {
		t.Fatalf("third use: %v, want rate-limited", err)
	}
	if s, ok := use.RetryAfter(err); !ok || s != 2 {
		t.Fatalf("retry after %d s (%v), want 2", s, ok)
	}
	if n := auditCount(t, db); n != before {
		t.Fatalf("a rate-limited use wrote %d audit entries", n-before)
	}
	if _, err := svc.Use(ctx, f.hotelStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1}); apperr.KindOf(err) != apperr.Forbidden {
		t.Fatalf("another unit: %v, want its own refusal, not the bank's limit", err)
	}
	f.advance(2 * time.Second)
	if _, err := svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1}); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// BenchmarkScopedUse measures one use of one permit, masked, with its
// audit entry, on the embedded store (-cpu sets the clients).
func BenchmarkScopedUse(b *testing.B) {
	db := storetest.OpenSQLite(b)
	f := setupUse(b, db)
	ctx := context.Background()
	svc := use.New(use.Deps{Store: db, Tx: db.UseTx, Query: db.UseQueryTx, Orgs: f.p.Orgs, Catalog: f.p.Catalog, Now: f.now, Rate: 1e9, Burst: 1 << 30})
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, err := svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1}); err != nil || len(r.Licenses) != 1 {
				b.Errorf("use: %v, %+v", err, r)
				return
			}
		}
	})
}
