package server_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestHolderAuditEntries: a holder reads the audit entries about its
// licenses — its own reads, a using unit's redemption, the issuance — and
// nothing about another holder's; each proof of inclusion verifies, with
// x/mod's RFC 6962 code rather than the library the platform builds proofs
// with, against the signed checkpoint the answer carries.
func TestHolderAuditEntries(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		mine, _ := le.issued(t)
		other := issuedToOther(t, le)
		session := le.holderSession(t)
		le.do(http.MethodGet, "/api/v1/me/licenses/"+mine.ID, session, "").want(t, http.StatusOK, "read my license")
		le.redeem(t, le.tokens[authz.UsingUnit], le.presented(t, mine.ID).Payload, "开户")
		le.redeem(t, le.tokens[authz.UsingUnit], le.presented(t, other.ID).Payload, "开户")
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		var key struct {
			VerifierKey string `json:"verifier_key"`
		}
		le.do(http.MethodGet, "/api/v1/audit/checkpoint-key", le.issuer, "").want(t, http.StatusOK, "checkpoint key").decode(t, &key)

		var page api.HolderAuditPage
		le.do(http.MethodGet, "/api/v1/me/audit?limit=200", session, "").want(t, http.StatusOK, "my audit entries").decode(t, &page)
		if page.CheckpointKey != key.VerifierKey {
			t.Fatalf("the answer names checkpoint key %q, the platform's is %q", page.CheckpointKey, key.VerifierKey)
		}
		_, size, root, err := auditlog.VerifyCheckpoint([]byte(page.Checkpoint), key.VerifierKey)
		if err != nil || size != page.Size {
			t.Fatalf("checkpoint of size %d (answer says %d): %v", size, page.Size, err)
		}
		var th tlog.Hash
		copy(th[:], root)
		actions := map[string]int{}
		for _, it := range page.Items {
			if it.Entry.Subject != mine.ID {
				t.Fatalf("an entry about %s, not the holder's license: %+v", it.Entry.Subject, it.Entry)
			}
			actions[it.Entry.Action]++
			proof := make(tlog.RecordProof, len(it.Proof))
			for i, h := range it.Proof {
				b, err := hex.DecodeString(h)
				if err != nil || len(b) != tlog.HashSize {
					t.Fatalf("proof hash %q", h)
				}
				copy(proof[i][:], b)
			}
			if err := tlog.CheckRecord(proof, int64(page.Size), th, int64(it.Entry.Index), tlog.RecordHash(it.Leaf)); err != nil {
				t.Fatalf("entry %d does not prove into the checkpoint: %v", it.Entry.Index, err)
			}
		}
		if actions["license.issued"] != 1 || actions["license.read"] == 0 || actions["presentation.redeem"] != 1 {
			t.Fatalf("the holder's entries %v: want the issuance, its reads and the unit's redemption", actions)
		}
		// A tampered leaf does not prove.
		if len(page.Items) > 0 {
			it := page.Items[0]
			proof := make(tlog.RecordProof, len(it.Proof))
			for i, h := range it.Proof {
				b, _ := hex.DecodeString(h)
				copy(proof[i][:], b)
			}
			bad := append([]byte{}, it.Leaf...)
			bad[len(bad)/2] ^= 1
			if err := tlog.CheckRecord(proof, int64(page.Size), th, int64(it.Entry.Index), tlog.RecordHash(bad)); err == nil {
				t.Fatal("a changed entry proves")
			}
		}
		// The page is read as the holder's reads of its licenses.
		h, err := le.p.Holders.Ensure(ctx, holder.Claims{Kind: catalog.HolderPerson, Identifier: "11010519491231002X", Name: "王建国"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range holderEntries(t, db, h.ID, "license.read") {
			if e.Details["what"] == "audit" && e.Subject == mine.ID {
				found = true
			}
		}
		if !found {
			t.Error("reading the audit page is not logged as a read of the license")
		}
		// Paging: one entry at a time reaches the same entries.
		var first api.HolderAuditPage
		le.do(http.MethodGet, "/api/v1/me/audit?limit=1", session, "").want(t, http.StatusOK, "one entry").decode(t, &first)
		if len(first.Items) != 1 || first.Next == nil || first.Items[0].Entry.Index != page.Items[0].Entry.Index {
			t.Fatalf("first page %+v", first)
		}
		// Staff do not read a holder's view.
		le.do(http.MethodGet, "/api/v1/me/audit", le.issuer, "").want(t, http.StatusForbidden, "staff token")
		le.do(http.MethodGet, "/api/v1/me/audit", "", "").want(t, http.StatusUnauthorized, "no token")
	})
}
