package license_test

import (
	"context"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestReadsAreLogged: every answer that carries license data records the
// read, naming the reader, the license and what was read; a license of
// another organization is not found and no read is recorded.
func TestReadsAreLogged(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		l := f.issue(t)
		reads := func() map[string]int {
			t.Helper()
			all, err := db.AuditPending(ctx, "", 100000)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, e := range all {
				if e.Action == license.ReadAction && e.Subject == l.ID && e.Actor == f.issuer.AccountID && e.Org == f.issuerOrg {
					got[e.Details["what"]]++
				}
			}
			return got
		}
		if _, err := f.p.Licenses.Get(ctx, f.issuer, l.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Licenses.Document(ctx, f.issuer, l.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Licenses.VersionDocument(ctx, f.issuer, l.ID, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Licenses.History(ctx, f.issuer, l.ID, 10, ""); err != nil {
			t.Fatal(err)
		}
		if p, err := f.p.Licenses.List(ctx, f.issuer, license.Filter{}, ""); err != nil || len(p.Items) != 1 {
			t.Fatalf("list: %v, %v", p.Items, err)
		}
		want := map[string]int{"license": 1, "document": 1, "document v1": 1, "history": 1, "list": 1}
		got := reads()
		for k, n := range want {
			if got[k] != n {
				t.Errorf("reads logged %v, want %v", got, want)
				break
			}
		}
		if _, err := f.p.Licenses.Get(ctx, f.other, l.ID); !errors.Is(err, apperr.NotFound) {
			t.Errorf("another organization's issuer reads the license: %v", err)
		}
		if _, err := f.p.Licenses.VersionDocument(ctx, f.issuer, l.ID, 2); !errors.Is(err, apperr.NotFound) {
			t.Errorf("a version that does not exist: %v", err)
		}
		if after := reads(); len(after) != len(got) || after["document v2"] != 0 {
			t.Errorf("refused reads were logged as reads: %v", after)
		}
	})
}
