package seal_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// racers is how many requests a race test sends at once.
const racers = 20

// outcome counts the answers of PIN races: evaluated wrong PINs, tries
// refused because the seal is locked, successes and anything else.
type outcome struct {
	mu                         sync.Mutex
	wrong, refused, ok, others int
	errs                       []error
}

func (o *outcome) add(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err == nil:
		o.ok++
	case rule(err) == "pin":
		o.wrong++
	case errors.Is(err, seal.ErrPINLocked) && errors.Is(err, apperr.Conflict):
		o.refused++
	default:
		o.others++
		o.errs = append(o.errs, err)
	}
}

// orgEntries integrates what is pending and returns the audit entries
// about the fixture's organization, in log order.
func (f fixture) orgEntries(t *testing.T) []auditlog.Entry {
	t.Helper()
	ctx := context.Background()
	if _, err := auditlog.IntegrateAll(ctx, f.db); err != nil {
		t.Fatal(err)
	}
	entries, err := f.db.AuditEntriesOfOrg(ctx, f.orgA, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// sealActions lists the audit actions about seal id in log order.
func sealActions(t *testing.T, f fixture, id string) []string {
	t.Helper()
	var out []string
	for _, e := range f.orgEntries(t) {
		if e.Subject == id {
			out = append(out, e.Action)
		}
	}
	return out
}

func countOf(xs []string, v string) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

// pinSeal makes a seal whose use needs no approval, sets its PIN and files
// one approved use request for doc.
func (f fixture) pinSeal(t *testing.T, doc []byte) (seal.Seal, seal.UseRequest) {
	t.Helper()
	ctx := context.Background()
	x := f.makeSeal(t, seal.NoApproval)
	if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "135790"); err != nil {
		t.Fatal(err)
	}
	req, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf(doc), "合同", "签约")
	if err != nil || req.Status != seal.UseApproved {
		t.Fatalf("use request: %+v %v", req, err)
	}
	return x, req
}

// lockRace runs try, which gives a wrong PIN, in 20 goroutines at once and
// checks that exactly 5 PINs were evaluated, the other tries refused
// unevaluated, and one seal.locked entry written.
func (f fixture) lockRace(t *testing.T, id string, try func() error) {
	t.Helper()
	var o outcome
	storetest.Race(racers, func(int) { o.add(try()) })
	if o.wrong != 5 || o.refused != racers-5 || o.ok != 0 || o.others != 0 {
		t.Fatalf("%d wrong PINs evaluated, %d refused, %d succeeded, other errors %v; want 5 evaluated, %d refused", o.wrong, o.refused, o.ok, o.errs, racers-5)
	}
	if n := countOf(sealActions(t, f, id), "seal.locked"); n != 1 {
		t.Errorf("%d seal.locked entries, want 1", n)
	}
}

// TestPINLockUnderConcurrentSigning sends 20 signing requests with wrong
// PINs at once to a fresh seal (R-SEAL-4): exactly 5 PINs are evaluated,
// the others are refused unevaluated, and the seal locks once.
func TestPINLockUnderConcurrentSigning(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		doc := []byte("doc")
		x, req := f.pinSeal(t, doc)
		f.lockRace(t, x.ID, func() error {
			_, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "999999"})
			return err
		})
		got, err := f.svc.GetSeal(ctx, x.ID)
		if err != nil || !got.Locked || got.PINFailures != 5 {
			t.Fatalf("seal after the race: locked %v, %d failures (%v); want locked after 5", got.Locked, got.PINFailures, err)
		}
		if uses, _ := f.svc.Uses(ctx, x.ID); len(uses) != 0 {
			t.Errorf("%d uses recorded, want none", len(uses))
		}
	})
}

// TestPINLockUnderConcurrentChange is the same race on the PIN change.
func TestPINLockUnderConcurrentChange(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x, _ := f.pinSeal(t, []byte("doc"))
		before, _ := f.svc.GetSeal(ctx, x.ID)
		f.lockRace(t, x.ID, func() error {
			_, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "999999", "246810")
			return err
		})
		got, err := f.svc.GetSeal(ctx, x.ID)
		if err != nil || !got.Locked || got.PINHash != before.PINHash {
			t.Fatalf("seal after the race: locked %v, PIN changed %v (%v); want locked, PIN kept", got.Locked, got.PINHash != before.PINHash, err)
		}
	})
}

// TestNoSignatureAfterLock sends, after 4 wrong PINs, the right PIN and 3
// wrong ones at once, three times: a signature is either committed before
// the seal locks or not at all. The same after 3 wrong PINs with the right
// one racing 19 wrong ones, where the right one has a try to win: without
// a signature no more PINs are evaluated than tries were left.
func TestNoSignatureAfterLock(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		// The right PIN goes from several places of the start line: the
		// scheduler favours some.
		for round, sc := range []struct{ before, racing, right int }{{4, 3, 0}, {4, 3, 3}, {4, 3, 2}, {3, 19, 19}, {3, 19, 10}} {
			doc := []byte{'d', byte(round)}
			x, req := f.pinSeal(t, doc)
			for i := range sc.before {
				if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "999999"}); rule(err) != "pin" {
					t.Fatalf("wrong PIN %d: %v", i+1, err)
				}
			}
			var o outcome
			storetest.Race(1+sc.racing, func(i int) {
				pin := "999999"
				if i == sc.right {
					pin = "135790"
				}
				_, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: pin})
				o.add(err)
			})
			if o.others != 0 || o.ok > 1 {
				t.Fatalf("round %d: %d signed, unexpected errors %v", round, o.ok, o.errs)
			}
			if left := 5 - sc.before; o.ok == 0 && o.wrong > left {
				t.Errorf("round %d: %d wrong PINs evaluated with %d tries left and no signature", round, o.wrong, left)
			}
			actions := sealActions(t, f, x.ID)
			signed, locked := slices.Index(actions, "seal.sign"), slices.Index(actions, "seal.locked")
			if countOf(actions, "seal.locked") > 1 {
				t.Errorf("round %d: several seal.locked entries: %v", round, actions)
			}
			if signed >= 0 && locked >= 0 && locked < signed {
				t.Errorf("round %d: a signature committed after the lock: %v", round, actions)
			}
			uses, _ := f.svc.Uses(ctx, x.ID)
			if len(uses) != o.ok || (o.ok == 1) != (signed >= 0) {
				t.Errorf("round %d: %d signatures returned, %d uses, audit %v", round, o.ok, len(uses), actions)
			}
			got, _ := f.svc.GetSeal(ctx, x.ID)
			if got.Locked != (locked >= 0) {
				t.Errorf("round %d: locked %v, audit %v", round, got.Locked, actions)
			}
			t.Logf("round %d: signed %d, wrong %d, refused %d, locked %v", round, o.ok, o.wrong, o.refused, got.Locked)
		}
	})
}
