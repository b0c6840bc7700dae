package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/codec/vc"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestLicenseVCOverTheAPI exports an issued license as a Verifiable
// Credential: the issuer gets it as application/vc, its proof verifies
// with the public key its verificationMethod names, it restates the
// signed document, and each status entry names a list the platform
// publishes, in which the license's bit is clear. Another organization's
// issuer gets 404, and a holder of no issuer role 403.
func TestLicenseVCOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		var l api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue").decode(t, &l)
		doc := le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/document", le.issuer, "").want(t, http.StatusOK, "document")

		r := le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/vc", le.issuer, "").want(t, http.StatusOK, "export")
		if ct := r.header.Get("Content-Type"); ct != "application/vc" {
			t.Errorf("Content-Type %q, want application/vc", ct)
		}
		var unverified vc.Credential
		if err := json.Unmarshal(r.body, &unverified); err != nil || unverified.Proof == nil {
			t.Fatalf("export body %s: %v", r.body, err)
		}
		method, err := url.Parse(unverified.Proof.VerificationMethod)
		if err != nil {
			t.Fatal(err)
		}
		var key api.PublicKey
		le.do(http.MethodGet, method.Path, le.issuer, "").want(t, http.StatusOK, "verification method").decode(t, &key)
		pub, _, err := keys.ParsePublicPEM([]byte(key.PEM))
		if err != nil {
			t.Fatal(err)
		}
		c, err := vc.Verify(r.body, pub)
		if err != nil {
			t.Fatalf("the exported credential does not verify with %s: %v", method, err)
		}
		if err := c.Describes(doc.body); err != nil {
			t.Errorf("the credential does not restate the document: %v", err)
		}
		for _, e := range c.CredentialStatus {
			if e.StatusListIndex != strconv.Itoa(l.StatusIndex) {
				t.Errorf("%s entry index %s, want the license's %d", e.StatusPurpose, e.StatusListIndex, l.StatusIndex)
			}
			u, err := url.Parse(e.StatusListCredential)
			if err != nil {
				t.Fatal(err)
			}
			list := le.do(http.MethodGet, u.Path, "", "").want(t, http.StatusOK, "status list "+u.Path)
			lc, err := statuslist.ParseCredential(list.body, pub)
			if err != nil {
				t.Fatalf("status list %s: %v", u, err)
			}
			if set, err := statuslist.Check(e, lc); err != nil || set {
				t.Errorf("%s bit = %v, %v; want clear", e.StatusPurpose, set, err)
			}
		}

		le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/vc", le.otherIssuer, "").want(t, http.StatusNotFound, "another organization exports it")
		le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/vc", le.admin, "").want(t, http.StatusForbidden, "an org admin exports it")
		le.do(http.MethodGet, "/api/v1/licenses/"+l.ID[:24]+"99999999990/vc", le.issuer, "").want(t, http.StatusNotFound, "no such license")

		entries, err := db.AuditPending(context.Background(), "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Action == "license.exported" && e.Subject == l.ID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d license.exported entries, want 1 (refusals record nothing)", n)
		}
	})
}
