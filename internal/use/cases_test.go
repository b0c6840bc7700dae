package use_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// caseOf lists every record of a case of unit as actor reads it.
func caseOf(t *testing.T, f useFixture, actor *authz.Actor, unit, kase string) []use.CaseRecord {
	t.Helper()
	p, err := f.svc.ListCase(context.Background(), actor, unit, kase, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

// TestCaseArchive: a use that names a case keeps each license it returns
// with the case, audited by its license.used entries; a license a use
// returned is attached afterwards once, with its own audit entry, however
// often it is asked; the case lists which license, type, number, matter,
// when, by whom and the use's audit entry; another unit neither attaches
// the bank's use nor reads its case; bad input writes nothing.
func TestCaseArchive(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setupUse(t, db)
		ctx := context.Background()
		const kase = "（2026）京0105民初1234号"
		before := auditCount(t, db)
		r, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1, Case: " " + kase + " "})
		if err != nil {
			t.Fatal(err)
		}
		if r.Case != kase || len(r.Licenses) != 1 || r.Use == "" {
			t.Fatalf("use = %+v", r)
		}
		entries := auditTail(t, db, before)
		if len(entries) != 1 || entries[0].Action != use.UsedAction || entries[0].Details["case"] != kase || entries[0].Details["use"] != r.Use {
			t.Fatalf("audit = %+v", entries)
		}
		used := entries[0]
		got := caseOf(t, f, f.bankStaff, "", kase)
		want := use.CaseRecord{Org: f.bank, Case: kase, LicenseID: f.permit1.ID, Use: r.Use, Matter: "HOTEL-1", MatterVersion: 1,
			UsedBy: f.bankStaff.AccountID, UsedAt: used.At, AttachedBy: f.bankStaff.AccountID, AttachedAt: used.At,
			TypeCode: "PC0001", Number: f.permit1.Number, Entry: &used.Index}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("case = %+v, want %+v", got, want)
		}

		// Holder 2's permit, used without a case, is attached afterwards,
		// once: a repeat answers the same record and writes nothing.
		f.advance(time.Minute)
		r2, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id2})
		if err != nil {
			t.Fatal(err)
		}
		before = auditCount(t, db)
		f.advance(time.Minute)
		a := use.Attachment{Case: kase, Use: r2.Use, LicenseID: f.permit2.ID}
		rec, err := f.svc.Attach(ctx, f.bankStaff, a)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Entry == nil || rec.UsedAt.Equal(rec.AttachedAt) || rec.Number != f.permit2.Number || rec.Use != r2.Use {
			t.Fatalf("attached = %+v", rec)
		}
		entries = auditTail(t, db, before)
		if len(entries) != 1 || entries[0].Action != use.CaseAttachedAction || entries[0].Org != f.bank || entries[0].Subject != f.permit2.ID ||
			entries[0].Details["case"] != kase || entries[0].Details["use"] != r2.Use {
			t.Fatalf("audit of the attachment = %+v", entries)
		}
		again, err := f.svc.Attach(ctx, f.bankStaff, a)
		if err != nil || !reflect.DeepEqual(again, rec) {
			t.Fatalf("repeat = %+v, %v; want %+v", again, err, rec)
		}
		if n := auditCount(t, db); n != before+1 {
			t.Fatalf("a repeat wrote %d entries", n-before-1)
		}
		if got := caseOf(t, f, f.bankStaff, f.bank, kase); len(got) != 2 || got[1].LicenseID != f.permit2.ID {
			t.Fatalf("case after attaching = %+v", got)
		}
		if got := caseOf(t, f, f.auditor, f.bank, kase); len(got) != 2 {
			t.Fatalf("the platform auditor reads %d records", len(got))
		}

		// Refusals write nothing.
		before = auditCount(t, db)
		for _, c := range []struct {
			actor *authz.Actor
			a     use.Attachment
			kind  apperr.Kind
			want  []string
		}{
			{f.hotelStaff, a, apperr.NotFound, []string{"use: exists"}},
			{f.bankStaff, use.Attachment{Case: kase, Use: r2.Use, LicenseID: f.permit1.ID}, apperr.NotFound, []string{"use: exists"}},
			{f.bankStaff, use.Attachment{Case: "a/b", Use: "x", LicenseID: ""}, apperr.Invalid,
				[]string{"case: case-number", "use: use-id", "license: required"}},
			{f.bankStaff, use.Attachment{Case: "", Use: r2.Use, LicenseID: f.permit2.ID}, apperr.Invalid, []string{"case: required"}},
			{f.issuerStaff, a, apperr.Forbidden, nil},
		} {
			_, err := f.svc.Attach(ctx, c.actor, c.a)
			wantErr(t, err, c.kind, c.want...)
		}
		_, err = f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1, Case: "x\x00"})
		wantErr(t, err, apperr.Invalid, "case: no-control")
		if n := auditCount(t, db); n != before {
			t.Fatalf("refusals wrote %d entries", n-before)
		}
		_, err = f.svc.ListCase(ctx, f.hotelStaff, f.bank, kase, "", 0)
		wantErr(t, err, apperr.Forbidden, "org: own-org")
		_, err = f.svc.ListCase(ctx, f.auditor, "", kase, "", 0)
		wantErr(t, err, apperr.Invalid, "org: required")
		if got := caseOf(t, f, f.hotelStaff, "", kase); len(got) != 0 {
			t.Fatalf("the hotel's case of the same number = %+v", got)
		}
		if got := caseOf(t, f, f.bankStaff, "", kase); len(got) != 2 {
			t.Fatalf("case after refusals = %+v", got)
		}
	})
}

// TestConcurrentCaseAttachments: 20 clients attach the same license of the
// same use at once, and 20 more use holder 1's permit for one case: one
// record and one audit entry of the first, 20 records of the others.
func TestConcurrentCaseAttachments(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setupUse(t, db)
		ctx := context.Background()
		r, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1})
		if err != nil {
			t.Fatal(err)
		}
		before := auditCount(t, db)
		var mu sync.Mutex
		var errs []error
		note := func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		storetest.Race(20, func(int) {
			rec, err := f.svc.Attach(ctx, f.bankStaff, use.Attachment{Case: "A-1", Use: r.Use, LicenseID: f.permit1.ID})
			if err == nil && rec.Use != r.Use {
				err = fmt.Errorf("record %+v", rec)
			}
			note(err)
		})
		storetest.Race(20, func(int) {
			r, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1, Case: "B-1"})
			if err == nil && len(r.Licenses) != 1 {
				err = fmt.Errorf("%d licenses", len(r.Licenses))
			}
			note(err)
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		attached := 0
		for _, e := range auditTail(t, db, before) {
			if e.Action == use.CaseAttachedAction {
				attached++
			}
		}
		if a, b := caseOf(t, f, f.bankStaff, "", "A-1"), caseOf(t, f, f.bankStaff, "", "B-1"); len(a) != 1 || attached != 1 || len(b) != 20 {
			t.Fatalf("%d records and %d entries of A-1, %d records of B-1", len(a), attached, len(b))
		}
	})
}

// TestUsageReport: an issuer reads how its licenses were used, by unit,
// matter and month of China Standard Time, uses and refused redemptions
// counted; nobody else reads it but the platform; bad months are named.
func TestUsageReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setupUse(t, db)
		ctx := context.Background()
		// 2026-11-30 08:00 UTC is 16:00 in November in Beijing.
		for _, id := range []string{f.id1, f.id2, f.id1} {
			if _, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: id}); err != nil {
				t.Fatal(err)
			}
		}
		// Nine hours on, it is 1 December in Beijing.
		f.advance(9 * time.Hour)
		if _, err := f.svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: f.id1}); err != nil {
			t.Fatal(err)
		}
		// Two redemptions of the permit by the hotel, one refused, as the
		// presentation service audits them (internal/present).
		storetest.Write(t, db, func(tx *store.Tx) error {
			for _, valid := range []string{"true", "false"} {
				if err := auditlog.Append(ctx, tx, auditlog.Entry{At: f.now(), Actor: f.hotelStaff.AccountID, Org: f.hotel,
					Action: "presentation.redeem", Subject: f.permit1.ID,
					Details: map[string]string{"valid": valid, "unit": f.hotel, "matter": "CHECK-IN"}}); err != nil {
					return err
				}
			}
			return nil
		})
		storetest.AuditEntries(t, db) // integrated: a report counts the log
		want := []use.UsageRow{
			{Issuer: f.issuer, Unit: f.bank, Matter: "HOTEL-1", Month: "2026-11", Uses: 3},
			{Issuer: f.issuer, Unit: f.bank, Matter: "HOTEL-1", Month: "2026-12", Uses: 1},
			{Issuer: f.issuer, Unit: f.hotel, Matter: "CHECK-IN", Month: "2026-12", Uses: 1, Refusals: 1},
		}
		for _, c := range []struct {
			actor *authz.Actor
			q     use.ReportQuery
			want  []use.UsageRow
		}{
			{f.issuerStaff, use.ReportQuery{From: "2026-11", To: "2026-12"}, want},
			{f.auditor, use.ReportQuery{From: "2026-11", To: "2026-12"}, want},
			{nil, use.ReportQuery{From: "2026-12", Issuer: f.issuer}, want[1:]},
			{f.issuerStaff, use.ReportQuery{From: "2026-10"}, nil},
		} {
			got, err := f.svc.Report(ctx, c.actor, c.q)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("report %+v = %+v, %v; want %+v", c.q, got, err, c.want)
			}
		}
		for _, c := range []struct {
			actor *authz.Actor
			q     use.ReportQuery
			kind  apperr.Kind
			want  []string
		}{
			{f.bankStaff, use.ReportQuery{From: "2026-11"}, apperr.Forbidden, nil},
			{f.issuerStaff, use.ReportQuery{From: "2026-11", Issuer: f.bank}, apperr.Forbidden, []string{"issuer: own-org"}},
			{f.issuerStaff, use.ReportQuery{From: "2026-13", To: "x"}, apperr.Invalid, []string{"from: month", "to: month"}},
			{f.issuerStaff, use.ReportQuery{}, apperr.Invalid, []string{"from: required", "to: required"}},
			{f.issuerStaff, use.ReportQuery{From: "2026-11", To: "2026-10"}, apperr.Invalid, []string{"to: not-before-from"}},
			{f.auditor, use.ReportQuery{From: "2020-01", To: "2025-01"}, apperr.Invalid, []string{"to: max-span"}},
		} {
			_, err := f.svc.Report(ctx, c.actor, c.q)
			wantErr(t, err, c.kind, c.want...)
		}
	})
}

// BenchmarkUsageReport reads an issuer's usage report of one month over a
// log holding 5,000 uses of its licenses (and what setting them up wrote),
// on the embedded store.
func BenchmarkUsageReport(b *testing.B) {
	db := storetest.OpenSQLite(b)
	f := setupUse(b, db)
	ctx := context.Background()
	svc := use.New(use.Deps{Store: db, Tx: db.UseTx, Query: db.UseQueryTx, Cases: db.UseCaseTx, Orgs: f.p.Orgs, Catalog: f.p.Catalog,
		Now: f.now, Rate: 1e9, Burst: 1 << 30})
	const uses = 5000
	for i := range uses {
		id := f.id1
		if i%2 == 1 {
			id = f.id2
		}
		if _, err := svc.Use(ctx, f.bankStaff, use.Query{Matter: "HOTEL-1", HolderID: id}); err != nil {
			b.Fatal(err)
		}
	}
	storetest.AuditEntries(b, db)
	q := use.ReportQuery{From: "2026-11"}
	for b.Loop() {
		rows, err := svc.Report(ctx, f.issuerStaff, q)
		if err != nil || len(rows) != 1 || rows[0].Uses != uses {
			b.Fatalf("report = %+v, %v", rows, err)
		}
	}
}
