package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/trust"
	"github.com/zhengzhao/zhengzhao/verify"
)

// issued issues one residence permit and returns it with its signed
// document as served.
func (le licenseEnv) issued(t testing.TB) (api.License, []byte) {
	t.Helper()
	var l api.License
	le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue").decode(t, &l)
	doc := le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/document", le.issuer, "").want(t, http.StatusOK, "document")
	return l, doc.body
}

// freshBundle builds a trust bundle now and opens it as a verifier does,
// pinning the root of fingerprint.
func (le licenseEnv) freshBundle(t *testing.T, fingerprint string) *verify.Bundle {
	t.Helper()
	fresh, err := le.p.Trust.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(fresh)
	if err != nil {
		t.Fatal(err)
	}
	b, err := verify.OpenBundle(raw, fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyOnline posts doc to the verification endpoint with token.
func (le licenseEnv) verifyOnline(t *testing.T, token string, doc []byte) verify.Verdict {
	t.Helper()
	body, err := json.Marshal(api.VerifyLicense{Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	var v verify.Verdict
	le.do(http.MethodPost, "/api/v1/licenses/verify", token, string(body)).want(t, http.StatusOK, "verify").decode(t, &v)
	return v
}

// setState gives the license's credential the bits of state, in a store
// transaction, as the lifecycle will.
func (le licenseEnv) setState(t *testing.T, l api.License, state status.State) {
	t.Helper()
	slot := status.Slot{List: status.ListRef{Issuer: l.Issuer, Purposes: status.RevocationAndSuspension, Number: l.StatusList}, Index: l.StatusIndex}
	storetest.Write(t, le.db, func(tx *store.Tx) error { return le.status.SetState(context.Background(), tx, slot, state) })
}

// failed returns the check named name of v, and fails the test when v is
// valid, or when that check passed or is missing.
func failed(t *testing.T, v verify.Verdict, name string) verify.Check {
	t.Helper()
	for _, c := range v.Checks {
		if c.Name == name {
			if c.OK || v.Valid {
				t.Fatalf("check %s passed (valid %v): %+v", name, v.Valid, v.Checks)
			}
			return c
		}
	}
	t.Fatalf("no check %s in %+v", name, v.Checks)
	return verify.Check{}
}

// onlyFailed checks that the checks named are exactly those that failed.
func onlyFailed(t *testing.T, v verify.Verdict, names ...string) {
	t.Helper()
	var got []string
	for _, c := range v.Checks {
		if !c.OK && !c.Informational {
			got = append(got, c.Name)
		}
	}
	if strings.Join(got, ",") != strings.Join(names, ",") || v.Valid != (len(names) == 0) {
		t.Fatalf("failed checks %v (valid %v), want %v: %+v", got, v.Valid, names, v.Checks)
	}
}

// TestVerifyLicenseOnline verifies issued licenses over the API against
// the platform's records now: a good one, one changed byte, a revoked and
// a suspended one (at once, from the bits as committed), a type version no
// longer listed as approved; every verification is audited.
func TestVerifyLicenseOnline(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		l, doc := le.issued(t)

		v := le.verifyOnline(t, le.otherIssuer, doc) // any authenticated role verifies
		onlyFailed(t, v)
		if v.LicenseID != l.ID || v.SealCode != le.sealID || len(v.Checks) != 12 {
			t.Fatalf("verdict %+v", v)
		}
		for _, c := range v.Checks {
			if c.Name == verify.CheckStatus && (!strings.Contains(c.Reason, "s old)") || time.Since(c.AsOf) > time.Minute) {
				t.Errorf("status check %+v, want the live bits of now", c)
			}
		}

		changed := bytes.Replace(doc, []byte("王建国"), []byte("王建图"), 1)
		if bytes.Equal(changed, doc) {
			t.Fatal("fixture: the holder's name is not in the document")
		}
		v = le.verifyOnline(t, le.issuer, changed)
		onlyFailed(t, v, verify.CheckSignature)

		le.setState(t, l, status.Suspended)
		if c := failed(t, le.verifyOnline(t, le.issuer, doc), verify.CheckStatus); !strings.Contains(c.Reason, "suspended") {
			t.Errorf("status check %+v, want suspended", c)
		}
		le.setState(t, l, status.Revoked)
		v = le.verifyOnline(t, le.issuer, doc)
		onlyFailed(t, v, verify.CheckStatus)
		if c := failed(t, v, verify.CheckStatus); !strings.Contains(c.Reason, "revoked according to the revocation list") {
			t.Errorf("status check %+v, want revoked", c)
		}

		// A platform whose catalog approves no version of the type.
		l2, doc2 := le.issued(t)
		hidden := trust.New(trust.Deps{Seals: le.p.Seals, Catalog: unapproved{le.p.Catalog}, Status: le.status, Tx: db.AuditTx})
		v, err := hidden.Verify(ctx, nil, doc2)
		if err != nil {
			t.Fatal(err)
		}
		onlyFailed(t, v, verify.CheckTypeVersion)

		// Not a document, and no document.
		onlyFailed(t, le.verifyOnline(t, le.issuer, []byte(`{"license":{}}`)), verify.CheckStructure)
		pr := le.do(http.MethodPost, "/api/v1/licenses/verify", le.issuer, `{}`).want(t, http.StatusUnprocessableEntity, "no document").problem(t)
		if !namesField(pr, "document", "required") && !strings.Contains(pr.Detail, "document") {
			t.Errorf("problem %+v, want document/required", pr)
		}
		pr = le.do(http.MethodPost, "/api/v1/licenses/verify", le.issuer, `{"document":"eyJsaWNlbnNlIjp7fX0="}`).
			want(t, http.StatusUnprocessableEntity, "a base64 document").problem(t)
		if !namesField(pr, "document", "json-object") {
			t.Errorf("problem %+v, want document/json-object", pr)
		}
		le.do(http.MethodPost, "/api/v1/licenses/verify", "", `{"document":{}}`).want(t, http.StatusUnauthorized, "no token")

		pending, err := db.AuditPending(ctx, le.issuerOrg, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var outcomes []string
		for _, e := range pending {
			if e.Action == trust.Action && (e.Subject == l.ID || e.Subject == l2.ID) {
				outcomes = append(outcomes, e.Details["valid"]+":"+e.Details["failed"])
				if e.Actor == "" || e.Org != le.issuerOrg {
					t.Errorf("audit entry %+v", e)
				}
			}
		}
		want := "true:,false:signature,false:status,false:status,false:type-version"
		if strings.Join(outcomes, ",") != want {
			t.Errorf("audited verifications %v, want %s", outcomes, want)
		}
	})
}

// unapproved is a catalog that lists no approved version of any type.
type unapproved struct{ trust.Catalog }

func (unapproved) ListVersions(context.Context, catalog.VersionFilter, string) (page.Page[catalog.Version], error) {
	return page.Page[catalog.Version]{}, nil
}

// TestLicenseTrustBundle fetches the public trust bundle without a token
// and verifies offline with it: valid as of its snapshot, a revocation
// after the snapshot unseen until a new bundle, a stale snapshot reported
// with its age, a changed bundle and another root refused.
func TestLicenseTrustBundle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		l, doc := le.issued(t)
		var root struct {
			Fingerprint string `json:"fingerprint"`
		}
		le.do(http.MethodGet, "/api/v1/ca/root", le.issuer, "").want(t, http.StatusOK, "platform root").decode(t, &root)

		r := le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "public trust bundle")
		etag := r.header.Get("ETag")
		if etag == "" || r.header.Get("Content-Type") != "application/json" || !strings.HasPrefix(r.header.Get("Cache-Control"), "public") {
			t.Errorf("headers %v", r.header)
		}
		le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "", "If-None-Match", etag).want(t, http.StatusNotModified, "unchanged bundle")
		b, err := verify.OpenBundle(r.body, root.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.StatusLists) != 2 || len(b.TypeVersions) != 1 || b.TypeVersions[0].Type != "PC0001" {
			t.Fatalf("bundle lists %+v, types %+v", b.StatusLists, b.TypeVersions)
		}
		fetched := b.StatusLists[0].FetchedAt
		v := verify.License(ctx, doc, b, time.Now())
		onlyFailed(t, v)

		// Revoked after the snapshot: the bundle does not know yet, a new one does.
		le.setState(t, l, status.Revoked)
		onlyFailed(t, verify.License(ctx, doc, b, time.Now()))
		onlyFailed(t, verify.License(ctx, doc, le.freshBundle(t, root.Fingerprint), time.Now()), verify.CheckStatus)

		// A day and an hour on, the first snapshot is too old to say the
		// license is in force, and says how old it is.
		c := failed(t, verify.License(ctx, doc, b, fetched.Add(25*time.Hour)), verify.CheckStatus)
		if !c.Unknown || !strings.Contains(c.Reason, "(90000 s old), older than the maximum age of 24h0m0s") {
			t.Errorf("stale status check %+v", c)
		}

		tampered := bytes.Replace(r.body, []byte(`"approved":[1]`), []byte(`"approved":[1,2]`), 1)
		if bytes.Equal(tampered, r.body) {
			t.Fatal("fixture: no approved versions in the bundle")
		}
		if _, err := verify.OpenBundle(tampered, root.Fingerprint); !errors.Is(err, verify.ErrBundleSignature) {
			t.Errorf("tampered bundle: %v, want ErrBundleSignature", err)
		}
		if _, err := verify.OpenBundle(r.body, strings.Repeat("ab", 32)); !errors.Is(err, verify.ErrRootNotPinned) {
			t.Errorf("another pinned root: %v, want ErrRootNotPinned", err)
		}
		// The seal trust bundle is still served as before, to authenticated callers.
		le.do(http.MethodGet, "/api/v1/seals/trust-bundle", "", "").want(t, http.StatusUnauthorized, "seal bundle without a token")
		le.do(http.MethodGet, "/api/v1/seals/trust-bundle", le.issuer, "").want(t, http.StatusOK, "seal bundle")
	})
}

// TestConcurrentLicenseVerification verifies one license from many
// goroutines on two processes: every verdict valid, every one audited.
func TestConcurrentLicenseVerification(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		l, doc := le.issued(t)
		second := newProcess(t, db, time.Now)
		body, err := json.Marshal(api.VerifyLicense{Document: doc})
		if err != nil {
			t.Fatal(err)
		}
		const n = 32
		out := postConcurrently(n, []http.Handler{le.h, second.h}, "/api/v1/licenses/verify", le.tokens[authz.Auditor], body)
		for i, r := range out {
			var v verify.Verdict
			if r.status != http.StatusOK || json.Unmarshal(r.body, &v) != nil || !v.Valid {
				t.Fatalf("verification %d: %d %s", i, r.status, r.body)
			}
		}
		pending, err := db.AuditPending(context.Background(), le.issuerOrg, 1000)
		if err != nil {
			t.Fatal(err)
		}
		audited := 0
		for _, e := range pending {
			if e.Action == trust.Action && e.Subject == l.ID {
				audited++
			}
		}
		if audited != n {
			t.Errorf("%d verifications audited, want %d", audited, n)
		}
	})
}
