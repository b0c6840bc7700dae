package catalog_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

var (
	t0       = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	states   = []catalog.State{catalog.Draft, catalog.Pending, catalog.Approved, catalog.Rejected}
	actions  = []catalog.Action{catalog.Submit, catalog.Withdraw, catalog.Approve, catalog.Reject}
	goodTmpl = catalog.Template{Fields: []catalog.Field{field("name")}}
)

// TestTransitionTable spells out the whole state machine: every pair of
// state and action, allowed or not.
func TestTransitionTable(t *testing.T) {
	want := map[string]catalog.State{
		"draft submit":     catalog.Pending,
		"pending withdraw": catalog.Draft,
		"pending approve":  catalog.Approved,
		"pending reject":   catalog.Rejected,
	}
	for _, s := range states {
		for _, a := range actions {
			key := fmt.Sprintf("%s %s", s, a)
			to, ok := catalog.Next(s, a)
			if w, allowed := want[key]; ok != allowed || to != w {
				t.Errorf("Next(%s, %s) = %q, %v; want %q, %v", s, a, to, ok, w, allowed)
			}
		}
	}
}

// versionIn returns a version of goodTmpl by "author" in state s, reached
// through Apply.
func versionIn(t *testing.T, s catalog.State) catalog.Version {
	t.Helper()
	v, err := catalog.NewVersion("BL0001", 2, goodTmpl, "author")
	if err != nil {
		t.Fatal(err)
	}
	path := map[catalog.State][]catalog.Action{
		catalog.Pending:  {catalog.Submit},
		catalog.Approved: {catalog.Submit, catalog.Approve},
		catalog.Rejected: {catalog.Submit, catalog.Reject},
	}[s]
	for i, a := range path {
		by := "author"
		if a == catalog.Approve || a == catalog.Reject {
			by = "operator"
		}
		if v, err = v.Apply(a, by, t0.Add(time.Duration(i)*time.Hour), "because"); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if v.State != s {
		t.Fatalf("state %s, want %s", v.State, s)
	}
	return v
}

func TestApply(t *testing.T) {
	for _, s := range states {
		for _, a := range actions {
			t.Run(fmt.Sprintf("%s %s", s, a), func(t *testing.T) {
				v := versionIn(t, s)
				before := len(v.Events)
				next, err := v.Apply(a, "operator", t0.Add(24*time.Hour), "reason")
				to, ok := catalog.Next(s, a)
				if !ok {
					if got := fieldRules(t, err); !errors.Is(err, apperr.Conflict) || len(got) != 1 || got[0] != "state: transition" {
						t.Fatalf("Apply = %v, want a conflict on rule transition", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Apply = %v", err)
				}
				if next.State != to || v.State != s {
					t.Errorf("state %s -> %s, want %s -> %s (the original unchanged)", v.State, next.State, s, to)
				}
				last := next.Events[len(next.Events)-1]
				if len(next.Events) != before+1 || len(v.Events) != before || last != (catalog.Event{Action: a, By: "operator", At: t0.Add(24 * time.Hour), Reason: "reason"}) {
					t.Errorf("events %+v, want one more recording who, when and why", next.Events)
				}
			})
		}
	}
}

func TestApplyRules(t *testing.T) {
	t.Run("author cannot review", func(t *testing.T) {
		for _, a := range []catalog.Action{catalog.Approve, catalog.Reject} {
			_, err := versionIn(t, catalog.Pending).Apply(a, "author", t0, "mine")
			if got := fieldRules(t, err); !errors.Is(err, apperr.Forbidden) || len(got) != 1 || got[0] != "by: four-eyes" {
				t.Errorf("%s by the author = %v, want forbidden", a, err)
			}
		}
	})
	t.Run("rejection needs a reason", func(t *testing.T) {
		_, err := versionIn(t, catalog.Pending).Apply(catalog.Reject, "operator", t0, "  ")
		wantRules(t, err, "reason: required")
	})
	t.Run("reason is clean text", func(t *testing.T) {
		_, err := versionIn(t, catalog.Pending).Apply(catalog.Approve, "operator", t0, "ok\u202e")
		wantRules(t, err, "reason: bidi-control")
	})
	t.Run("actor required", func(t *testing.T) {
		_, err := versionIn(t, catalog.Draft).Apply(catalog.Submit, "", t0, "")
		wantRules(t, err, "by: required")
	})
	t.Run("an invalid template is neither submitted nor approved", func(t *testing.T) {
		v := versionIn(t, catalog.Draft)
		v, err := v.Edit(catalog.Template{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Apply(catalog.Submit, "author", t0, "")
		wantRules(t, err, "fields: required")
		v.State = catalog.Pending // as a store could hold it from an older rule
		_, err = v.Apply(catalog.Approve, "operator", t0, "")
		wantRules(t, err, "fields: required")
	})
}

func TestEditAndUsable(t *testing.T) {
	for _, s := range states {
		v := versionIn(t, s)
		edited, err := v.Edit(catalog.Template{Fields: []catalog.Field{field("other")}})
		if s == catalog.Draft {
			if err != nil || edited.Template.Fields[0].Key != "other" || v.Template.Fields[0].Key != "name" {
				t.Errorf("Edit of a draft = %v, %v", edited, err)
			}
		} else if got := fieldRules(t, err); !errors.Is(err, apperr.Conflict) || len(got) != 1 || got[0] != "state: immutable" {
			t.Errorf("Edit of a %s version = %v, want a conflict: only drafts change", s, err)
		}
		err = v.Usable()
		if (err == nil) != (s == catalog.Approved) {
			t.Errorf("Usable of a %s version = %v", s, err)
		}
		if got := fieldRules(t, err); err != nil && (!errors.Is(err, apperr.Conflict) || len(got) != 1 || got[0] != "version: approved") {
			t.Errorf("Usable of a %s version = %v, want a conflict", s, err)
		}
	}
}

func TestNewVersion(t *testing.T) {
	_, err := catalog.NewVersion("BL0001", 0, goodTmpl, "")
	wantRules(t, err, "number: range", "author: required")
}

func TestPick(t *testing.T) {
	approved := versionIn(t, catalog.Approved)
	pending := versionIn(t, catalog.Pending)
	pending.Number = 3
	versions := []catalog.Version{approved, pending}
	if v, err := catalog.Pick(versions, "BL0001", 2); err != nil || v.Number != 2 {
		t.Errorf("Pick approved = %v, %v", v.Number, err)
	}
	for _, tc := range []struct {
		code          string
		number        int
		kind          apperr.Kind
		field, reason string
	}{
		{"BL0001", 3, apperr.Conflict, "version", "approved"},
		{"BL0001", 4, apperr.NotFound, "version", "exists"},
		{"FP0001", 1, apperr.NotFound, "type", "exists"},
	} {
		_, err := catalog.Pick(versions, tc.code, tc.number)
		if got := fieldRules(t, err); !errors.Is(err, tc.kind) || len(got) != 1 || got[0] != tc.field+": "+tc.reason {
			t.Errorf("Pick(%s, %d) = %v, want %s on %s rule %s", tc.code, tc.number, err, tc.kind, tc.field, tc.reason)
		}
	}
}
