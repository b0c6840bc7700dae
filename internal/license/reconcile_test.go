package license_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// tally is the count and digest of pairs, sorted first.
func tally(pairs []license.Pair) license.Tally {
	pairs = append([]license.Pair(nil), pairs...)
	license.SortPairs(pairs)
	d := license.NewDigester()
	for _, p := range pairs {
		d.Add(p)
	}
	return d.Tally()
}

// TestDigester pins the digest: SHA-256 over "number\tversion\n" lines in
// the numbers' byte order, which a shell computes the same way.
func TestDigester(t *testing.T) {
	// printf 'A-1\t2\nB-1\t1\n' | sha256sum
	got := tally([]license.Pair{{Number: "B-1", Version: 1}, {Number: "A-1", Version: 2}})
	if got.Count != 2 || got.Digest != "d03347b35d4369eb0660d0cc9a12759fdf7c33d0e145a6b90d5b43f27c1ab75d" {
		t.Errorf("%+v", got)
	}
	if empty := tally(nil); empty.Digest != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty %+v", empty)
	}
	d := license.NewDigester()
	if !d.Add(license.Pair{Number: "b", Version: 1}) || d.Add(license.Pair{Number: "a", Version: 1}) || d.Add(license.Pair{Number: "b", Version: 1}) {
		t.Error("a number out of order or repeated was taken")
	}
}

// reconcileFixture imports ten permits P-0…P-9 of the issuer, P-1 twice
// (version 2), and returns the platform's pairs.
func reconcileFixture(t *testing.T, f fixture) []license.Pair {
	t.Helper()
	ctx := context.Background()
	rows := f.importRows(t, "P", 10)
	j := f.startImport(t, "c")
	if _, err := f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 0, To: 10, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	changed := rows[1]
	changed.ValidFrom = changed.ValidFrom.AddDate(0, 0, -1)
	until := changed.ValidFrom.AddDate(5, 0, 0)
	changed.ValidUntil = &until
	if _, err := f.p.Licenses.ImportBatch(ctx, f.issuer, j.ID, license.ImportBatch{From: 10, To: 11, Rows: []license.ImportRow{changed}}); err != nil {
		t.Fatal(err)
	}
	pairs := make([]license.Pair, 10)
	for i := range pairs {
		pairs[i] = license.Pair{Number: fmt.Sprintf("P-%d", i), Version: 1}
	}
	pairs[1].Version = 2
	return pairs
}

// TestReconcile states what the issuer holds by count and digest and by
// list: the same as the platform matches; a number only the issuer lists
// (missing), one only the platform holds (extra) and one at another
// version are each counted and named; every reconciliation is recorded
// with its audit entry and listed, and bad input is refused naming the
// field.
func TestReconcile(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		pairs := reconcileFixture(t, f)
		// Another issuer's license of the type is not the issuer's.
		if _, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit()); err != nil {
			t.Fatal(err)
		}
		issued, err := db.ListLicenses(ctx, license.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range issued {
			if !strings.HasPrefix(l.Number, "P-") {
				pairs = append(pairs, license.Pair{Number: l.Number, Version: l.Version})
			}
		}
		want := tally(pairs)
		r, err := f.p.Licenses.Reconcile(ctx, f.issuer, license.NewReconciliation{Type: "pc0001", Count: want.Count, Digest: strings.ToUpper(want.Digest)})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Match || r.Platform != want || r.Stated != want || r.Listed || r.Issuer != f.issuerOrg || r.TypeCode != "PC0001" {
			t.Fatalf("stated as the platform holds: %+v", r)
		}
		r, err = f.p.Licenses.Reconcile(ctx, f.issuer, license.NewReconciliation{Type: "PC0001", Count: want.Count, Digest: tally(pairs[1:]).Digest})
		if err != nil || r.Match || r.Platform != want {
			t.Fatalf("another digest: %+v: %v", r, err)
		}
		r, err = f.p.Licenses.Reconcile(ctx, f.admin, license.NewReconciliation{Type: "PC0001", Listed: true, List: pairs})
		if err != nil || !r.Match || r.Missing+r.Extra+r.VersionDiffers != 0 || len(r.First) != 0 {
			t.Fatalf("the same list: %+v: %v", r, err)
		}
		// P-3 left out (extra), P-1 at version 1 (version), P-99 and
		// A-0 the platform lacks (missing).
		stated := []license.Pair{{Number: "P-99", Version: 1}, {Number: "A-0", Version: 3}}
		for _, p := range pairs {
			switch p.Number {
			case "P-3":
				continue
			case "P-1":
				p.Version = 1
			}
			stated = append(stated, p)
		}
		f.clk.add(time.Minute) // the newest, first in the list
		r, err = f.p.Licenses.Reconcile(ctx, f.issuer, license.NewReconciliation{Type: "PC0001", Listed: true, List: stated})
		if err != nil {
			t.Fatal(err)
		}
		if r.Match || r.Missing != 2 || r.Extra != 1 || r.VersionDiffers != 1 || r.Stated != tally(stated) || r.Platform != want {
			t.Fatalf("differences: %+v", r)
		}
		if got := fmt.Sprint(r.First); got != "[{A-0 missing 3 0} {P-1 version 1 2} {P-3 extra 0 1} {P-99 missing 1 0}]" {
			t.Fatalf("first differences %s", got)
		}
		// Every reconciliation is recorded and audited.
		pg, err := f.p.Licenses.ListReconciliations(ctx, f.issuer, "", 2, "")
		if err != nil || len(pg.Items) != 2 || pg.Next == "" || pg.Items[0].ID != r.ID || fmt.Sprint(pg.Items[0].First) != fmt.Sprint(r.First) {
			t.Fatalf("first page %+v: %v", pg, err)
		}
		pg, err = f.p.Licenses.ListReconciliations(ctx, f.issuer, "", 10, pg.Next)
		if err != nil || len(pg.Items) != 2 || pg.Next != "" {
			t.Fatalf("second page %+v: %v", pg, err)
		}
		if n := f.actions(t, "license.reconcile"); n != 4 {
			t.Fatalf("%d license.reconcile entries, want 4", n)
		}
		// Another issuer neither reads nor reconciles them; the platform
		// admin reads every issuer's.
		if pg, err := f.p.Licenses.ListReconciliations(ctx, f.other, "", 10, ""); err != nil || len(pg.Items) != 0 {
			t.Fatalf("another issuer's list %+v: %v", pg, err)
		}
		if _, err := f.p.Licenses.Reconcile(ctx, f.other, license.NewReconciliation{Type: "PC0001", Issuer: f.issuerOrg, Digest: want.Digest}); !errors.Is(err, apperr.Forbidden) {
			t.Fatalf("another issuer reconciled: %v", err)
		}
		if pg, err := f.p.Licenses.ListReconciliations(ctx, f.platformAdmin(t), "", 10, ""); err != nil || len(pg.Items) != 4 {
			t.Fatalf("the platform admin's list %+v: %v", pg, err)
		}
		r, err = f.p.Licenses.Reconcile(ctx, f.other, license.NewReconciliation{Type: "PC0001", Digest: tally(nil).Digest})
		if err != nil || !r.Match || r.Platform.Count != 0 {
			t.Fatalf("an issuer with none: %+v: %v", r, err)
		}

		for _, c := range []struct {
			n     license.NewReconciliation
			field string
		}{
			{license.NewReconciliation{Type: "PC0001", Digest: want.Digest[2:]}, "digest"},
			{license.NewReconciliation{Type: "PC0001", Digest: strings.Repeat("g", 64)}, "digest"},
			{license.NewReconciliation{Type: "PC0001", Count: -1, Digest: want.Digest}, "count"},
			{license.NewReconciliation{Type: "XX9999", Digest: want.Digest}, "type"},
			{license.NewReconciliation{Digest: want.Digest}, "type"},
			{license.NewReconciliation{Type: "PC0001", Issuer: "nonsense", Digest: want.Digest}, "issuer"},
			{license.NewReconciliation{Type: "PC0001", Listed: true, List: []license.Pair{{Number: "B", Version: 1}, {Number: "A", Version: 0}}}, "licenses[1].version"},
			{license.NewReconciliation{Type: "PC0001", Listed: true, List: []license.Pair{{Number: "A\tB", Version: 1}}}, "licenses[0].number"},
			{license.NewReconciliation{Type: "PC0001", Listed: true, List: []license.Pair{{Number: "A", Version: 1}, {Number: "A", Version: 2}}}, "licenses"},
		} {
			_, err := f.p.Licenses.Reconcile(ctx, f.issuer, c.n)
			if !errors.Is(err, apperr.Invalid) || fieldOf(err) != c.field {
				t.Errorf("%+v: %v (field %q), want %s", c.n, err, fieldOf(err), c.field)
			}
		}
		if n := f.actions(t, "license.reconcile"); n != 5 {
			t.Fatalf("%d license.reconcile entries after refusals, want 5", n)
		}
	})
}

// TestReconcileConcurrent has many clients reconcile at once on both
// stores, by digest and by list: each is answered the same and recorded
// once with its audit entry.
func TestReconcileConcurrent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		pairs := reconcileFixture(t, f)
		want := tally(pairs)
		const clients = 16
		var wg sync.WaitGroup
		errs := make([]error, clients)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := license.NewReconciliation{Type: "PC0001", Count: want.Count, Digest: want.Digest}
				if i%2 == 1 {
					n = license.NewReconciliation{Type: "PC0001", Listed: true, List: append([]license.Pair(nil), pairs[1:]...)}
				}
				r, err := f.p.Licenses.Reconcile(ctx, f.issuer, n)
				switch {
				case err != nil:
					errs[i] = err
				case r.Platform != want || r.Match != (i%2 == 0) || (i%2 == 1 && (r.Missing != 0 || r.Extra != 1)):
					errs[i] = fmt.Errorf("client %d: %+v", i, r)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		pg, err := f.p.Licenses.ListReconciliations(ctx, f.issuer, "", 100, "")
		if err != nil || len(pg.Items) != clients {
			t.Fatalf("%d recorded: %v", len(pg.Items), err)
		}
		seen := map[string]bool{}
		for _, r := range pg.Items {
			seen[r.ID] = true
		}
		if len(seen) != clients || f.actions(t, "license.reconcile") != clients {
			t.Fatalf("%d distinct records, %d entries", len(seen), f.actions(t, "license.reconcile"))
		}
		t.Logf("%s: %d transactions started again", db.Dialect(), db.Retries())
	})
}
