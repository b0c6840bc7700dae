package license_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// cst is a time in China Standard Time.
func cst(day string, hour, minute int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, license.AggregationZone)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// TestAggregationDeadline walks the deadlines across weekends: an
// increment is due the day of its completion, stock the fifth working
// day after it (2026-11-23 is a Monday), each day counted in China
// Standard Time whatever the zone of the times given.
func TestAggregationDeadline(t *testing.T) {
	for _, c := range []struct {
		completed string
		increment bool
		due       string
	}{
		{"2026-11-23", false, "2026-11-30"}, // Monday: the next Monday
		{"2026-11-26", false, "2026-12-03"}, // Thursday: a weekend inside
		{"2026-11-27", false, "2026-12-04"}, // Friday: the next Friday
		{"2026-11-28", false, "2026-12-04"}, // Saturday: counted from Monday
		{"2026-11-29", false, "2026-12-04"}, // Sunday
		{"2026-12-31", false, "2027-01-07"}, // across a year (New Year's Day not modelled)
		{"2026-11-27", true, "2026-11-27"},
		{"2026-11-28", true, "2026-11-28"}, // a Saturday's increment is due that Saturday
	} {
		got := license.AggregationDue(cst(c.completed, 0, 0), c.increment)
		if got.Format(time.DateOnly) != c.due || !got.Equal(cst(c.due, 0, 0)) {
			t.Errorf("completed %s increment %v: due %v, want %s", c.completed, c.increment, got, c.due)
		}
	}
	for _, c := range []struct {
		completed string
		imported  time.Time
		increment bool
		late      bool
	}{
		{"2026-11-27", cst("2026-11-27", 23, 59), true, false},
		// 16:30 UTC on Friday is already Saturday in China.
		{"2026-11-27", time.Date(2026, 11, 27, 16, 30, 0, 0, time.UTC), true, true},
		{"2026-11-27", time.Date(2026, 11, 27, 15, 59, 0, 0, time.UTC), true, false},
		{"2026-11-27", cst("2026-12-04", 23, 59), false, false},
		{"2026-11-27", cst("2026-12-05", 0, 0), false, true},
		{"2026-11-28", cst("2026-12-04", 12, 0), false, false},
		{"2026-11-29", cst("2026-12-07", 9, 0), false, true},
		{"2026-11-23", cst("2026-11-23", 9, 0), false, false},
		{"2026-11-23", cst("2026-11-30", 9, 0), false, false},
		{"2026-11-23", cst("2026-12-01", 9, 0), false, true},
	} {
		if got := license.AggregationLate(cst(c.completed, 0, 0), c.imported, c.increment); got != c.late {
			t.Errorf("completed %s imported %v increment %v: late %v, want %v", c.completed, c.imported, c.increment, got, c.late)
		}
	}
}

// platformAdmin is a platform admin of the fixture's platform
// organization.
func (f fixture) platformAdmin(t *testing.T) *authz.Actor {
	t.Helper()
	plat, err := ids.NewCreditCode('1', '1', "350100", "MB000001")
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.p.Orgs.CreateAccount(context.Background(), org.NewAccount{Org: plat, Name: fmt.Sprintf("admin-%d", time.Now().UnixNano()),
		Roles: []authz.Role{authz.PlatformAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	return &authz.Actor{AccountID: a.ID, Org: plat, Roles: a.Roles}
}

// TestLatenessReport imports stock and an increment with completion dates
// on both sides of their deadlines, issues a license, and reads the
// counts back per kind and month, as the issuer and the platform admin;
// another issuer reads nothing of them and may not name them.
func TestLatenessReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db) // Monday 2026-11-23, 16:00 in China
		if _, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit()); err != nil {
			t.Fatal(err)
		}
		stock := f.importRows(t, "S", 4)
		// In time: today, a Monday a week ago (due today); late: a
		// Friday two weeks ago (due the last Friday), a day in October.
		for i, day := range []string{"2026-11-23", "2026-11-16", "2026-11-13", "2026-10-30"} {
			stock[i].CompletedOn = cst(day, 0, 0)
		}
		j := f.startImport(t, "a")
		if _, err := f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 0, To: 4, Rows: stock}); err != nil {
			t.Fatal(err)
		}
		inc := f.importRows(t, "I", 3)
		for i, day := range []string{"2026-11-23", "2026-11-22", "2026-11-20"} {
			inc[i].CompletedOn = cst(day, 0, 0)
		}
		ji, _, err := f.p.Licenses.StartImport(ctx, f.issuer, license.NewImport{Type: "PC0001", FileName: "daily.csv",
			FileDigest: fmt.Sprintf("%064x", 1), Increment: true})
		if err != nil || !ji.Increment {
			t.Fatalf("increment job %+v: %v", ji, err)
		}
		if _, err := f.p.Licenses.ImportBatch(ctx, f.issuer, ji.ID, license.ImportBatch{From: 0, To: 3, Rows: inc}); err != nil {
			t.Fatal(err)
		}
		if got, err := f.p.Licenses.GetImport(ctx, f.issuer, ji.ID); err != nil || !got.Increment {
			t.Fatalf("the job read back %+v: %v", got, err)
		}
		want := fmt.Sprintf("[{%[1]s PC0001 2026-10 stock 0 1} {%[1]s PC0001 2026-11 increment 1 2} {%[1]s PC0001 2026-11 issued 1 0} "+
			"{%[1]s PC0001 2026-11 stock 2 1}]", f.issuerOrg)
		for _, a := range []*authz.Actor{f.issuer, f.admin, f.platformAdmin(t), nil} {
			rows, err := f.p.Licenses.Lateness(ctx, a, license.LatenessQuery{From: "2026-10", To: "2026-11"})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(rows); got != want {
				t.Fatalf("report\n got %s\nwant %s", got, want)
			}
		}
		rows, err := f.p.Licenses.Lateness(ctx, f.issuer, license.LatenessQuery{From: "2026-11"})
		if err != nil || len(rows) != 3 {
			t.Fatalf("November alone: %v: %v", rows, err)
		}
		if rows, err := f.p.Licenses.Lateness(ctx, f.other, license.LatenessQuery{From: "2026-10", To: "2026-11"}); err != nil || len(rows) != 0 {
			t.Fatalf("another issuer's report: %v: %v", rows, err)
		}
		_, err = f.p.Licenses.Lateness(ctx, f.other, license.LatenessQuery{From: "2026-11", Issuer: f.issuerOrg})
		if !errors.Is(err, apperr.Forbidden) {
			t.Fatalf("another issuer named: %v", err)
		}
		for q, field := range map[license.LatenessQuery]string{
			{From: ""}: "from", {From: "2026-13"}: "from", {From: "2026-11", To: "2026-10"}: "to", {From: "2020-01", To: "2026-11"}: "to",
			{From: "2026-11", Issuer: "x"}: "issuer",
		} {
			_, err := f.p.Licenses.Lateness(ctx, f.issuer, q)
			if fe := fieldOf(err); !errors.Is(err, apperr.Invalid) || fe != field {
				t.Errorf("%+v: %v (field %q), want %s", q, err, fe, field)
			}
		}
	})
}

// fieldOf is the first field an error names.
func fieldOf(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return e.Fields[0].Field
	}
	return ""
}
