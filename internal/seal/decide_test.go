package seal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// decide files and approves an application, failing the test on error.
func (f fixture) decide(t *testing.T, n seal.NewApplication) {
	t.Helper()
	ctx := context.Background()
	n.Org, n.Reason = f.orgA, "测试"
	a, err := f.svc.Apply(ctx, f.applicant, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Decide(ctx, f.approver1, a.ID, true, ""); err != nil {
		t.Fatal(err)
	}
}

// TestDecisionsRecheckTheSeal files each kind of application while the
// seal allows it, cancels the seal, then approves: the approval must look
// at the seal as it is now and refuse, leaving the cancelled seal, its
// certificate and the application as they were. Renewal issued a fresh
// certificate to a cancelled seal before.
func TestDecisionsRecheckTheSeal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		cases := []struct {
			action  seal.Action
			suspend bool // the seal is suspended before filing
			extra   func(*seal.NewApplication)
		}{
			{action: seal.Renew},
			{action: seal.Suspend},
			{action: seal.Restore, suspend: true},
			{action: seal.PINReset},
			{action: seal.Cancel},
			{action: seal.Change, extra: func(n *seal.NewApplication) {
				n.Name, n.Image, n.WidthMM, n.HeightMM = "合同专用章（新）", redRing(t), 40, 40
			}},
		}
		for _, c := range cases {
			x := f.makeSeal(t, seal.OneApprover)
			if c.suspend {
				f.decide(t, seal.NewApplication{Action: seal.Suspend, SealID: x.ID})
			}
			n := seal.NewApplication{Org: f.orgA, Action: c.action, SealID: x.ID, Reason: "测试"}
			if c.extra != nil {
				c.extra(&n)
			}
			app, err := f.svc.Apply(ctx, f.applicant, n)
			if err != nil {
				t.Fatalf("%s: %v", c.action, err)
			}
			f.decide(t, seal.NewApplication{Action: seal.Cancel, SealID: x.ID})
			cancelled, _ := f.svc.GetSeal(ctx, x.ID)
			if c.action == seal.Renew { // inside the window: only the state can refuse it
				f.clk.add(cancelled.ValidTo.Sub(f.clk.now()) - 24*time.Hour)
			}
			if _, err := f.svc.Decide(ctx, f.approver1, app.ID, true, ""); !errors.Is(err, apperr.Conflict) {
				t.Errorf("%s approved after the seal was cancelled: %v", c.action, err)
			}
			after, _ := f.svc.GetSeal(ctx, x.ID)
			if after.State != seal.Cancelled || after.CertFingerprint != cancelled.CertFingerprint || after.Version != cancelled.Version {
				t.Errorf("%s: the cancelled seal changed: %+v", c.action, after)
			}
			if got, _ := f.svc.GetApplication(ctx, app.ID); got.Status != seal.Pending {
				t.Errorf("%s: application is %s, want pending", c.action, got.Status)
			}
			if c.action == seal.Renew {
				f.clk.add(48 * time.Hour) // past the cancelled seal's expiry, for the next cases
			}
		}
	})
}

// TestSecondSealRecheckedOnApproval files two applications for a first
// seal of a kind, neither with a justification: approving the second
// finds the first made and refuses.
func TestSecondSealRecheckedOnApproval(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		var apps []seal.Application
		for range 2 {
			a, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Make, SealKind: seal.Finance, Name: "财务专用章",
				Reason: "r", Image: redRing(t), WidthMM: 40, HeightMM: 40, Keepers: []string{f.keeper.AccountID}})
			if err != nil {
				t.Fatal(err)
			}
			apps = append(apps, a)
		}
		if _, err := f.svc.Decide(ctx, f.approver1, apps[0].ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Decide(ctx, f.approver1, apps[1].ID, true, ""); rule(err) != "second-seal" {
			t.Fatalf("second seal without justification approved: %v", err)
		}
		if p, _ := f.svc.ListSeals(ctx, seal.Filter{Org: f.orgA, Kind: seal.Finance}, ""); len(p.Items) != 1 {
			t.Fatalf("%d finance seals, want 1", len(p.Items))
		}
	})
}

// TestUseApprovalRechecksTheSeal approves a use request after the seal was
// suspended: refused; rejecting it still works.
func TestUseApprovalRechecksTheSeal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.OneApprover)
		req, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf([]byte("doc")), "t", "p")
		if err != nil {
			t.Fatal(err)
		}
		f.decide(t, seal.NewApplication{Action: seal.Suspend, SealID: x.ID})
		if _, err := f.svc.DecideUse(ctx, f.approver1, req.ID, true, ""); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("use of a suspended seal approved: %v", err)
		}
		if r, err := f.svc.DecideUse(ctx, f.approver1, req.ID, false, "停用中"); err != nil || r.Status != seal.UseRejected {
			t.Fatalf("rejecting: %+v %v", r, err)
		}
	})
}

// TestConcurrentUseApprovals sends 20 approvals of one two-approver
// request at once, alternating two approvers: each approver counts once,
// the request ends approved by both, and the log has exactly two
// approvals.
func TestConcurrentUseApprovals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.TwoApprovers)
		req, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf([]byte("doc")), "t", "p")
		if err != nil {
			t.Fatal(err)
		}
		var o outcome
		storetest.Race(racers, func(i int) {
			approver := f.approver1
			if i%2 == 1 {
				approver = f.approver2
			}
			_, err := f.svc.DecideUse(ctx, approver, req.ID, true, "")
			if errors.Is(err, apperr.Conflict) { // decided meanwhile, or approved by this approver already
				o.mu.Lock()
				o.refused++
				o.mu.Unlock()
				return
			}
			o.add(err)
		})
		if o.ok != 2 || o.refused != racers-2 || o.others != 0 {
			t.Fatalf("%d approvals taken, %d refused, errors %v; want 2 and %d", o.ok, o.refused, o.errs, racers-2)
		}
		r, _ := f.svc.GetUseRequest(ctx, req.ID)
		if r.Status != seal.UseApproved || len(r.Approvals) != 2 || r.Approvals[0] == r.Approvals[1] {
			t.Fatalf("request after the race: %+v", r)
		}
		if n := countOf(sealActions(t, f, x.ID), "seal.use.approved"); n != 2 {
			t.Errorf("%d seal.use.approved entries, want 2", n)
		}
	})
}

// TestSealWritesAreAudited checks that filing an application, filing a use
// request and deciding one each leave their audit entry.
func TestSealWritesAreAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.OneApprover)
		doc := hexOf([]byte("doc"))
		r1, err := f.svc.RequestUse(ctx, f.keeper, x.ID, doc, "t", "p")
		if err != nil {
			t.Fatal(err)
		}
		r2, err := f.svc.RequestUse(ctx, f.keeper, x.ID, doc, "t", "p")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.DecideUse(ctx, f.approver1, r1.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.DecideUse(ctx, f.approver1, r2.ID, false, "不同意"); err != nil {
			t.Fatal(err)
		}
		entries := f.orgEntries(t)
		got := map[string][]string{}
		for _, e := range entries {
			got[e.Action] = append(got[e.Action], e.Subject+" "+e.Details["request"]+" "+e.Actor)
		}
		want := map[string][]string{
			"seal.use.requested": {x.ID + " " + r1.ID + " " + f.keeper.AccountID, x.ID + " " + r2.ID + " " + f.keeper.AccountID},
			"seal.use.approved":  {x.ID + " " + r1.ID + " " + f.approver1.AccountID},
			"seal.use.rejected":  {x.ID + " " + r2.ID + " " + f.approver1.AccountID},
		}
		for action, w := range want {
			if len(got[action]) != len(w) || (len(w) > 0 && got[action][0] != w[0]) || got[action][len(w)-1] != w[len(w)-1] {
				t.Errorf("%s entries %v, want %v", action, got[action], w)
			}
		}
		// makeSeal filed one application, by the org admin.
		if apps := got["seal.application.filed"]; len(apps) != 1 {
			t.Errorf("seal.application.filed entries %v, want 1", apps)
		}
	})
}

// TestConcurrentFilings files 20 use requests and 20 applications of one
// seal at once: every one is stored with exactly one audit entry.
func TestConcurrentFilings(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.OneApprover)
		var o outcome
		storetest.Race(racers, func(i int) {
			var err error
			if i%2 == 0 {
				_, err = f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf([]byte{byte(i)}), "t", "p")
			} else {
				_, err = f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Suspend, SealID: x.ID, Reason: "r"})
			}
			o.add(err)
		})
		if o.ok != racers {
			t.Fatalf("%d of %d filed, errors %v", o.ok, racers, o.errs)
		}
		actions := sealActions(t, f, x.ID)
		if n := countOf(actions, "seal.use.requested"); n != racers/2 {
			t.Errorf("%d seal.use.requested entries, want %d", n, racers/2)
		}
		apps, err := f.svc.ListApplications(ctx, seal.Filter{Org: f.orgA}, "")
		if err != nil {
			t.Fatal(err)
		}
		entries := f.orgEntries(t)
		filed := 0
		for _, e := range entries {
			if e.Action == "seal.application.filed" {
				filed++
			}
		}
		if filed != len(apps.Items) || filed != racers/2+1 {
			t.Errorf("%d seal.application.filed entries for %d applications, want %d", filed, len(apps.Items), racers/2+1)
		}
	})
}
