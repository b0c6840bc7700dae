package license_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// pastValidity moves the clock past the one-year validity of a permit.
const pastValidity = 400 * 24 * time.Hour

func (f fixture) issue(t *testing.T) license.License {
	t.Helper()
	got, err := f.p.Licenses.Issue(context.Background(), f.issuer, f.permit())
	if err != nil {
		t.Fatal(err)
	}
	return got.License
}

func (f fixture) apply(t *testing.T, id string, op license.Operation) license.Transitioned {
	t.Helper()
	out, err := f.p.Licenses.Transition(context.Background(), f.issuer, id, license.TransitionRequest{Operation: op, Reason: "测试 " + string(op)})
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// expire moves the clock past the license's validity, expires what is due
// and moves the clock back.
func (f fixture) expire(t *testing.T) {
	t.Helper()
	f.clk.add(pastValidity)
	defer f.clk.add(-pastValidity)
	if _, err := f.p.Licenses.ExpireDue(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

// inState issues a license and brings it to state s.
func (f fixture) inState(t *testing.T, s license.State) license.License {
	t.Helper()
	l := f.issue(t)
	switch s {
	case license.Active:
		return l
	case license.Expired:
		f.expire(t)
	default:
		op := map[license.State]license.Operation{license.Suspended: license.Suspend, license.Pledged: license.Pledge,
			license.ReportedLost: license.ReportLost, license.Revoked: license.Revoke, license.Cancelled: license.Cancel,
			license.Abolished: license.Abolish}[s]
		f.apply(t, l.ID, op)
	}
	l, err := f.p.Licenses.Get(context.Background(), f.issuer, l.ID)
	if err != nil || l.State != s {
		t.Fatalf("license in %s: %+v, %v", l.State, l, err)
	}
	return l
}

// bits reads the status bits of slot through the published lists.
func (f fixture) bits(t *testing.T, slot status.Slot) status.Bits {
	t.Helper()
	var b status.Bits
	for _, p := range []status.Purpose{status.PurposeRevocation, status.PurposeSuspension} {
		set, err := f.db.StatusListBits(context.Background(), slot.List, p)
		if err != nil {
			t.Fatal(err)
		}
		on := slices.Contains(set, slot.Index)
		if p == status.PurposeRevocation {
			b.Revocation = on
		} else {
			b.Suspension = on
		}
	}
	return b
}

func isTransitionConflict(err error, state license.State) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && ae.Kind == apperr.Conflict && slices.Equal(rules(err), []string{"operation: transition"}) &&
		strings.Contains(ae.Detail, " is "+string(state)+";")
}

// TestTransitionTable applies every operation an issuer applies from every
// state, on a license brought there: the table's target state, bits,
// version and history when allowed; a Conflict naming the current state,
// and nothing written, when not.
func TestTransitionTable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		for _, tr := range license.Transitions() {
			if tr.Operation == license.Expire || tr.Operation == license.Transfer {
				continue
			}
			for _, from := range license.States() {
				l := f.inState(t, from)
				before := f.counts(t)
				out, err := f.p.Licenses.Transition(ctx, f.issuer, l.ID, license.TransitionRequest{Operation: tr.Operation, Reason: "依法处理"})
				if !tr.Allows(from) {
					if !isTransitionConflict(err, from) {
						t.Errorf("%s from %s: %v, want a conflict naming %s", tr.Operation, from, err, from)
					}
					if after := f.counts(t); after != before {
						t.Errorf("%s from %s refused, wrote %v -> %v", tr.Operation, from, before, after)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s from %s: %v", tr.Operation, from, err)
					continue
				}
				got := out.License
				wantVersion, wantUses := l.Version, before[1]
				if tr.Resign {
					wantVersion, wantUses = l.Version+1, before[1]+1
				}
				if got.State != tr.To || got.Version != wantVersion || out.Record.From != from || out.Record.To != tr.To || out.Record.Reason != "依法处理" {
					t.Errorf("%s from %s: state %s version %d record %+v", tr.Operation, from, got.State, got.Version, out.Record)
				}
				// One audit entry for the transition, one more for a
				// signature; one event.
				wantAudit := before[2] + 1
				if tr.Resign {
					wantAudit++
				}
				if after := f.counts(t); after != [4]int{before[0], wantUses, wantAudit, before[3] + 1} {
					t.Errorf("%s from %s wrote %v -> %v", tr.Operation, from, before, after)
				}
				want, _ := status.BitsOf(tr.To.StatusState())
				if b := f.bits(t, got.Slot); b != want {
					t.Errorf("%s from %s: bits %+v, want %+v", tr.Operation, from, b, want)
				}
				if tr.Resign {
					checkResigned(t, f, l, out)
				}
			}
		}
	})
}

// checkResigned checks a re-signed license: a new index, the old one
// superseded, the new document naming the old version and the old
// document still readable.
func checkResigned(t *testing.T, f fixture, old license.License, out license.Transitioned) {
	t.Helper()
	ctx := context.Background()
	if out.License.Slot == old.Slot {
		t.Errorf("version %d kept the index of version %d", out.License.Version, old.Version)
	}
	if b := f.bits(t, old.Slot); !b.Revocation {
		t.Errorf("the superseded version's index is not revoked: %+v", b)
	}
	doc, err := codec.Decode(out.Document)
	if err != nil {
		t.Fatal(err)
	}
	if doc.License.Supersedes == nil || *doc.License.Supersedes != (codec.Ref{ID: old.ID, Version: old.Version}) ||
		doc.License.Version != out.License.Version || doc.License.Status[0].Index != int64(out.License.Slot.Index) {
		t.Errorf("new document %+v", doc.License)
	}
	prev, err := f.p.Licenses.VersionDocument(ctx, f.issuer, old.ID, old.Version)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := codec.Decode(prev); err != nil || d.License.Version != old.Version {
		t.Errorf("old version %d: %+v, %v", old.Version, d.License, err)
	}
}

// TestTransitionRefuses refuses bad requests with their field and rule.
func TestTransitionRefuses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		l := f.issue(t)
		later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		cases := []struct {
			name string
			req  license.TransitionRequest
			kind apperr.Kind
			want []string
		}{
			{"no reason", license.TransitionRequest{Operation: license.Suspend, Reason: " "}, apperr.Invalid, []string{"reason: required"}},
			{"long reason", license.TransitionRequest{Operation: license.Suspend, Reason: strings.Repeat("由", 501)}, apperr.Invalid,
				[]string{"reason: max-length"}},
			{"unknown operation", license.TransitionRequest{Operation: "freeze", Reason: "x"}, apperr.Invalid, []string{"operation: one-of"}},
			{"expire by hand", license.TransitionRequest{Operation: license.Expire, Reason: "x"}, apperr.Invalid, []string{"operation: one-of"}},
			{"face with suspend", license.TransitionRequest{Operation: license.Suspend, Reason: "x", Face: f.personSample}, apperr.Invalid,
				[]string{"face: not-allowed"}},
			{"valid_until with reissue", license.TransitionRequest{Operation: license.Reissue, Reason: "x", ValidUntil: &later}, apperr.Invalid,
				[]string{"valid_until: not-allowed"}},
			{"unknown template version", license.TransitionRequest{Operation: license.Change, Reason: "x", TypeVersion: 9}, apperr.Invalid,
				[]string{"type_version: exists"}},
			{"bad face", license.TransitionRequest{Operation: license.Change, Reason: "x", Face: json.RawMessage(`{"name":"王建国"}`)}, apperr.Invalid, nil},
			{"end given to a fixed validity", license.TransitionRequest{Operation: license.Renew, Reason: "x", ValidUntil: &later}, apperr.Invalid,
				[]string{"valid_until: fixed"}},
		}
		before := f.counts(t)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.p.Licenses.Transition(ctx, f.issuer, l.ID, c.req)
				if !errors.Is(err, c.kind) || (c.want != nil && !slices.Equal(rules(err), c.want)) {
					t.Errorf("%v: rules %q, want %s %q", err, rules(err), c.kind, c.want)
				}
			})
		}
		if _, err := f.p.Licenses.Transition(ctx, f.other, l.ID, license.TransitionRequest{Operation: license.Revoke, Reason: "x"}); !errors.Is(err, apperr.NotFound) {
			t.Errorf("another organization's issuer revokes: %v", err)
		}
		if _, err := f.p.Licenses.Transition(ctx, f.admin, l.ID, license.TransitionRequest{Operation: license.Revoke, Reason: "x"}); !errors.Is(err, apperr.Forbidden) {
			t.Errorf("an org admin revokes: %v", err)
		}
		if after := f.counts(t); after != before {
			t.Errorf("refusals wrote %v -> %v", before, after)
		}
	})
}

// TestChangeKeepsHistory changes the face of a license twice and renews
// it: versions 1 to 4, each document readable, the history in order.
func TestChangeKeepsHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		l := f.issue(t)
		var face map[string]any
		if err := json.Unmarshal(f.personSample, &face); err != nil {
			t.Fatal(err)
		}
		face["name"] = "王建军"
		changed, _ := json.Marshal(face)
		out, err := f.p.Licenses.Transition(ctx, f.issuer, l.ID, license.TransitionRequest{Operation: license.Change, Reason: "姓名变更", Face: changed})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := codec.Decode(out.Document)
		if !strings.Contains(string(doc.License.Face), "王建军") || !out.License.ValidFrom.Equal(l.ValidFrom) {
			t.Errorf("changed face %s, valid from %s", doc.License.Face, out.License.ValidFrom)
		}
		f.apply(t, l.ID, license.Change) // the face kept
		f.clk.add(24 * time.Hour)
		renewed := f.apply(t, l.ID, license.Renew)
		if renewed.License.Version != 4 || !renewed.License.ValidFrom.Equal(f.clk.now().UTC().Truncate(time.Second)) ||
			!renewed.License.ValidUntil.Equal(renewed.License.ValidFrom.AddDate(1, 0, 0)) {
			t.Errorf("renewed %+v", renewed.License)
		}
		doc, _ = codec.Decode(renewed.Document)
		if !strings.Contains(string(doc.License.Face), "王建军") {
			t.Errorf("renewal lost the changed face: %s", doc.License.Face)
		}
		for v := int64(1); v <= 4; v++ {
			if _, err := f.p.Licenses.VersionDocument(ctx, f.issuer, l.ID, v); err != nil {
				t.Errorf("version %d: %v", v, err)
			}
		}
		if _, err := f.p.Licenses.VersionDocument(ctx, f.issuer, l.ID, 5); !errors.Is(err, apperr.NotFound) {
			t.Errorf("version 5: %v", err)
		}
		p, err := f.p.Licenses.History(ctx, f.issuer, l.ID, 2, "")
		if err != nil || len(p.Items) != 2 || p.Next == "" {
			t.Fatalf("first page %+v, %v", p, err)
		}
		rest, err := f.p.Licenses.History(ctx, f.issuer, l.ID, 2, p.Next)
		if err != nil || len(rest.Items) != 1 || rest.Next != "" {
			t.Fatalf("second page %+v, %v", rest, err)
		}
		all := append(p.Items, rest.Items...)
		for i, r := range all {
			if r.Seq != int64(i+1) || r.Version != int64(i+2) || r.Actor != f.issuer.AccountID {
				t.Errorf("record %d: %+v", i, r)
			}
		}
		if all[2].Operation != license.Renew || all[0].Reason != "姓名变更" {
			t.Errorf("history %+v", all)
		}
	})
}

// TestConcurrentTransitions races 20 transitions of one license, two
// operations of which neither is allowed after the other (suspend and
// pledge, both from active only; revoke and cancel, terminal): exactly one
// wins, the others are refused naming the state it left, one transition
// is recorded and audited, and the bits are the winner's.
func TestConcurrentTransitions(t *testing.T) {
	for _, ops := range [][2]license.Operation{{license.Suspend, license.Pledge}, {license.Revoke, license.Cancel}} {
		t.Run(string(ops[0])+"-"+string(ops[1]), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				raceTransitions(t, setup(t, db), ops)
			})
		})
	}
}

func raceTransitions(t *testing.T, f fixture, ops [2]license.Operation) {
	ctx := context.Background()
	l := f.issue(t)
	before, refusedBefore := f.counts(t), f.refusals(t)
	const n = 20
	errs := make([]error, n)
	storetest.Race(n, func(i int) {
		_, errs[i] = f.p.Licenses.Transition(ctx, f.issuer, l.ID, license.TransitionRequest{Operation: ops[i%2], Reason: "并发"})
	})
	got, err := f.p.Licenses.Get(ctx, f.issuer, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !isTransitionConflict(err, got.State):
			t.Errorf("a loser: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d transitions won, want 1", won)
	}
	if after := f.counts(t); after != [4]int{before[0], before[1], before[2] + 1, before[3] + 1} {
		t.Errorf("wrote %v -> %v", before, after)
	}
	if r := f.refusals(t) - refusedBefore; r != n-1 {
		t.Errorf("%d refusals logged, want %d", r, n-1)
	}
	want, _ := status.BitsOf(got.State.StatusState())
	if b := f.bits(t, got.Slot); b != want {
		t.Errorf("%s: bits %+v, want %+v", got.State, b, want)
	}
	h, err := f.p.Licenses.History(ctx, f.issuer, l.ID, 0, "")
	if err != nil || len(h.Items) != 1 {
		t.Errorf("history %+v, %v", h.Items, err)
	}
	t.Logf("%s: %d racing transitions, %d store retries", f.db.Dialect(), n, f.db.Retries())
}

// TestConcurrentChanges races changes of one license: each one commits in
// turn, so the versions are contiguous, every version has its own index,
// and all but the newest are superseded.
func TestConcurrentChanges(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		l := f.issue(t)
		const n = 8
		errs := make([]error, n)
		storetest.Race(n, func(i int) {
			_, errs[i] = f.p.Licenses.Transition(ctx, f.issuer, l.ID, license.TransitionRequest{Operation: license.Change, Reason: "并发变更"})
		})
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, apperr.Conflict) && !errors.Is(err, apperr.Unavailable) {
				t.Errorf("change: %v", err)
			}
		}
		got, err := f.p.Licenses.Get(ctx, f.issuer, l.ID)
		if err != nil || got.Version != int64(ok+1) {
			t.Fatalf("version %d after %d changes: %v", got.Version, ok, err)
		}
		indices := map[int]bool{}
		for v := int64(1); v <= got.Version; v++ {
			raw, err := f.p.Licenses.VersionDocument(ctx, f.issuer, l.ID, v)
			if err != nil {
				t.Fatalf("version %d: %v", v, err)
			}
			doc, err := codec.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			i := int(doc.License.Status[0].Index)
			if indices[i] {
				t.Fatalf("index %d twice", i)
			}
			indices[i] = true
			slot := got.Slot
			slot.Index = i
			if b := f.bits(t, slot); b.Revocation != (v < got.Version) {
				t.Errorf("version %d of %d: bits %+v", v, got.Version, b)
			}
		}
		t.Logf("%s: %d of %d racing changes committed, %d store retries", db.Dialect(), ok, n, db.Retries())
	})
}

// TestExpireDue expires licenses past their validity once, from several
// goroutines at once; a license not yet due, a revoked one and one renewed
// are left; an expired license renews.
func TestExpireDue(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		const due = 6
		var ids []string
		for range due {
			ids = append(ids, f.issue(t).ID)
		}
		f.apply(t, ids[1], license.Suspend)
		f.apply(t, ids[2], license.Pledge)
		revoked := f.inState(t, license.Revoked)
		f.clk.add(pastValidity)
		fresh := f.issue(t) // issued now: not due
		before := f.counts(t)
		var expired atomic.Int64
		errs := make([]error, 8)
		storetest.Race(len(errs), func(i int) {
			n, err := f.p.Licenses.ExpireDue(ctx, 2)
			for err == nil && n > 0 {
				expired.Add(int64(n))
				n, err = f.p.Licenses.ExpireDue(ctx, 2)
			}
			errs[i] = err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if expired.Load() != due {
			t.Errorf("%d expired, want %d", expired.Load(), due)
		}
		if after := f.counts(t); after != [4]int{before[0], before[1], before[2] + due, before[3] + due} {
			t.Errorf("wrote %v -> %v", before, after)
		}
		for _, id := range ids {
			l, err := f.p.Licenses.Get(ctx, f.issuer, id)
			if err != nil || l.State != license.Expired {
				t.Errorf("license %s: %s, %v", id, l.State, err)
			}
			if b := f.bits(t, l.Slot); b != (status.Bits{}) {
				t.Errorf("expired license %s: bits %+v", id, b)
			}
			h, err := f.p.Licenses.History(ctx, f.issuer, id, 0, "")
			if err != nil || h.Items[len(h.Items)-1].Operation != license.Expire || h.Items[len(h.Items)-1].Actor != "system" {
				t.Errorf("history of %s: %+v, %v", id, h.Items, err)
			}
		}
		for _, l := range []license.License{revoked, fresh} {
			got, _ := f.p.Licenses.Get(ctx, f.issuer, l.ID)
			if got.State != l.State {
				t.Errorf("license %s became %s", l.ID, got.State)
			}
		}
		if n, err := f.p.Licenses.ExpireDue(ctx, 0); n != 0 || err != nil {
			t.Errorf("a second run expired %d: %v", n, err)
		}
		renewed := f.apply(t, ids[0], license.Renew)
		if renewed.License.State != license.Active || !renewed.License.ValidUntil.After(f.clk.now()) {
			t.Errorf("renewed %+v", renewed.License)
		}
		events, err := f.db.ListOutbox(ctx, notify.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		topics := map[string]int{}
		for _, e := range events {
			topics[e.Topic]++
		}
		if topics["license.expired"] != due || topics["license.renewed"] != 1 {
			t.Errorf("topics %v", topics)
		}
	})
}

// TestConcurrentTransitionsOfOneIssuer suspends many licenses of one
// issuer at once, each its own: every one succeeds, though all change the
// same status list.
func TestConcurrentTransitionsOfOneIssuer(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		const n = 24
		ls := make([]license.License, n)
		for i := range ls {
			ls[i] = f.issue(t)
		}
		retries := db.Retries()
		errs := make([]error, n)
		start := time.Now()
		storetest.Race(n, func(i int) {
			_, errs[i] = f.p.Licenses.Transition(ctx, f.issuer, ls[i].ID, license.TransitionRequest{Operation: license.Suspend, Reason: "批量挂起"})
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("suspend %d: %v", i, err)
			}
		}
		t.Logf("%s: %d suspensions of one issuer's licenses at once in %s, %d store retries", db.Dialect(), n, time.Since(start).Round(time.Millisecond),
			db.Retries()-retries)
	})
}

// TestRunExpiry runs the expiry loop as serve does: a license past its
// validity expires without anyone asking, and the loop ends with its
// context.
func TestRunExpiry(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		f := setup(t, db)
		l := f.issue(t)
		f.clk.add(pastValidity)
		done := make(chan struct{})
		go func() {
			f.p.Licenses.RunExpiry(ctx, 10*time.Millisecond, func(err error) { t.Errorf("expiry: %v", err) })
			close(done)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := f.p.Licenses.Get(context.Background(), f.issuer, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == license.Expired {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("license still %s", got.State)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
	})
}
