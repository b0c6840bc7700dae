package license_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// transferFixture is the license fixture with a platform admin and a
// license-issuing seal of the other organization, the one licenses move
// to, bound to license issuance.
type transferFixture struct {
	fixture
	platformAdmin *authz.Actor
	otherAdmin    *authz.Actor
	otherSeal     string
}

func setupTransfer(t testing.TB, db *store.DB) transferFixture {
	t.Helper()
	f := transferFixture{fixture: setup(t, db)}
	ctx := context.Background()
	plat := f.approver.Org
	actor := func(orgCode, name string, r authz.Role) *authz.Actor {
		a, err := f.p.Orgs.CreateAccount(ctx, org.NewAccount{Org: orgCode, Name: name, Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Actor{AccountID: a.ID, Org: orgCode, Roles: a.Roles}
	}
	f.platformAdmin = actor(plat, "transfer-admin", authz.PlatformAdmin)
	f.otherAdmin = actor(f.otherOrg, "admin-b", authz.OrgAdmin)
	keeper := actor(f.otherOrg, "keeper-b", authz.SealKeeper)
	a, err := f.p.Seals.Apply(ctx, f.otherAdmin, seal.NewApplication{Org: f.otherOrg, Action: seal.Make, SealKind: seal.LicenseIssuing,
		Name: "证照专用章", Reason: "签发电子证照", Image: seal.SampleImage(), WidthMM: 40, HeightMM: 40, Keepers: []string{keeper.AccountID},
		Justification: "测试"})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = f.p.Seals.Decide(ctx, f.approver, a.ID, true, "同意"); err != nil {
		t.Fatal(err)
	}
	f.otherSeal = a.SealID
	f.decideOther(t, seal.Bind)
	return f
}

// decideOther applies for action on the other organization's seal and
// approves it.
func (f transferFixture) decideOther(t testing.TB, action seal.Action) {
	t.Helper()
	ctx := context.Background()
	a, err := f.p.Seals.Apply(ctx, f.otherAdmin, seal.NewApplication{Org: f.otherOrg, Action: action, SealID: f.otherSeal, Reason: "证照签发"})
	if err != nil {
		t.Fatalf("apply %s: %v", action, err)
	}
	if _, err := f.p.Seals.Decide(ctx, f.approver, a.ID, true, "同意"); err != nil {
		t.Fatalf("approve %s: %v", action, err)
	}
}

// issueN issues n licenses of the issuing organization, all active.
func (f transferFixture) issueN(t *testing.T, n int) []license.License {
	t.Helper()
	out := make([]license.License, n)
	for i := range out {
		out[i] = f.issue(t)
	}
	return out
}

func (f transferFixture) file(t *testing.T) license.TransferJob {
	t.Helper()
	j, err := f.p.Licenses.FileTransfer(context.Background(), f.platformAdmin, license.NewTransfer{From: f.issuerOrg, To: f.otherOrg, Reason: "机构改革"})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// actions counts the audit entries by action.
func (f transferFixture) actions(t *testing.T) map[string]int {
	t.Helper()
	all, err := f.db.AuditPending(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range all {
		out[e.Action]++
	}
	return out
}

// topics counts the outbox events by topic.
func (f transferFixture) topics(t *testing.T) map[string]int {
	t.Helper()
	evs, err := f.db.ListOutbox(context.Background(), notify.Filter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		out[e.Topic]++
	}
	return out
}

// transfers counts the transfer records in the history of each license.
func (f transferFixture) transfers(t *testing.T, ls []license.License) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, l := range ls {
		h, err := f.db.LicenseTransitions(context.Background(), license.HistoryFilter{LicenseID: l.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range h {
			if r.Operation == license.Transfer {
				out[l.ID]++
			}
		}
	}
	return out
}

// checkMovedOnce checks every license of ls moved to the other
// organization with exactly one transfer record and event each.
func (f transferFixture) checkMovedOnce(t *testing.T, ls []license.License, j license.TransferJob) {
	t.Helper()
	if j.State != license.TransferDone || j.Moved != int64(len(ls)) {
		t.Errorf("job %s moved %d of %d, want done with %d", j.State, j.Moved, j.Total, len(ls))
	}
	for id, n := range f.transfers(t, ls) {
		if n != 1 {
			t.Errorf("license %s has %d transfer records", id, n)
		}
	}
	if got := len(f.transfers(t, ls)); got != len(ls) {
		t.Errorf("%d of %d licenses have a transfer record", got, len(ls))
	}
	if got := f.topics(t)["license.transferred"]; got != len(ls) {
		t.Errorf("%d license.transferred events, want %d", got, len(ls))
	}
	for _, l := range ls {
		got, err := f.db.GetLicense(context.Background(), l.ID)
		if err != nil || got.Issuer != f.otherOrg {
			t.Errorf("license %s: issuer %s, %v", l.ID, got.Issuer, err)
		}
	}
}

// TestTransfer moves active, suspended and revoked licenses: all are the
// new issuer's; the live ones are re-signed by its seal in its status
// lists, their old versions superseded and readable; the revoked one
// keeps its signed version; history, audit and events are written.
func TestTransfer(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setupTransfer(t, db)
		ls := f.issueN(t, 5)
		ls = append(ls, f.inState(t, license.Suspended), f.inState(t, license.Revoked))
		j := f.file(t)
		if j.State != license.TransferQueued || j.Total != int64(len(ls)) || !slices.Equal(j.Types, []string{"PC0001"}) {
			t.Fatalf("filed %+v", j)
		}
		var seen []int64
		j, err := f.p.Licenses.RunTransfer(ctx, j.ID, "runner-a", license.TransferRun{Batch: 3,
			Progress: func(j license.TransferJob) { seen = append(seen, j.Moved) }})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seen, []int64{3, 6, 7, 7}) || j.Cursor != ls[len(ls)-1].ID {
			t.Errorf("progress %v, cursor %s", seen, j.Cursor)
		}
		f.checkMovedOnce(t, ls, j)
		newIssuer := f.other // an issuer account of the organization the licenses moved to
		for _, old := range ls {
			got, err := f.p.Licenses.Get(ctx, newIssuer, old.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.p.Licenses.Get(ctx, f.issuer, old.ID); !errors.Is(err, apperr.NotFound) {
				t.Errorf("the old issuer still reads %s: %v", old.ID, err)
			}
			if got.State != old.State {
				t.Errorf("%s: state %s, was %s", old.ID, got.State, old.State)
			}
			h, err := f.db.LicenseTransitions(ctx, license.HistoryFilter{LicenseID: old.ID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			last := h[len(h)-1]
			if last.Operation != license.Transfer || last.From != old.State || last.To != old.State || last.Reason != "机构改革" ||
				last.Actor != f.platformAdmin.AccountID {
				t.Errorf("%s: last transition %+v", old.ID, last)
			}
			if old.State.Terminal() {
				if got.Version != old.Version || got.SealID != f.sealID || got.Slot != old.Slot {
					t.Errorf("revoked %s was re-signed: %+v", old.ID, got)
				}
				continue
			}
			doc, err := f.p.Licenses.Document(ctx, newIssuer, old.ID)
			if err != nil {
				t.Fatal(err)
			}
			d, err := codec.Decode(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != old.Version+1 || got.SealID != f.otherSeal || got.Slot.List.Issuer != f.otherOrg ||
				d.License.Issuer.CreditCode != f.otherOrg || d.License.ID != old.ID ||
				d.License.Supersedes == nil || *d.License.Supersedes != (codec.Ref{ID: old.ID, Version: old.Version}) {
				t.Errorf("%s re-signed as %+v, document %+v", old.ID, got, d.License)
			}
			v, err := f.p.Trust.Verify(ctx, nil, doc)
			if err != nil {
				t.Fatal(err)
			}
			if v.SealCode != f.otherSeal || v.Valid != (old.State == license.Active) {
				t.Errorf("%s (%s) verifies %v by %s: %+v", old.ID, old.State, v.Valid, v.SealCode, v.Checks)
			}
			// The verification is logged for the license's issuer now.
			entries, err := f.db.AuditPending(ctx, f.otherOrg, 100000)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(entries, func(e auditlog.Entry) bool { return e.Action == "license.verify" && e.Subject == old.ID }) {
				t.Errorf("%s: no license.verify entry for the new issuer %s", old.ID, f.otherOrg)
			}
			want, _ := status.BitsOf(old.State.StatusState())
			if b := f.bits(t, got.Slot); b != want {
				t.Errorf("%s: new index bits %+v, want %+v", old.ID, b, want)
			}
			if b := f.bits(t, old.Slot); !b.Revocation {
				t.Errorf("%s: the old version's index is not revoked", old.ID)
			}
			prev, err := f.p.Licenses.VersionDocument(ctx, newIssuer, old.ID, old.Version)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := codec.Decode(prev); err != nil || p.License.Issuer.CreditCode != f.issuerOrg {
				t.Errorf("%s: old version %+v, %v", old.ID, p.License.Issuer, err)
			}
		}
		acts := f.actions(t)
		if acts["license.transfer"] != len(ls) || acts["license.transfer.filed"] != 1 || acts["license.transfer.done"] != 1 {
			t.Errorf("audit actions %v", acts)
		}
		uses, err := f.p.Seals.Uses(ctx, f.otherSeal)
		if err != nil || len(uses) != len(ls)-1 {
			t.Errorf("%d uses of the new seal, want %d: %v", len(uses), len(ls)-1, err)
		}
	})
}

// TestTransferRefuses refuses bad filings with their field and rule, and
// writes nothing.
func TestTransferRefuses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setupTransfer(t, db)
		f.issue(t)
		plat := f.approver.Org
		unknown, err := ids.NewCreditCode('1', '1', "350100", "MB000099")
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			actor *authz.Actor
			n     license.NewTransfer
			kind  apperr.Kind
			want  string
		}{
			{"an issuer", f.issuer, license.NewTransfer{From: f.issuerOrg, To: f.otherOrg, Reason: "x"}, apperr.Forbidden, "actor: platform-admin"},
			{"no reason", f.platformAdmin, license.NewTransfer{From: f.issuerOrg, To: f.otherOrg}, apperr.Invalid, "reason: required"},
			{"the same", f.platformAdmin, license.NewTransfer{From: f.issuerOrg, To: f.issuerOrg, Reason: "x"}, apperr.Invalid, "to: distinct"},
			{"unknown to", nil, license.NewTransfer{From: f.issuerOrg, To: unknown, Reason: "x"}, apperr.Invalid, "to: exists"},
			{"not an issuer", nil, license.NewTransfer{From: f.issuerOrg, To: plat, Reason: "x"}, apperr.Conflict, "to: issuer"},
			{"unknown type", nil, license.NewTransfer{From: f.issuerOrg, To: f.otherOrg, Types: []string{"ZZ0001"}, Reason: "x"}, apperr.Invalid, "types[0]: exists"},
			{"type of another issuer", nil, license.NewTransfer{From: f.otherOrg, To: f.issuerOrg, Types: []string{"PC0001", "BL0001"}, Reason: "x"},
				apperr.Conflict, "types[1]: issuer-of-type"},
			{"nothing issued", nil, license.NewTransfer{From: f.otherOrg, To: f.issuerOrg, Reason: "x"}, apperr.Conflict, "from: has-licenses"},
		}
		before, events := f.actions(t), f.topics(t)
		refused := func(name string, actor *authz.Actor, n license.NewTransfer, kind apperr.Kind, want string) {
			_, err := f.p.Licenses.FileTransfer(ctx, actor, n)
			if !errors.Is(err, kind) || !slices.Equal(rules(err), []string{want}) {
				t.Errorf("%s: %v (%q), want %s %s", name, err, rules(err), kind, want)
			}
		}
		wroteNothing := func() {
			t.Helper()
			if after := f.actions(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("refusals audited: %v -> %v", before, after)
			}
			if after := f.topics(t); fmt.Sprint(after) != fmt.Sprint(events) {
				t.Errorf("refusals wrote events: %v -> %v", events, after)
			}
		}
		for _, c := range cases {
			refused(c.name, c.actor, c.n, c.kind, c.want)
		}
		wroteNothing()
		f.decideOther(t, seal.Unbind)
		before, events = f.actions(t), f.topics(t)
		refused("no seal bound", nil, license.NewTransfer{From: f.issuerOrg, To: f.otherOrg, Reason: "x"}, apperr.Conflict, "to: seal-not-bound")
		wroteNothing()
		if js, err := f.db.ListTransfers(ctx, license.TransferFilter{Limit: 10}); err != nil || len(js) != 0 {
			t.Errorf("refusals filed %d jobs: %v", len(js), err)
		}
	})
}

var errKilled = errors.New("killed")

// killedAt is a BeforeCommit that kills the run in batch n, before it
// commits.
func killedAt(n int) func(int) error {
	return func(batch int) error {
		if batch == n {
			return errKilled
		}
		return nil
	}
}

// TestTransferResumes kills a run in its third batch, before the commit:
// the two batches committed are counted, another runner is refused while
// the lease holds, and takes the job over once it has run out; every
// license moves exactly once.
func TestTransferResumes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setupTransfer(t, db)
		ls := f.issueN(t, 12)
		j := f.file(t)
		_, err := f.p.Licenses.RunTransfer(ctx, j.ID, "runner-a", license.TransferRun{Batch: 4, BeforeCommit: killedAt(3)})
		if !errors.Is(err, errKilled) {
			t.Fatalf("killed run: %v", err)
		}
		j, err = f.p.Licenses.GetTransfer(ctx, nil, j.ID)
		if err != nil || j.State != license.TransferRunning || j.Moved != 8 || j.Cursor != ls[7].ID || j.LeaseOwner != "runner-a" {
			t.Fatalf("after the kill: %+v, %v", j, err)
		}
		if _, err := f.p.Licenses.RunTransfer(ctx, j.ID, "runner-b", license.TransferRun{}); !errors.Is(err, apperr.Conflict) ||
			!slices.Equal(rules(err), []string{"id: leased"}) {
			t.Fatalf("a second runner while the lease holds: %v", err)
		}
		f.clk.add(license.TransferLease + time.Second)
		j, err = f.p.Licenses.RunTransfer(ctx, j.ID, "runner-b", license.TransferRun{Batch: 4})
		if err != nil {
			t.Fatal(err)
		}
		f.checkMovedOnce(t, ls, j)
		if j.Total != 12 || j.LeaseOwner != "" {
			t.Errorf("done: %+v", j)
		}
	})
}

// TestTransferFailsAndResumes ends the new issuer's binding midway: the
// job fails with the reason and keeps what it moved; bound again and
// resumed, it moves the rest.
func TestTransferFailsAndResumes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setupTransfer(t, db)
		ls := f.issueN(t, 6)
		j := f.file(t)
		_, err := f.p.Licenses.RunTransfer(ctx, j.ID, "runner-a", license.TransferRun{Batch: 2, BeforeCommit: killedAt(2)})
		if !errors.Is(err, errKilled) {
			t.Fatal(err)
		}
		f.decideOther(t, seal.Unbind)
		j, err = f.p.Licenses.RunTransfer(ctx, j.ID, "runner-a", license.TransferRun{Batch: 2})
		if !errors.Is(err, apperr.Conflict) || j.State != license.TransferFailed || j.Moved != 2 || j.Failure == "" || j.LeaseOwner != "" {
			t.Fatalf("run without a binding: %+v, %v", j, err)
		}
		if _, err := f.p.Licenses.RunTransfer(ctx, j.ID, "runner-a", license.TransferRun{}); !slices.Equal(rules(err), []string{"id: state"}) {
			t.Fatalf("a failed job ran: %v", err)
		}
		f.decideOther(t, seal.Bind)
		if j, err = f.p.Licenses.ResumeTransfer(ctx, f.platformAdmin, j.ID); err != nil || j.State != license.TransferQueued || j.Failure != "" {
			t.Fatalf("resume: %+v, %v", j, err)
		}
		if j, err = f.p.Licenses.RunTransfer(ctx, j.ID, "runner-b", license.TransferRun{Batch: 2}); err != nil {
			t.Fatal(err)
		}
		f.checkMovedOnce(t, ls, j)
		if acts := f.actions(t); acts["license.transfer.failed"] != 1 || acts["license.transfer.resumed"] != 1 {
			t.Errorf("audit actions %v", acts)
		}
	})
}

// TestTransferCancel cancels a job between runs: it stops, keeping the
// licenses it moved, and does not run again.
func TestTransferCancel(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setupTransfer(t, db)
		f.issueN(t, 4)
		j := f.file(t)
		var cancelled license.TransferJob
		j, err := f.p.Licenses.RunTransfer(ctx, j.ID, "runner-a", license.TransferRun{Batch: 1, Progress: func(j license.TransferJob) {
			if j.Moved == 2 && cancelled.ID == "" {
				var err error
				if cancelled, err = f.p.Licenses.CancelTransfer(ctx, f.platformAdmin, j.ID); err != nil {
					t.Error(err)
				}
			}
		}})
		if err != nil || j.State != license.TransferCancelled || j.Moved != 2 {
			t.Fatalf("cancelled run: %+v, %v", j, err)
		}
		if _, err := f.p.Licenses.CancelTransfer(ctx, f.platformAdmin, j.ID); !slices.Equal(rules(err), []string{"id: state"}) {
			t.Errorf("cancel twice: %v", err)
		}
		if _, err := f.p.Licenses.RunTransfer(ctx, j.ID, "runner-a", license.TransferRun{}); !slices.Equal(rules(err), []string{"id: state"}) {
			t.Errorf("a cancelled job ran: %v", err)
		}
		left, err := f.db.CountTransferCandidates(ctx, f.issuerOrg, []string{"PC0001"})
		if err != nil || left != 2 {
			t.Errorf("%d licenses left with the old issuer, want 2: %v", left, err)
		}
	})
}

// twoStores opens a store twice, unlocked with one master key: what two
// processes have.
func twoStores(t *testing.T, postgres bool) (*store.DB, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, dsn, dir := storetest.OpenLocked(t, postgres)
	m := storetest.MasterKey(t)
	if err := db.Unlock(ctx, m, envelope.DefaultSuite, rand.Reader); err != nil {
		t.Fatal(err)
	}
	db2, err := store.Open(ctx, dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	if err := db2.Unlock(ctx, m, envelope.DefaultSuite, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return db, db2
}

// TestTransferRace has runners of two platform graphs (two processes) and
// several goroutines each run one job, every batch letting the lease run
// out so that the others take the job over: no license moves twice, none
// is left.
func TestTransferRace(t *testing.T) {
	for _, postgres := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[postgres]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, db2 := twoStores(t, postgres)
			f := setupTransfer(t, db)
			p2, err := platform.New(db2, platform.Options{Clock: f.clk.now})
			if err != nil {
				t.Fatal(err)
			}
			ls := f.issueN(t, 20)
			j := f.file(t)
			graphs := []*platform.Platform{f.p, p2}
			var wg sync.WaitGroup
			for i := range 6 {
				wg.Go(func() {
					owner := fmt.Sprintf("runner-%d", i)
					// Runners take the job from each other until it ends; a
					// loaded machine makes that slow, not wrong.
					for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
						cur, err := graphs[i%2].Licenses.RunTransfer(ctx, j.ID, owner, license.TransferRun{Batch: 3,
							BeforeCommit: func(int) error { f.clk.add(license.TransferLease + time.Second); return nil }})
						if err == nil && cur.State == license.TransferDone {
							return
						}
						if err != nil && !errors.Is(err, apperr.Conflict) {
							t.Error(err)
							return
						}
						if slices.Equal(rules(err), []string{"id: state"}) {
							return // done by another
						}
						time.Sleep(time.Millisecond)
					}
					t.Errorf("%s never saw the job end", owner)
				})
			}
			wg.Wait()
			j, err = f.p.Licenses.GetTransfer(ctx, nil, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			f.checkMovedOnce(t, ls, j)
		})
	}
}

// TestRunTransfers has serve's loop find a queued job and run it to its
// end.
func TestRunTransfers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		f := setupTransfer(t, db)
		ls := f.issueN(t, 3)
		j := f.file(t)
		done := make(chan struct{})
		go func() {
			f.p.Licenses.RunTransfers(ctx, "serve-1", 10*time.Millisecond, func(err error) { t.Error(err) })
			close(done)
		}()
		deadline := time.Now().Add(30 * time.Second)
		for j.State != license.TransferDone && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			var err error
			if j, err = f.p.Licenses.GetTransfer(ctx, nil, j.ID); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		<-done
		f.checkMovedOnce(t, ls, j)
	})
}
