package license_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// presentations returns the license.presented audit entries written so far.
func (f fixture) presentations(t *testing.T) []auditlog.Entry {
	return f.audited(t, license.PresentedAction)
}

// issuedPermit issues the fixture's residence permit.
func (f fixture) issuedPermit(t *testing.T) license.Issued {
	t.Helper()
	got, err := f.p.Licenses.Issue(context.Background(), f.issuer, f.permit())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// presentationKey returns the public key and kid of the platform's
// presentation key.
func presentationKey(t *testing.T, p *platform.Platform) (any, []byte) {
	t.Helper()
	ctx := context.Background()
	plat, err := p.Orgs.Platform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := p.Keys.PresentationSigner(ctx, plat.CreditCode, "")
	if err != nil {
		t.Fatal(err)
	}
	kid, err := qr.KeyID(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return signer.Public(), kid
}

func TestPresent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		got := f.issuedPermit(t)
		l := got.License
		pr, err := f.p.Licenses.Present(ctx, f.issuer, l.ID, license.PresentRequest{Disclose: []string{"issuing_authority", "residence_address", "signed_off_years"}})
		if err != nil {
			t.Fatal(err)
		}
		pub, kid := presentationKey(t, f.p)
		parsed, err := qr.Decode(pr.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if string(parsed.KID) != string(kid) || string(pr.KID) != string(kid) || len(kid) != qr.KeyIDSize {
			t.Errorf("kid %x (returned %x), want %x", parsed.KID, pr.KID, kid)
		}
		c, err := qr.Verify(parsed, pub, f.clk.now(), 0)
		if err != nil {
			t.Fatalf("the payload does not verify with the presentation key: %v", err)
		}
		now := f.clk.now()
		if !c.IssuedAt.Equal(now) || !c.Expires.Equal(now.Add(60*time.Second)) {
			t.Errorf("iat %s exp %s, want %s and a minute later", c.IssuedAt, c.Expires, now)
		}
		if len(c.Fields) != 3 || c.Fields["issuing_authority"] == nil {
			t.Errorf("fields %v, want the three disclosed", c.Fields)
		}
		if _, ok := c.Fields["citizen_id"]; ok {
			t.Error("an undisclosed field is in the payload")
		}
		if c.Holder != "王**" || c.Issuer != platform.DefaultPublicURL || c.LicenseID != l.ID || c.TypeCode != "PC0001" ||
			c.TypeVersion != 1 || c.IssuerCode != f.issuerOrg || c.StatusIndex != uint64(l.Slot.Index) ||
			c.RevocationList != l.Slot.List.URL(platform.DefaultPublicURL, "revocation") ||
			c.SuspensionList != l.Slot.List.URL(platform.DefaultPublicURL, "suspension") {
			t.Errorf("claims %+v", c)
		}
		es := f.presentations(t)
		if len(es) != 1 || es[0].Subject != l.ID || es[0].Actor != f.issuer.AccountID || es[0].Org != f.issuerOrg ||
			es[0].Details["disclosed"] != "issuing_authority,residence_address,signed_off_years" {
			t.Errorf("audit entries %+v", es)
		}
		// A longer lifetime, within the limit.
		pr, err = f.p.Licenses.Present(ctx, f.issuer, l.ID, license.PresentRequest{TTL: 10 * time.Minute})
		if err != nil || !pr.Claims.Expires.Equal(now.Add(10*time.Minute)) || len(pr.Claims.Fields) != 0 {
			t.Errorf("10 min presentation: %+v, %v", pr.Claims, err)
		}
	})
}

func TestPresentRefuses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		got := f.issuedPermit(t)
		id := got.License.ID
		cases := []struct {
			name  string
			req   license.PresentRequest
			kind  apperr.Kind
			rules []string
		}{
			{name: "sensitive", req: license.PresentRequest{Disclose: []string{"name", "citizen_id"}}, kind: apperr.Invalid, rules: []string{"disclose[1]: sensitive"}},
			{name: "unknown", req: license.PresentRequest{Disclose: []string{"nope"}}, kind: apperr.Invalid, rules: []string{"disclose[0]: unknown-field"}},
			{name: "twice", req: license.PresentRequest{Disclose: []string{"sex", "sex"}}, kind: apperr.Invalid, rules: []string{"disclose[1]: duplicate"}},
			{name: "too long", req: license.PresentRequest{TTL: 11 * time.Minute}, kind: apperr.Invalid, rules: []string{"ttl: range"}},
			{name: "negative", req: license.PresentRequest{TTL: -time.Second}, kind: apperr.Invalid, rules: []string{"ttl: range"}},
		}
		for _, c := range cases {
			_, err := f.p.Licenses.Present(ctx, f.issuer, id, c.req)
			if !errors.Is(err, c.kind) || !slices.Equal(rules(err), c.rules) {
				t.Errorf("%s: %v (%v), want %s %v", c.name, err, rules(err), c.kind, c.rules)
			}
		}
		if _, err := f.p.Licenses.Present(ctx, f.other, id, license.PresentRequest{}); !errors.Is(err, apperr.NotFound) {
			t.Errorf("another organization's license: %v, want not found", err)
		}
		if _, err := f.p.Licenses.Present(ctx, f.admin, id, license.PresentRequest{}); !errors.Is(err, apperr.Forbidden) {
			t.Errorf("an account without the issuer role: %v, want forbidden", err)
		}
		if _, err := f.p.Licenses.Transition(ctx, f.issuer, id, license.TransitionRequest{Operation: license.Revoke, Reason: "依法吊销"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Licenses.Present(ctx, f.issuer, id, license.PresentRequest{}); !errors.Is(err, apperr.Conflict) {
			t.Errorf("a revoked license: %v, want conflict", err)
		}
		if es := f.presentations(t); len(es) != 0 {
			t.Errorf("refused presentations were audited: %+v", es)
		}
	})
}

// TestConcurrentPresent: presentations of one license at once each get
// their own nonce and audit entry.
func TestConcurrentPresent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		got := f.issuedPermit(t)
		const n = 16
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			nonces = map[[qr.NonceSize]byte]bool{}
		)
		for range n {
			wg.Go(func() {
				pr, err := f.p.Licenses.Present(ctx, f.issuer, got.License.ID, license.PresentRequest{Disclose: []string{"issuing_authority"}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				nonces[pr.Claims.Nonce] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(nonces) != n {
			t.Errorf("%d distinct nonces, want %d", len(nonces), n)
		}
		if es := f.presentations(t); len(es) != n {
			t.Errorf("%d audit entries, want %d", len(es), n)
		}
	})
}
