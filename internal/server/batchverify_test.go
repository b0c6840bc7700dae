package server_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// TestVerifyBatchLicense verifies licenses issued as one batch over the
// API and offline against the trust bundle: each is valid with a passing
// batch-inclusion check, a changed one fails that check alone, and its
// neighbours in the batch stay valid. The document served is the one
// issued, batch member and all.
func TestVerifyBatchLicense(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		issuer := &authz.Actor{AccountID: le.issuerID, Org: le.issuerOrg, Roles: []authz.Role{authz.Issuer}}
		var ns []license.NewLicense
		for _, name := range []string{"王建国", "李秀英", "张伟"} {
			ns = append(ns, license.NewLicense{Type: "PC0001", HolderID: "11010519491231002x", HolderName: name, Face: le.sample})
		}
		batch, err := le.p.Licenses.IssueBatch(ctx, issuer, ns)
		if err != nil {
			t.Fatal(err)
		}
		var root struct {
			Fingerprint string `json:"fingerprint"`
		}
		le.do(http.MethodGet, "/api/v1/ca/root", le.issuer, "").want(t, http.StatusOK, "platform root").decode(t, &root)
		bundle := le.freshBundle(t, root.Fingerprint)
		for i, out := range batch {
			served := le.do(http.MethodGet, "/api/v1/licenses/"+out.License.ID+"/document", le.issuer, "").want(t, http.StatusOK, "document")
			var l api.License
			le.do(http.MethodGet, "/api/v1/licenses/"+out.License.ID, le.issuer, "").want(t, http.StatusOK, "license").decode(t, &l)
			if !bytes.Equal(served.body, out.Document) || !bytes.HasPrefix(served.body, []byte(`{"batch":`)) {
				t.Fatalf("license %d: served document differs from the one issued", i)
			}
			for name, v := range map[string]verify.Verdict{
				"online":  le.verifyOnline(t, le.otherIssuer, served.body),
				"offline": verify.License(ctx, served.body, bundle, time.Now()),
			} {
				onlyFailed(t, v)
				if len(v.Checks) != 13 || v.Checks[2].Name != verify.CheckBatchInclusion || !v.Checks[2].OK {
					t.Errorf("license %d %s: %+v", i, name, v.Checks)
				}
			}
		}
		changed := bytes.Replace(batch[1].Document, []byte("李秀英"), []byte("李秀瑛"), 1)
		onlyFailed(t, le.verifyOnline(t, le.issuer, changed), verify.CheckBatchInclusion)
		onlyFailed(t, verify.License(ctx, changed, bundle, time.Now()), verify.CheckBatchInclusion)
		if c := failed(t, le.verifyOnline(t, le.issuer, changed), verify.CheckBatchInclusion); !strings.Contains(c.Reason, "not leaf 1 of batch") {
			t.Errorf("batch-inclusion %+v", c)
		}
		onlyFailed(t, le.verifyOnline(t, le.issuer, batch[2].Document))
	})
}
