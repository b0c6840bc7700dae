package license_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/codec/vc"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// exports returns the license.exported audit entries written so far.
func (f fixture) exports(t *testing.T) []auditlog.Entry { return f.audited(t, license.ExportedAction) }

// audited returns the audit entries of action written so far.
func (f fixture) audited(t *testing.T, action string) []auditlog.Entry {
	t.Helper()
	all, err := f.db.AuditPending(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditlog.Entry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// credentialKey returns the public key the platform signs credentials
// with: its status-list key.
func credentialKey(t *testing.T, p *platform.Platform) any {
	t.Helper()
	ctx := context.Background()
	plat, err := p.Orgs.Platform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := p.Keys.StatusListSigner(ctx, plat.CreditCode, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer.Public()
}

func TestExport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		got, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
		if err != nil {
			t.Fatal(err)
		}
		l := got.License
		out, err := f.p.Licenses.ExportVC(ctx, f.issuer, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := vc.Verify(out, credentialKey(t, f.p))
		if err != nil {
			t.Fatalf("the exported credential does not verify with the status-list key: %v", err)
		}
		if err := c.Describes(got.Document); err != nil {
			t.Errorf("the credential does not restate the signed document: %v", err)
		}
		if c.Proof.Cryptosuite != statuslist.SuiteSM2JCS || c.Proof.Created != f.clk.now().Format("2006-01-02T15:04:05Z") {
			t.Errorf("proof %+v", c.Proof)
		}
		for i, e := range c.CredentialStatus {
			want, err := statuslist.NewEntry(l.Slot.List.URL(platform.DefaultPublicURL, e.StatusPurpose), e.StatusPurpose, l.Slot.Index)
			if err != nil || e != want {
				t.Errorf("credentialStatus[%d] = %+v, want the slot's %+v (%v)", i, e, want, err)
			}
		}
		doc, err := f.p.Licenses.Export(ctx, f.issuer, l.ID, license.ExportDocument)
		if err != nil || string(doc) != string(got.Document) {
			t.Errorf("document export differs (%v)", err)
		}
		entries := f.exports(t)
		if len(entries) != 2 {
			t.Fatalf("%d export entries, want 2", len(entries))
		}
		if e := entries[0]; e.Actor != f.issuer.AccountID || e.Org != f.issuerOrg || e.Subject != l.ID ||
			e.Details["format"] != "vc" || e.Details["version"] != "1" || e.Details["cryptosuite"] != statuslist.SuiteSM2JCS ||
			e.Details["verification_method"] != c.Proof.VerificationMethod {
			t.Errorf("audit entry %+v", e)
		}
		if entries[1].Details["format"] != "document" {
			t.Errorf("audit entry %+v", entries[1])
		}

		// Refusals export and record nothing.
		for _, r := range []struct {
			name   string
			do     func() error
			kind   apperr.Kind
			fields []string
		}{
			{"another organization's issuer", func() error { _, err := f.p.Licenses.ExportVC(ctx, f.other, l.ID); return err }, apperr.NotFound, nil},
			{"no such license", func() error { _, err := f.p.Licenses.ExportVC(ctx, f.issuer, l.ID[:24]+"99999999990"); return err }, apperr.NotFound, nil},
			{"not an issuer", func() error { _, err := f.p.Licenses.ExportVC(ctx, f.admin, l.ID); return err }, apperr.Forbidden, []string{"actor: issuer-role"}},
			{"unknown format", func() error { _, err := f.p.Licenses.Export(ctx, f.issuer, l.ID, "pdf"); return err }, apperr.Invalid, []string{"format: enum"}},
		} {
			if err := r.do(); !errors.Is(err, r.kind) || (r.fields != nil && rules(err)[0] != r.fields[0]) {
				t.Errorf("%s: %v (%q), want %s %q", r.name, err, rules(err), r.kind, r.fields)
			}
		}
		if n := len(f.exports(t)); n != 2 {
			t.Errorf("refused exports wrote %d audit entries", n-2)
		}
	})
}

// TestConcurrentExports exports one license from many goroutines at once:
// each export succeeds with its own audit entry, on both stores.
func TestConcurrentExports(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		got, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
		if err != nil {
			t.Fatal(err)
		}
		pub := credentialKey(t, f.p)
		const n = 40
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				format := license.ExportVC
				if i%4 == 0 {
					format = license.ExportDocument
				}
				out, err := f.p.Licenses.Export(ctx, f.issuer, got.License.ID, format)
				if err == nil && format == license.ExportVC {
					_, err = vc.Verify(out, pub)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("export %d: %v", i, err)
			}
		}
		if got := len(f.exports(t)); got != n {
			t.Errorf("%d export entries, want %d", got, n)
		}
		t.Logf("%s: %d exports, %d store retries", db.Dialect(), n, db.Retries())
	})
}
