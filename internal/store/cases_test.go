package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// TestCaseRecordsStore: a record reads back with its license's type and
// number and, once integrated, the index of the use's license.used entry;
// a second insert of it changes nothing; pages follow the uses; the used
// entry is found pending and integrated, never another use's or license's;
// the usage report counts integrated uses and refusals per issuer, unit,
// matter and Beijing month.
func TestCaseRecordsStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		bank := contactOrg("91350100M000100Y43")
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOrg(ctx, bank) })
		materialLicense(t, db, "L1")
		materialLicense(t, db, "L22")
		// 2026-11-30 16:30 UTC is 1 December 00:30 in Beijing.
		at := time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC)
		used := func(license, useID string, at time.Time) auditlog.Entry {
			return auditlog.Entry{At: at, Actor: "acc_1", Org: "11350100MB0000027N", Action: use.UsedAction, Subject: license,
				Details: map[string]string{"unit": bank.CreditCode, "matter": "KH-001", "matter_version": "2", "use": useID}}
		}
		storetest.Write(t, db, func(tx *store.Tx) error {
			for _, e := range []auditlog.Entry{used("L1", "use_a", at), used("L22", "use_a", at), used("L1", "use_b", at.Add(-time.Hour))} {
				if err := auditlog.Append(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if e, err := db.UsedEntry(ctx, "L1", "use_b"); err != nil || !e.Pending || e.Subject != "L1" || e.Details["use"] != "use_b" {
			t.Fatalf("pending used entry = %+v, %v", e, err)
		}
		for _, c := range [][2]string{{"L1", "use_c"}, {"L2", "use_a"}, {"L22", "use_b"}} {
			if _, err := db.UsedEntry(ctx, c[0], c[1]); !errors.Is(err, apperr.NotFound) {
				t.Errorf("used entry of %s by %s: %v", c[0], c[1], err)
			}
		}
		rec := func(license, useID string) use.CaseRecord {
			return use.CaseRecord{Org: bank.CreditCode, Case: "C/1", LicenseID: license, Use: useID, Matter: "KH-001", MatterVersion: 2,
				UsedBy: "acc_1", UsedAt: at, AttachedBy: "acc_2", AttachedAt: at.Add(time.Minute), TypeCode: "PC0001", Number: license}
		}
		for i, r := range []use.CaseRecord{rec("L22", "use_a"), rec("L1", "use_a"), rec("L1", "use_a"), rec("L1", "use_b")} {
			if r.Use == "use_b" {
				r.UsedAt = at.Add(-time.Hour)
			}
			var added bool
			storetest.Write(t, db, func(tx *store.Tx) error {
				var err error
				added, err = tx.InsertCaseRecord(ctx, r)
				return err
			})
			if added != (i != 2) {
				t.Errorf("insert %d added %v", i, added)
			}
		}
		got, err := db.GetCaseRecord(ctx, bank.CreditCode, "C/1", "L1", "use_a")
		if want := rec("L1", "use_a"); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("pending record = %+v, %v; want %+v", got, err, want)
		}
		entries, _ := storetest.AuditEntries(t, db)
		var page []use.CaseRecord
		for after := ""; ; {
			p, err := db.ListCaseRecords(ctx, use.CaseFilter{Org: bank.CreditCode, Case: "C/1", After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			page = append(page, p...)
			if len(p) < 2 {
				break
			}
			after = p[len(p)-1].Use + "|" + p[len(p)-1].LicenseID
		}
		var order []string
		for _, r := range page {
			if r.Entry == nil || entries[*r.Entry].Subject != r.LicenseID || entries[*r.Entry].Details["use"] != r.Use {
				t.Fatalf("record %+v names entry %v", r, r.Entry)
			}
			order = append(order, r.Use+"|"+r.LicenseID)
		}
		if want := []string{"use_a|L1", "use_a|L22", "use_b|L1"}; !reflect.DeepEqual(order, want) {
			t.Fatalf("records %q, want %q", order, want)
		}
		if _, err := db.GetCaseRecord(ctx, bank.CreditCode, "C/2", "L1", "use_a"); !errors.Is(err, apperr.NotFound) {
			t.Errorf("record of another case: %v", err)
		}
		if e, err := db.UsedEntry(ctx, "L1", "use_b"); err != nil || e.Pending || e.Details["use"] != "use_b" {
			t.Fatalf("integrated used entry = %+v, %v", e, err)
		}

		// A redemption refused, and one of a license of another issuer.
		storetest.Write(t, db, func(tx *store.Tx) error {
			return auditlog.Append(ctx, tx, auditlog.Entry{At: at, Actor: "acc_3", Org: bank.CreditCode, Action: "presentation.redeem",
				Subject: "L22", Details: map[string]string{"valid": "false", "unit": bank.CreditCode}})
		})
		storetest.AuditEntries(t, db)
		report, err := db.UsageReport(ctx, use.ReportFilter{From: at.Add(-24 * time.Hour), To: at.Add(time.Hour)})
		want := []use.UsageRow{
			{Issuer: "11350100MB0000027N", Unit: bank.CreditCode, Matter: "KH-001", Month: "2026-11", Uses: 1},
			{Issuer: "11350100MB0000027N", Unit: bank.CreditCode, Matter: "", Month: "2026-12", Refusals: 1},
			{Issuer: "11350100MB0000027N", Unit: bank.CreditCode, Matter: "KH-001", Month: "2026-12", Uses: 2},
		}
		if err != nil || !reflect.DeepEqual(report, want) {
			t.Fatalf("report = %+v, %v; want %+v", report, err, want)
		}
		if report, err := db.UsageReport(ctx, use.ReportFilter{Issuer: bank.CreditCode, From: at.Add(-24 * time.Hour), To: at.Add(time.Hour)}); err != nil || len(report) != 0 {
			t.Fatalf("report of an issuer of no license = %+v, %v", report, err)
		}
	})
}
