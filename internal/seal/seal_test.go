package seal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func redRing(testing.TB) []byte { return seal.SampleImage() }

type fixture struct {
	clk                          *clock
	svc                          *seal.Service
	db                           *store.DB
	orgs                         *org.Service
	ks                           *keyring.Service
	certs                        *pki.Service
	orgA                         string
	applicant, keeper, approver1 *authz.Actor
	approver2, outsider          *authz.Actor
}

func setup(t *testing.T, db *store.DB) fixture {
	t.Helper()
	return setupWithRoot(t, db, keys.SM2SM3)
}

// setupWithRoot is setup with a platform root of the given algorithm.
func setupWithRoot(t *testing.T, db *store.DB, rootAlg keys.Algorithm) fixture {
	t.Helper()
	return setupWith(t, db, rootAlg, seal.Config{})
}

// setupWith is setup with a platform root of the given algorithm and the
// seal policies cfg.
func setupWith(t *testing.T, db *store.DB, rootAlg keys.Algorithm, cfg seal.Config) fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	p, err := platform.New(db, platform.Options{Clock: clk.now, Seal: cfg})
	if err != nil {
		t.Fatal(err)
	}
	orgs := p.Orgs
	code := func(n string) string {
		c, err := ids.NewCreditCode('1', '1', "610100", n)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	platform, orgA, orgB := code("MB000001"), code("MB000002"), code("MB000003")
	for _, o := range []org.NewOrg{
		{CreditCode: platform, Name: "平台", Kinds: []org.Kind{org.KindPlatform}},
		{CreditCode: orgA, Name: "用章单位", Kinds: []org.Kind{org.KindSealUser}, Parent: platform},
		{CreditCode: orgB, Name: "别的单位", Kinds: []org.Kind{org.KindSealUser}},
	} {
		o.Region, o.Responsible = "610100", org.Responsible{Name: "张三", Phone: "13800000000"}
		if _, err := orgs.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	actor := func(orgCode, name string, r authz.Role) *authz.Actor {
		a, err := orgs.CreateAccount(ctx, org.NewAccount{Org: orgCode, Name: name, Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Actor{AccountID: a.ID, Org: orgCode, Roles: a.Roles}
	}
	if _, err := p.PKI.InitRoot(ctx, platform, "root", "平台根证书", rootAlg, 20); err != nil {
		t.Fatal(err)
	}
	return fixture{
		clk: clk, svc: p.Seals, orgA: orgA,
		db: db, orgs: orgs, ks: p.Keys, certs: p.PKI,
		applicant: actor(orgA, "admin", authz.OrgAdmin), keeper: actor(orgA, "keeper", authz.SealKeeper),
		approver1: actor(platform, "approver1", authz.SealApprover), approver2: actor(platform, "approver2", authz.SealApprover),
		outsider: actor(orgB, "approver-b", authz.SealApprover),
	}
}

func rule(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		return ae.Fields[0].Rule
	}
	return ""
}

func (f fixture) makeSeal(t *testing.T, policy seal.Policy) seal.Seal {
	t.Helper()
	ctx := context.Background()
	a, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Make, SealKind: seal.Contract, Name: "合同专用章",
		Reason: "启用电子合同", Image: redRing(t), WidthMM: 40, HeightMM: 40, Keepers: []string{f.keeper.AccountID}, Policy: policy,
		Justification: "测试"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Decide(ctx, f.outsider, a.ID, true, ""); !errors.Is(err, apperr.Forbidden) {
		t.Fatalf("approval by an unrelated organization's approver: %v", err)
	}
	a, err = f.svc.Decide(ctx, f.approver1, a.ID, true, "同意")
	if err != nil {
		t.Fatal(err)
	}
	x, err := f.svc.GetSeal(ctx, a.SealID)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// renew applies for the renewal of seal id and approves it.
func (f fixture) renew(ctx context.Context, id string) error {
	app, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Renew, SealID: id, Reason: "到期续期"})
	if err != nil {
		return err
	}
	_, err = f.svc.Decide(ctx, f.approver1, app.ID, true, "")
	return err
}

func digestOf(doc []byte) []byte { h := sm3.Sum(doc); return h[:] }

func hexOf(doc []byte) string {
	h := sm3.Sum(doc)
	const digits = "0123456789abcdef"
	out := make([]byte, 64)
	for i, b := range h {
		out[2*i], out[2*i+1] = digits[b>>4], digits[b&15]
	}
	return string(out)
}

func TestLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.OneApprover)
		if x.State != seal.Active || x.FilingState != seal.FilingQueued || ids.ValidateSealCode(x.ID) != nil || len(x.Structure) == 0 {
			t.Fatalf("made seal %+v", x)
		}
		doc := []byte("合同正文 第一版")

		// No PIN yet, no request yet.
		if _, err := f.svc.RequestUse(ctx, f.applicant, x.ID, hexOf(doc), "合同", "签约"); !errors.Is(err, apperr.Forbidden) {
			t.Fatalf("use request by a non-keeper: %v", err)
		}
		req, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf(doc), "合同", "签约")
		if err != nil || req.Status != seal.UsePending {
			t.Fatalf("use request: %+v, %v", req, err)
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc}); rule(err) != "approved" {
			t.Fatalf("sign before approval: %v", err)
		}
		if _, err := f.svc.DecideUse(ctx, f.approver1, req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "123456"}); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("sign before a PIN is set: %v", err)
		}
		if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "12345"); rule(err) != "pin-length" {
			t.Fatalf("short PIN: %v", err)
		}
		if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "246810"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: []byte("另一份"), PIN: "246810"}); rule(err) != "same-document" {
			t.Fatalf("sign another document: %v", err)
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "000000"}); rule(err) != "pin" {
			t.Fatalf("wrong PIN: %v", err)
		}
		signed, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "246810", Archive: true, CMS: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(signed.CMS) == 0 || signed.Use.DocHash != hexOf(doc) {
			t.Fatalf("signed %+v", signed.Use)
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "246810"}); rule(err) != "approved" {
			t.Fatalf("a spent request signed again: %v", err)
		}
		uses, _ := f.svc.Uses(ctx, x.ID)
		if len(uses) != 1 {
			t.Fatalf("%d use records, want 1", len(uses))
		}

		v := f.svc.Verify(ctx, signed.Signature, doc, nil)
		if !v.Valid || v.SealCode != x.ID {
			t.Fatalf("verdict %+v", v)
		}
		failed := func(v verify.Verdict) []string {
			var out []string
			for _, c := range v.Checks {
				if !c.OK {
					out = append(out, c.Name)
				}
			}
			return out
		}
		if v := f.svc.Verify(ctx, signed.Signature, []byte("合同正文 第二版"), nil); v.Valid || !contains(failed(v), "document-hash") {
			t.Fatalf("tampered document: %+v", v)
		}
		bad := bytes.Clone(signed.Signature)
		bad[len(bad)-5] ^= 1
		if v := f.svc.Verify(ctx, bad, doc, nil); v.Valid {
			t.Fatalf("tampered signature verified: %+v", v)
		}
		// One flipped byte of the seal image inside the signature breaks the
		// maker's signature on the seal structure.
		img := bytes.Clone(signed.Signature)
		at := bytes.Index(img, x.Image.Data[100:140])
		if at < 0 {
			t.Fatal("the seal image is not inside the signature")
		}
		img[at] ^= 1
		if v := f.svc.Verify(ctx, img, doc, nil); v.Valid || !contains(failed(v), "maker-signature") {
			t.Fatalf("tampered seal image: %+v", v)
		}
		if v := f.svc.Verify(ctx, signed.Signature[:40], doc, nil); v.Valid || failed(v)[0] != "structure" {
			t.Fatalf("truncated signature: %+v", v)
		}
		bundle := f.openBundle(t)
		if v := verify.Seal(ctx, bundle, signed.Signature, nil, digestOf(doc), f.clk.now()); !v.Valid {
			t.Fatalf("offline verdict %+v", v)
		}

		// Suspension: signing stops; the old signature stays valid, and the
		// verdict says the seal is suspended now.
		f.clk.add(time.Hour)
		app, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Suspend, SealID: x.ID, Reason: "保管人出差"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Decide(ctx, f.approver1, app.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		req2, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf(doc), "合同", "再签")
		if !errors.Is(err, apperr.Conflict) {
			t.Fatalf("use request on a suspended seal: %+v, %v", req2, err)
		}
		v = f.svc.Verify(ctx, signed.Signature, doc, nil)
		if !v.Valid || !contains(failed(v), "seal-now") {
			t.Fatalf("verdict after suspension: %+v", v)
		}
		events, _ := f.svc.Events(ctx, x.ID)
		if len(events) < 3 || events[len(events)-1].State != seal.Suspended || events[len(events)-1].Reason != "保管人出差" {
			t.Fatalf("events %+v", events)
		}

		// Making, the PIN, the use and the suspension are in the audit log,
		// whose tree checks out.
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		tree, err := auditlog.Check(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		entries, _, err := db.AuditEntries(ctx, 0, tree.Size)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			if e.Subject == x.ID {
				actions = append(actions, e.Action)
				if e.Action == "seal.sign" && (e.Actor != f.keeper.AccountID || e.Details["use"] != signed.Use.ID || e.Details["doc_hash"] != hexOf(doc)) {
					t.Errorf("sign entry %+v", e)
				}
			}
		}
		for _, want := range []string{"seal.made", "seal.pin-set", "seal.sign", "seal.suspend"} {
			if !contains(actions, want) {
				t.Errorf("audit log of %s lacks %s: %v", x.ID, want, actions)
			}
		}
	})
}

// openBundle exports the trust bundle as JSON, the way the API and the CLI
// serve it, and opens it pinned to the platform root.
func (f fixture) openBundle(t *testing.T) *verify.Bundle {
	t.Helper()
	b, err := f.svc.TrustBundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := f.certs.Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opened, err := verify.OpenBundle(data, root.Fingerprint)
	if err != nil {
		t.Fatalf("open the exported trust bundle: %v", err)
	}
	return opened
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestPINLockAndReset(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.NoApproval)
		if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "135790"); err != nil {
			t.Fatal(err)
		}
		doc := []byte("doc")
		req, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf(doc), "t", "p")
		if err != nil || req.Status != seal.UseApproved {
			t.Fatalf("no-approval policy: %+v %v", req, err)
		}
		for i := range 5 {
			if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "999999"}); rule(err) != "pin" {
				t.Fatalf("wrong PIN %d: %v", i+1, err)
			}
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "135790"}); !errors.Is(err, seal.ErrPINLocked) {
			t.Fatalf("right PIN on a locked seal: %v", err)
		}
		app, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.PINReset, SealID: x.ID, Reason: "忘记口令"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Decide(ctx, f.approver1, app.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "864200"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "864200"}); err != nil {
			t.Fatalf("sign after reset: %v", err)
		}
		if f.svc.PINStale(x) {
			t.Fatal("a PIN never set is not stale")
		}
	})
}

func TestTwoApproversAndRenewalWindow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.TwoApprovers)
		doc := []byte("doc")
		req, _ := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf(doc), "t", "p")
		r, err := f.svc.DecideUse(ctx, f.approver1, req.ID, true, "")
		if err != nil || r.Status != seal.UsePending {
			t.Fatalf("one of two approvals: %+v %v", r, err)
		}
		if _, err := f.svc.DecideUse(ctx, f.approver1, req.ID, true, ""); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("the same approver twice: %v", err)
		}
		if r, err := f.svc.DecideUse(ctx, f.approver2, req.ID, true, ""); err != nil || r.Status != seal.UseApproved {
			t.Fatalf("second approval: %+v %v", r, err)
		}

		renew := func() error { return f.renew(ctx, x.ID) }
		if err := renew(); rule(err) != "renewal-window" {
			t.Fatalf("renewal two years early: %v", err)
		}
		f.clk.add(x.ValidTo.Sub(f.clk.now()) - 30*24*time.Hour)
		if err := renew(); err != nil {
			t.Fatalf("renewal a month before expiry: %v", err)
		}
		y, _ := f.svc.GetSeal(ctx, x.ID)
		if !y.ValidTo.After(x.ValidTo) || y.CertFingerprint == x.CertFingerprint || bytes.Equal(y.Structure, x.Structure) {
			t.Fatalf("renewed seal %+v", y)
		}
		// Past the new expiry the seal cannot sign.
		f.clk.add(y.ValidTo.Sub(f.clk.now()) + time.Second)
		if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "111111"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "111111"}); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("sign with an expired seal: %v", err)
		}
	})
}

func TestApplyRejects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		f.makeSeal(t, seal.OneApprover)
		base := seal.NewApplication{Org: f.orgA, Action: seal.Make, SealKind: seal.Contract, Name: "第二枚合同章", Reason: "r",
			Image: redRing(t), WidthMM: 40, HeightMM: 40, Keepers: []string{f.keeper.AccountID}}
		cases := []struct {
			name  string
			edit  func(*seal.NewApplication)
			actor *authz.Actor
			rule  string
			kind  apperr.Kind
		}{
			{"second seal", func(*seal.NewApplication) {}, f.applicant, "second-seal", apperr.Invalid},
			{"bad kind", func(n *seal.NewApplication) { n.SealKind = "stamp" }, f.applicant, "enum", apperr.Invalid},
			{"not an image", func(n *seal.NewApplication) { n.Image = []byte("GIF89a") }, f.applicant, "format", apperr.Invalid},
			{"keeper of another role", func(n *seal.NewApplication) { n.Keepers = []string{f.applicant.AccountID} }, f.applicant, "seal-keeper", apperr.Invalid},
			{"no reason", func(n *seal.NewApplication) { n.Reason = "" }, f.applicant, "required", apperr.Invalid},
			{"bidi override in the name", func(n *seal.NewApplication) { n.Name = "合同\u202e章用专" }, f.applicant, "bidi-control", apperr.Invalid},
			{"zero-width space in the name", func(n *seal.NewApplication) { n.Name = "合同\u200b专用章" }, f.applicant, "invisible", apperr.Invalid},
			{"other org", func(*seal.NewApplication) {}, f.outsider, "", apperr.Forbidden},
		}
		for _, c := range cases {
			n := base
			c.edit(&n)
			_, err := f.svc.Apply(ctx, c.actor, n)
			if !errors.Is(err, c.kind) || (c.rule != "" && rule(err) != c.rule) {
				t.Errorf("%s: %v, want %s %s", c.name, err, c.kind, c.rule)
			}
		}
		page, _ := f.svc.ListApplications(ctx, seal.Filter{Org: f.orgA}, "")
		if len(page.Items) != 1 {
			t.Fatalf("%d applications stored, want only the first", len(page.Items))
		}
	})
}

// brokenOutbox is a seal store whose outbox write, the last step of making
// or renewing a seal, fails.
type brokenOutbox struct{ seal.Tx }

func (brokenOutbox) InsertOutbox(context.Context, string, string, []byte, time.Time) error {
	return errors.New("outbox unavailable")
}

// TestFailedMakingKeepsNothing proves making, changing and renewing a seal
// are one transaction with the key, the certificate and the revocation:
// when the last write fails, no key, certificate, seal or revocation is
// left, the application is still pending, and approving it again works.
func TestFailedMakingKeepsNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		broken, err := seal.New(seal.Deps{Store: db, Tx: func(ctx context.Context, fn func(seal.Tx) error) error {
			return db.SealTx(ctx, func(st seal.Tx) error { return fn(brokenOutbox{st}) })
		}, Orgs: f.orgs, Keys: f.ks, Certs: f.certs, Now: f.clk.now}, seal.Config{})
		if err != nil {
			t.Fatal(err)
		}
		type counts struct{ keys, certs, revoked, seals int }
		count := func() counts {
			t.Helper()
			ks, err := f.ks.List(ctx, keyring.Filter{Org: f.orgA, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := f.certs.List(ctx, pki.Filter{Kind: pki.Seal})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := f.certs.List(ctx, pki.Filter{Kind: pki.Seal, Revoked: true})
			if err != nil {
				t.Fatal(err)
			}
			ss, err := f.svc.ListSeals(ctx, seal.Filter{Org: f.orgA}, "")
			if err != nil {
				t.Fatal(err)
			}
			return counts{len(ks), len(cs), len(rs), len(ss.Items)}
		}
		// decide approves a with the broken service, checks nothing changed,
		// then approves it with the working one.
		decide := func(name string, a seal.Application) {
			t.Helper()
			before := count()
			if _, err := broken.Decide(ctx, f.approver1, a.ID, true, "同意"); err == nil {
				t.Fatalf("%s: approving with a broken outbox succeeded", name)
			}
			if after := count(); after != before {
				t.Errorf("%s: a failed approval left %+v, want %+v", name, after, before)
			}
			if got, err := f.svc.GetApplication(ctx, a.ID); err != nil || got.Status != seal.Pending {
				t.Errorf("%s: application after the failure: %v %v, want pending", name, got.Status, err)
			}
			if _, err := f.svc.Decide(ctx, f.approver1, a.ID, true, "同意"); err != nil {
				t.Fatalf("%s: approving again: %v", name, err)
			}
		}
		apply := func(n seal.NewApplication) seal.Application {
			t.Helper()
			n.Org, n.Reason = f.orgA, "测试"
			a, err := f.svc.Apply(ctx, f.applicant, n)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		made := apply(seal.NewApplication{Action: seal.Make, SealKind: seal.Contract, Name: "合同专用章",
			Image: redRing(t), WidthMM: 40, HeightMM: 40, Keepers: []string{f.keeper.AccountID}})
		decide("make", made)
		made, _ = f.svc.GetApplication(ctx, made.ID)
		changed := apply(seal.NewApplication{Action: seal.Change, SealID: made.SealID, SealKind: seal.Contract, Name: "合同专用章（新）",
			Image: redRing(t), WidthMM: 40, HeightMM: 40, Keepers: []string{f.keeper.AccountID}})
		decide("change", changed)
		if old, err := f.svc.GetSeal(ctx, made.SealID); err != nil || old.State != seal.Cancelled {
			t.Fatalf("the changed seal is %v (%v), want cancelled", old.State, err)
		}
		if c := count(); c != (counts{keys: 2, certs: 2, revoked: 1, seals: 2}) {
			t.Errorf("after the change: %+v, want 2 keys, seals and certificates, 1 revoked", c)
		}
		changed, _ = f.svc.GetApplication(ctx, changed.ID)
		x, err := f.svc.GetSeal(ctx, changed.SealID)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.add(x.ValidTo.Sub(f.clk.now()) - 24*time.Hour) // inside the renewal window
		decide("renew", apply(seal.NewApplication{Action: seal.Renew, SealID: x.ID}))
		if c := count(); c.certs != 3 {
			t.Errorf("after the renewal: %d certificates, want 3", c.certs)
		}
	})
}
