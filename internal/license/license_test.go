package license_test

import (
	"context"
	"encoding/json"
	"errors"
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
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	clk            *clock
	p              *platform.Platform
	db             *store.DB
	issuerOrg      string
	otherOrg       string
	issuer, other  *authz.Actor
	admin, keeper  *authz.Actor
	approver       *authz.Actor
	sealID         string
	personSample   json.RawMessage
	businessSample json.RawMessage
}

// setup builds a platform with an issuing organization whose bound
// license-issuing seal signs, the residence permit PC0001 (any issuer,
// persons, fixed validity) and the business license BL0001 issued only by
// another organization.
func setup(t testing.TB, db *store.DB) fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	p, err := platform.New(db, platform.Options{Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	code := func(n string) string {
		c, err := ids.NewCreditCode('1', '1', "350100", n)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	plat, issuerOrg, otherOrg := code("MB000001"), code("MB000002"), code("MB000003")
	for _, o := range []org.NewOrg{
		{CreditCode: plat, Name: "平台", Kinds: []org.Kind{org.KindPlatform}},
		{CreditCode: issuerOrg, Name: "福州市公安局", Kinds: []org.Kind{org.KindIssuer, org.KindSealUser}, Parent: plat},
		{CreditCode: otherOrg, Name: "福州市市场监督管理局", Kinds: []org.Kind{org.KindIssuer, org.KindSealUser}, Parent: plat},
	} {
		o.Region, o.Responsible = "350100", org.Responsible{Name: "张三", Phone: "13800000000"}
		if _, err := p.Orgs.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	actor := func(orgCode, name string, r authz.Role) *authz.Actor {
		a, err := p.Orgs.CreateAccount(ctx, org.NewAccount{Org: orgCode, Name: name, Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Actor{AccountID: a.ID, Org: orgCode, Roles: a.Roles}
	}
	f := fixture{clk: clk, p: p, db: db, issuerOrg: issuerOrg, otherOrg: otherOrg,
		issuer: actor(issuerOrg, "issuer", authz.Issuer), other: actor(otherOrg, "issuer-b", authz.Issuer),
		admin: actor(issuerOrg, "admin", authz.OrgAdmin), keeper: actor(issuerOrg, "keeper", authz.SealKeeper),
		approver: actor(plat, "approver", authz.SealApprover)}
	platformAdmin := actor(plat, "platform-admin", authz.PlatformAdmin)
	if _, err := p.PKI.InitRoot(ctx, plat, "root", "平台根证书", "", 20); err != nil {
		t.Fatal(err)
	}
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		switch d.Type.Code {
		case "PC0001":
			f.personSample = d.Sample
		case "BL0001":
			d.Type.AnyIssuer, d.Type.Issuers = false, []string{otherOrg}
			f.businessSample = d.Sample
		default:
			continue
		}
		if _, err := p.Catalog.DefineType(ctx, nil, d.Type); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Catalog.ProposeVersion(ctx, nil, d.Type.Code, d.Template); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Catalog.Approve(ctx, platformAdmin, d.Type.Code, 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	f.sealID = f.makeSeal(t)
	f.decide(t, seal.Bind, f.sealID, seal.BindTerms{})
	return f
}

func (f fixture) makeSeal(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	a, err := f.p.Seals.Apply(ctx, f.admin, seal.NewApplication{Org: f.issuerOrg, Action: seal.Make, SealKind: seal.LicenseIssuing, Name: "证照专用章",
		Reason: "签发电子证照", Image: seal.SampleImage(), WidthMM: 40, HeightMM: 40, Keepers: []string{f.keeper.AccountID}, Justification: "测试"})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = f.p.Seals.Decide(ctx, f.approver, a.ID, true, "同意"); err != nil {
		t.Fatal(err)
	}
	return a.SealID
}

func (f fixture) decide(t testing.TB, action seal.Action, id string, terms seal.BindTerms) {
	t.Helper()
	ctx := context.Background()
	a, err := f.p.Seals.Apply(ctx, f.admin, seal.NewApplication{Org: f.issuerOrg, Action: action, SealID: id, Reason: "证照签发", Binding: terms})
	if err != nil {
		t.Fatalf("apply %s: %v", action, err)
	}
	if _, err := f.p.Seals.Decide(ctx, f.approver, a.ID, true, "同意"); err != nil {
		t.Fatalf("approve %s: %v", action, err)
	}
}

func (f fixture) permit() license.NewLicense {
	return license.NewLicense{Type: "PC0001", HolderID: "11010519491231002x", HolderName: "王建国", Face: f.personSample}
}

// counts is what issuance writes, read back through the store: licenses,
// seal uses of the fixture's seal, audit entries and outbox events.
func (f fixture) counts(t *testing.T) [4]int {
	t.Helper()
	ctx := context.Background()
	ls, err := f.db.ListLicenses(ctx, license.Filter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	uses, err := f.p.Seals.Uses(ctx, f.sealID)
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.db.AuditPending(ctx, "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	// Refusals and reads are logged (refusals and reads count those
	// entries); the rest of what was written is counted here.
	audit := slices.DeleteFunc(all, func(e auditlog.Entry) bool {
		return e.Action == license.RefusedAction || e.Action == license.ReadAction
	})
	events, err := f.db.ListOutbox(ctx, notify.Filter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return [4]int{len(ls), len(uses), len(audit), len(events)}
}

// refusals counts the audit entries of refused requests.
func (f fixture) refusals(t *testing.T) int {
	t.Helper()
	all, err := f.db.AuditPending(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range all {
		if e.Action == license.RefusedAction {
			n++
		}
	}
	return n
}

func rules(err error) []string {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return nil
	}
	var out []string
	for _, fe := range ae.Fields {
		out = append(out, fe.Field+": "+fe.Rule)
	}
	slices.Sort(out)
	return out
}

func TestIssue(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		before := f.counts(t)
		got, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
		if err != nil {
			t.Fatal(err)
		}
		after := f.counts(t)
		// One license, one seal use, two audit entries (the signature and
		// the issuance) and one event.
		if want := [4]int{before[0] + 1, before[1] + 1, before[2] + 2, before[3] + 1}; after != want {
			t.Errorf("licenses, uses, audit entries, events = %v, want %v", after, want)
		}
		l := got.License
		if err := ids.ValidateLicenseID(l.ID); err != nil || l.ID[:6] != "PC0001" || l.ID[6:24] != f.issuerOrg {
			t.Errorf("identifier %s: %v", l.ID, err)
		}
		if l.Number != "350100202600000001" {
			t.Errorf("number %s, want 350100202600000001", l.Number)
		}
		if l.HolderID != "11010519491231002X" || l.ValidUntil == nil || !l.ValidUntil.Equal(l.ValidFrom.AddDate(1, 0, 0)) {
			t.Errorf("holder %s, valid %s to %v", l.HolderID, l.ValidFrom, l.ValidUntil)
		}
		doc, err := codec.Decode(got.Document)
		if err != nil {
			t.Fatal(err)
		}
		if doc.License.ID != l.ID || doc.License.Status[0].Index != int64(l.Slot.Index) || doc.License.Issuer.Name != "福州市公安局" {
			t.Errorf("document %+v does not match license %+v", doc.License, l)
		}
		stored, err := f.p.Licenses.Document(ctx, f.issuer, l.ID)
		if err != nil || string(stored) != string(got.Document) {
			t.Fatalf("stored document differs (%v)", err)
		}
		if _, err := f.p.Licenses.Get(ctx, f.other, l.ID); !errors.Is(err, apperr.NotFound) {
			t.Errorf("another organization's issuer reads the license: %v", err)
		}
		page, err := f.p.Licenses.List(ctx, f.issuer, license.Filter{Holder: "11010519491231002x"}, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != l.ID {
			t.Errorf("list by holder: %+v, %v", page.Items, err)
		}
		page, err = f.p.Licenses.List(ctx, f.issuer, license.Filter{Holder: "110105194912310011"}, "")
		if err != nil || len(page.Items) != 0 {
			t.Errorf("list by another holder: %+v, %v", page.Items, err)
		}
	})
}

func TestIssueRefuses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		from := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		before := from.AddDate(0, 0, -1)
		cases := []struct {
			name  string
			actor *authz.Actor
			edit  func(*license.NewLicense)
			kind  apperr.Kind
			want  []string
		}{
			{"unknown type", f.issuer, func(n *license.NewLicense) { n.Type = "XX0001" }, apperr.Invalid, []string{"type: exists"}},
			{"unknown version", f.issuer, func(n *license.NewLicense) { n.TypeVersion = 9 }, apperr.Invalid, []string{"type_version: exists"}},
			{"unknown field", f.issuer, func(n *license.NewLicense) {
				n.Face = json.RawMessage(string(n.Face[:len(n.Face)-1]) + `,"extra":"x"}`)
			}, apperr.Invalid, []string{"face.extra: unknown-field"}},
			{"missing field", f.issuer, func(n *license.NewLicense) {
				var m map[string]any
				_ = json.Unmarshal(n.Face, &m)
				delete(m, "name")
				n.Face, _ = json.Marshal(m)
			}, apperr.Invalid, []string{"face.name: required"}},
			{"check character", f.issuer, func(n *license.NewLicense) { n.HolderID = "110105194912310021" }, apperr.Invalid,
				[]string{"holder_id: check-character"}},
			{"another person's license", f.issuer, func(n *license.NewLicense) { n.HolderID = "110105194912310046" }, apperr.Invalid,
				[]string{"face.citizen_id: holder-id"}},
			{"valid until before valid from", f.issuer, func(n *license.NewLicense) { n.ValidFrom, n.ValidUntil = &from, &before },
				apperr.Invalid, []string{"valid_until: after-valid-from"}},
			{"end given to a fixed validity", f.issuer, func(n *license.NewLicense) { end := from.AddDate(3, 0, 0); n.ValidFrom, n.ValidUntil = &from, &end },
				apperr.Invalid, []string{"valid_until: fixed"}},
			{"another organization's type", f.issuer, func(n *license.NewLicense) {
				n.Type, n.HolderID, n.HolderName, n.Face = "BL0001", "91350100M000100Y43", "福州闽江示例科技有限公司", f.businessSample
			}, apperr.Forbidden, []string{"type: own-org"}},
			{"no holder name", f.issuer, func(n *license.NewLicense) { n.HolderName = " " }, apperr.Invalid, []string{"holder_name: required"}},
			{"not an issuer", f.admin, func(*license.NewLicense) {}, apperr.Forbidden, []string{"actor: issuer-role"}},
		}
		start := f.counts(t)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				n := f.permit()
				c.edit(&n)
				_, err := f.p.Licenses.Issue(ctx, c.actor, n)
				if !errors.Is(err, c.kind) || !slices.Equal(rules(err), c.want) {
					t.Errorf("error %v: rules %q, want %s %q", err, rules(err), c.kind, c.want)
				}
			})
		}
		if got := f.counts(t); got != start {
			t.Errorf("refusals wrote: %v -> %v", start, got)
		}
		// Each refusal of the issuer is logged, naming the rules, never the
		// values; the account without the issuer role is refused earlier.
		if got, want := f.refusals(t), len(cases)-1; got != want {
			t.Errorf("%d refusals logged, want %d", got, want)
		}
		entries, err := f.db.AuditPending(ctx, f.issuerOrg, 100000)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			if e.Action == license.RefusedAction && e.Details["rules"] == "check-character" {
				found = true
				if e.Subject != "PC0001" || e.Details["operation"] != "issue" || e.Details["kind"] != "invalid" || e.Actor != f.issuer.AccountID {
					t.Errorf("refusal entry %+v", e)
				}
			}
			if strings.Contains(fmt.Sprint(e.Details), "110105194912310021") {
				t.Errorf("a refusal entry holds the value sent: %+v", e)
			}
		}
		if !found {
			t.Error("no refusal entry for the wrong check character")
		}
	})
}

func TestIssueRefusesSeal(t *testing.T) {
	for _, c := range []struct {
		name   string
		action seal.Action // "" for none: the clock passes the seal's validity
		rule   string
	}{
		{"not bound", seal.Unbind, "seal-not-bound"},
		{"suspended", seal.Suspend, "seal-suspended"},
		{"cancelled", seal.Cancel, "seal-cancelled"},
		{"expired", "", "seal-expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				f := setup(t, db)
				if c.action != "" {
					f.decide(t, c.action, f.sealID, seal.BindTerms{})
				} else {
					f.clk.add(seal.DefaultValidity + 24*time.Hour)
				}
				start := f.counts(t)
				_, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
				if !errors.Is(err, apperr.Conflict) || !slices.Equal(rules(err), []string{"seal_id: " + c.rule}) {
					t.Fatalf("issue with a seal %s: %v (%q), want seal_id: %s", c.name, err, rules(err), c.rule)
				}
				if got := f.counts(t); got != start {
					t.Errorf("a refused signature wrote: %v -> %v", start, got)
				}
				if c.action != seal.Unbind {
					return
				}
				// The refusal spent no sequence: once bound again, the
				// first license is the first of its sequences.
				f.decide(t, seal.Bind, f.sealID, seal.BindTerms{})
				out, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
				if err != nil {
					t.Fatal(err)
				}
				if id, err := ids.ParseLicenseID(out.License.ID); err != nil || id.Seq != 1 || !strings.HasSuffix(out.License.Number, "000001") {
					t.Errorf("the first license after a refusal is %s (%+v, %v), number %s; want sequence 1", out.License.ID, id, err, out.License.Number)
				}
			})
		})
	}
}

// TestConcurrentIssuance issues from more goroutines at once than the
// PostgreSQL pool has connections, all on an issuer without a status list
// yet: no identifier or number twice, nothing but successes, and no
// deadlock between the transactions queued on the first list and the one
// that opened it: each signs with the key and certificates it reads in its
// own transaction, so none waits for a second connection of the full pool.
func TestConcurrentIssuance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		const n = 48
		var wg sync.WaitGroup
		errs := make([]error, n)
		got := make([]license.License, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
				got[i], errs[i] = out.License, err
			}()
		}
		wg.Wait()
		ids, numbers := map[string]bool{}, map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("issuance %d: %v", i, err)
			}
			if ids[got[i].ID] || numbers[got[i].Number] {
				t.Fatalf("duplicate identifier %s or number %s", got[i].ID, got[i].Number)
			}
			ids[got[i].ID], numbers[got[i].Number] = true, true
		}
		t.Logf("%s: %d issuances, %d store retries", db.Dialect(), n, db.Retries())
		if c := f.counts(t); c[0] != n {
			t.Errorf("%d licenses stored, want %d", c[0], n)
		}
	})
}

// TestDataKeyRotationKeepsLicensesReadable rotates the field data key
// after issuance: the holder identifier and the signed document are
// re-encrypted (both columns are registered with the rotation), and read
// and found by holder as before.
func TestDataKeyRotationKeepsLicensesReadable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		rotate := func() int64 {
			t.Helper()
			rs, err := db.RotateDataKeys(ctx, store.RotateDataKeysOptions{Purposes: []string{store.FieldKey}, Now: f.clk.now})
			if err != nil || len(rs) != 1 || !rs[0].Done {
				t.Fatalf("rotation %+v: %v", rs, err)
			}
			return rs[0].Reencrypted
		}
		before := rotate()
		got, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
		if err != nil {
			t.Fatal(err)
		}
		if after := rotate(); after != before+2 {
			t.Fatalf("rotation re-encrypted %d values, %d before issuance: want the holder identifier and the document more", after, before)
		}
		doc, err := f.p.Licenses.Document(ctx, f.issuer, got.License.ID)
		if err != nil || string(doc) != string(got.Document) {
			t.Fatalf("document after rotation differs (%v)", err)
		}
		p, err := f.p.Licenses.List(ctx, f.issuer, license.Filter{Holder: "11010519491231002X"}, "")
		if err != nil || len(p.Items) != 1 || p.Items[0].HolderID != "11010519491231002X" {
			t.Fatalf("by holder after rotation: %+v, %v", p.Items, err)
		}
	})
}

// TestSequencesNeverRepeat draws identifier and number sequences from 64
// goroutines at once: every value once, 1 to n, per scope, and the scopes
// apart.
func TestSequencesNeverRepeat(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 64
		scope := ids.SequenceScope{TypeCode: "PC0001", Region: "350100", Year: 2026}
		var wg sync.WaitGroup
		nums, seqs := make([]uint64, n), make([]uint64, n)
		errs := make([]error, 2*n)
		for i := range n {
			wg.Add(2)
			go func() { defer wg.Done(); nums[i], errs[i] = db.NextSeq(ctx, scope) }()
			go func() { defer wg.Done(); seqs[i], errs[n+i] = db.NextLicenseSeq(ctx, "PC0001", "11350100MB0000027N") }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for name, got := range map[string][]uint64{"number": nums, "identifier": seqs} {
			slices.Sort(got)
			for i, v := range got {
				if v != uint64(i+1) {
					t.Fatalf("%s sequences %v, want 1 to %d once each", name, got, n)
				}
			}
		}
		other, err := db.NextSeq(ctx, ids.SequenceScope{TypeCode: "PC0001", Region: "350100", Year: 2027})
		if err != nil || other != 1 {
			t.Fatalf("a new year's first number: %d, %v; want 1", other, err)
		}
	})
}
