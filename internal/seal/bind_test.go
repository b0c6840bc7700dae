package seal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// makeLicenseSeal makes a license-issuing seal for the fixture's
// organization.
func (f fixture) makeLicenseSeal(t *testing.T) seal.Seal {
	t.Helper()
	ctx := context.Background()
	a, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Make, SealKind: seal.LicenseIssuing, Name: "证照专用章",
		Reason: "签发电子证照", Image: redRing(t), WidthMM: 40, HeightMM: 40, Keepers: []string{f.keeper.AccountID}, Justification: "测试"})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = f.svc.Decide(ctx, f.approver1, a.ID, true, "同意"); err != nil {
		t.Fatal(err)
	}
	x, err := f.svc.GetSeal(ctx, a.SealID)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// applyAndApprove files an application of action for seal id with the
// binding terms and has it approved.
func (f fixture) applyAndApprove(t *testing.T, action seal.Action, id string, terms seal.BindTerms) {
	t.Helper()
	ctx := context.Background()
	a, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: action, SealID: id, Reason: "证照签发", Binding: terms})
	if err != nil {
		t.Fatalf("apply %s: %v", action, err)
	}
	if _, err := f.svc.Decide(ctx, f.approver1, a.ID, true, "同意"); err != nil {
		t.Fatalf("approve %s: %v", action, err)
	}
}

// signBound runs SignBound in a transaction of its own, as license issuance
// will in its own. A refusal does not roll the transaction back: it
// commits, so anything SignBound wrote before refusing would be kept.
func signBound(ctx context.Context, f fixture, req seal.BoundSign) ([]byte, seal.Use, error) {
	var sig []byte
	var use seal.Use
	var refused error
	err := f.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		sig, use, err = f.svc.SignBound(ctx, tx, req)
		var ae *apperr.Error
		if errors.As(err, &ae) && len(ae.Fields) > 0 {
			refused = err
			return nil
		}
		return err
	})
	if err == nil {
		err = refused
	}
	return sig, use, err
}

func TestBindAndSignBound(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		contract := f.makeSeal(t, seal.OneApprover)
		x := f.makeLicenseSeal(t)

		if _, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Bind, SealID: contract.ID, Reason: "r"}); rule(err) != "license-issuing" {
			t.Fatalf("bind a contract seal: %v", err)
		}
		if _, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Unbind, SealID: x.ID, Reason: "r"}); rule(err) != "seal-not-bound" {
			t.Fatalf("unbind an unbound seal: %v", err)
		}
		past := f.clk.now().Add(-time.Hour)
		if _, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Bind, SealID: x.ID, Reason: "r",
			Binding: seal.BindTerms{Until: &past}}); rule(err) != "future" {
			t.Fatalf("bind until a past date: %v", err)
		}
		if _, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Bind, SealID: x.ID, Reason: "r",
			Binding: seal.BindTerms{LicenseTypes: []string{"营业 执照"}}}); rule(err) != "pattern" {
			t.Fatalf("bind with a malformed type code: %v", err)
		}
		app, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Bind, SealID: x.ID, Reason: "证照签发",
			Binding: seal.BindTerms{LicenseTypes: []string{"BL01", "BL01", "FL02"}}})
		if err != nil {
			t.Fatal(err)
		}
		if app.Binding.Service != seal.LicenseIssuance || !slices.Equal(app.Binding.LicenseTypes, []string{"BL01", "FL02"}) {
			t.Fatalf("application shows %+v", app.Binding)
		}
		if _, err := f.svc.Decide(ctx, f.outsider, app.ID, true, ""); !errors.Is(err, apperr.Forbidden) {
			t.Fatalf("approval by an unrelated organization's approver: %v", err)
		}
		doc := []byte(`{"license":"BL01-0001"}`)
		if _, _, err := signBound(ctx, f, seal.BoundSign{Org: f.orgA, SealID: x.ID, LicenseType: "BL01", Digest: digestOf(doc), Title: "营业执照"}); rule(err) != "seal-not-bound" {
			t.Fatalf("sign before approval: %v", err)
		}
		if _, err := f.svc.Decide(ctx, f.approver1, app.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		b, err := f.svc.Binding(ctx, x.ID)
		if err != nil || !f.svc.InForce(b) || b.ApplicationID != app.ID || b.BoundBy != f.approver1.AccountID {
			t.Fatalf("binding %+v, %v", b, err)
		}
		if _, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Bind, SealID: x.ID, Reason: "r"}); rule(err) != "seal-bound" {
			t.Fatalf("bind a bound seal again: %v", err)
		}

		sig, use, err := signBound(ctx, f, seal.BoundSign{Org: f.orgA, SealID: x.ID, LicenseType: "BL01", Digest: digestOf(doc), Title: "营业执照", Actor: f.keeper.AccountID})
		if err != nil {
			t.Fatal(err)
		}
		if v := f.svc.Verify(ctx, sig, nil, digestOf(doc)); !v.Valid || v.SealCode != x.ID {
			t.Fatalf("verdict over the digest %+v", v)
		}
		if v := f.svc.Verify(ctx, sig, nil, digestOf([]byte("another"))); v.Valid {
			t.Fatalf("verified over another digest: %+v", v)
		}
		uses, err := f.svc.Uses(ctx, x.ID)
		if err != nil || len(uses) != 1 {
			t.Fatalf("uses %+v, %v", uses, err)
		}
		if u := uses[0]; u.ID != use.ID || u.Kind != seal.UseBound || u.BindingID != b.ID || u.RequestID != "" || u.Title != "营业执照" || u.DocHash != hexOf(doc) {
			t.Fatalf("use record %+v", u)
		}
		actions := sealActions(t, f, x.ID)
		if countOf(actions, "seal.sign.bound") != 1 || countOf(actions, "seal.bound") != 1 {
			t.Fatalf("audit actions %v", actions)
		}

		f.applyAndApprove(t, seal.Unbind, x.ID, seal.BindTerms{})
		if _, err := f.svc.Binding(ctx, x.ID); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("binding after unbind: %v", err)
		}
		if _, _, err := signBound(ctx, f, seal.BoundSign{Org: f.orgA, SealID: x.ID, LicenseType: "BL01", Digest: digestOf(doc), Title: "营业执照"}); rule(err) != "seal-not-bound" {
			t.Fatalf("sign after unbind: %v", err)
		}
		if actions := sealActions(t, f, x.ID); countOf(actions, "seal.unbound") != 1 {
			t.Fatalf("audit actions %v", actions)
		}
	})
}

// TestSignBoundRefuses checks each refusal names its rule and leaves the
// store as it was, even though the transaction it ran in commits.
func TestSignBoundRefuses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		soon := f.clk.now().Add(24 * time.Hour)
		cases := []struct {
			name    string
			prepare func(t *testing.T, id string) // after making the seal
			typ     string
			rule    string
		}{
			{"not bound", func(*testing.T, string) {}, "BL01", "seal-not-bound"},
			{"another organization's", func(t *testing.T, id string) {
				f.applyAndApprove(t, seal.Bind, id, seal.BindTerms{})
			}, "BL01", "exists"},
			{"type not bound", func(t *testing.T, id string) {
				f.applyAndApprove(t, seal.Bind, id, seal.BindTerms{LicenseTypes: []string{"BL01"}})
			}, "FL02", "type-not-bound"},
			{"suspended", func(t *testing.T, id string) {
				f.applyAndApprove(t, seal.Bind, id, seal.BindTerms{})
				f.applyAndApprove(t, seal.Suspend, id, seal.BindTerms{})
			}, "BL01", "seal-suspended"},
			{"cancelled", func(t *testing.T, id string) {
				f.applyAndApprove(t, seal.Bind, id, seal.BindTerms{})
				f.applyAndApprove(t, seal.Cancel, id, seal.BindTerms{})
				if _, err := f.svc.Binding(ctx, id); !errors.Is(err, apperr.NotFound) {
					t.Fatalf("binding of a cancelled seal: %v", err)
				}
			}, "BL01", "seal-cancelled"},
			{"binding lapsed", func(t *testing.T, id string) {
				f.applyAndApprove(t, seal.Bind, id, seal.BindTerms{Until: &soon})
				f.clk.add(25 * time.Hour)
			}, "BL01", "seal-not-bound"},
			{"expired", func(t *testing.T, id string) {
				f.applyAndApprove(t, seal.Bind, id, seal.BindTerms{})
				f.clk.add(seal.DefaultValidity + 24*time.Hour)
			}, "BL01", "seal-expired"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				x := f.makeLicenseSeal(t)
				c.prepare(t, x.ID)
				before := len(f.orgEntries(t))
				issuer := f.orgA
				if c.rule == "exists" {
					issuer = f.outsider.Org
				}
				_, _, err := signBound(ctx, f, seal.BoundSign{Org: issuer, SealID: x.ID, LicenseType: c.typ, Digest: digestOf([]byte(c.name)), Title: "证照"})
				if rule(err) != c.rule {
					t.Fatalf("want rule %s, got %v", c.rule, err)
				}
				if uses, err := f.svc.Uses(ctx, x.ID); err != nil || len(uses) != 0 {
					t.Fatalf("a refusal left uses %+v, %v", uses, err)
				}
				if after := len(f.orgEntries(t)); after != before {
					t.Fatalf("a refusal left %d audit entries", after-before)
				}
			})
		}
	})
}

// TestSignBoundRacesUnbind races signatures against the approval of an
// unbind: every signature returned has its use committed, every use
// committed was returned, and no signature is made once the unbind has
// committed.
func TestSignBoundRacesUnbind(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeLicenseSeal(t)
		f.applyAndApprove(t, seal.Bind, x.ID, seal.BindTerms{})
		unbind, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Unbind, SealID: x.ID, Reason: "停止签发"})
		if err != nil {
			t.Fatal(err)
		}
		var unbound atomic.Bool
		var mu sync.Mutex
		returned := map[string]bool{}
		var late, refused int
		var others []error
		storetest.Race(racers+1, func(i int) {
			if i == 0 {
				if _, err := f.svc.Decide(ctx, f.approver1, unbind.ID, true, "停止"); err != nil {
					mu.Lock()
					others = append(others, fmt.Errorf("unbind: %w", err))
					mu.Unlock()
				}
				unbound.Store(true)
				return
			}
			after := unbound.Load()
			_, use, err := signBound(ctx, f, seal.BoundSign{Org: f.orgA, SealID: x.ID, Digest: digestOf(fmt.Appendf(nil, "license %d", i)), Title: "证照"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && after:
				late++
				returned[use.ID] = true
			case err == nil:
				returned[use.ID] = true
			case rule(err) == "seal-not-bound":
				refused++
			default:
				others = append(others, err)
			}
		})
		if len(others) > 0 || late > 0 {
			t.Fatalf("%d signatures after the unbind committed; errors %v", late, others)
		}
		uses, err := f.svc.Uses(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range uses {
			if !returned[u.ID] {
				t.Errorf("use %s committed but its signature was not returned", u.ID)
			}
		}
		if len(uses) != len(returned) || len(returned)+refused != racers {
			t.Fatalf("%d uses, %d signatures returned, %d refused of %d", len(uses), len(returned), refused, racers)
		}
		if _, _, err := signBound(ctx, f, seal.BoundSign{Org: f.orgA, SealID: x.ID, Digest: digestOf([]byte("after")), Title: "证照"}); rule(err) != "seal-not-bound" {
			t.Fatalf("sign after the race: %v", err)
		}
		t.Logf("%d signed before the unbind, %d refused", len(returned), refused)
	})
}
