package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// publicURL is the platform's public base URL in these tests.
const publicURL = "https://zz.example.gov.cn"

// TestStatusListServed fetches a published status list without a token:
// 200 with a credential whose proof verifies with the platform's
// status-list key, cache headers, 304 for its ETag, a set bit after a
// change of state with a new ETag, and 404 for lists that do not exist.
func TestStatusListServed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		var slots []status.Slot
		for range 2 {
			storetest.Write(t, db, func(tx *store.Tx) error {
				a, err := e.status.Allocate(ctx, tx, e.orgA)
				slots = append(slots, a.Slot)
				return err
			})
		}
		path := status.ListRef{Issuer: e.orgA, Number: 1}.URL("", statuslist.PurposeRevocation)
		if path != "/status/v1/"+e.orgA+"/1/revocation" {
			t.Fatalf("list path %s", path)
		}
		r := e.do(http.MethodGet, path, "", "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		for h, want := range map[string]string{"Content-Type": "application/vc", "Cache-Control": "public, max-age=5"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		etag := r.header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
			t.Errorf("ETag %q is not a strong entity tag", etag)
		}
		_, k, err := e.keys.StatusListSigner(ctx, e.platform, "")
		if err != nil {
			t.Fatal(err)
		}
		if k.Algorithm != keys.SM2SM3 {
			t.Errorf("status-list key made %s, want SM2 by default", k.Algorithm)
		}
		pub, err := k.Public()
		if err != nil {
			t.Fatal(err)
		}
		bit := func(r response, i int) bool {
			t.Helper()
			c, err := statuslist.ParseCredential(r.body, pub)
			if err != nil {
				t.Fatalf("served list does not verify: %v", err)
			}
			if c.ID != publicURL+path || c.Proof.Cryptosuite != statuslist.SuiteSM2JCS || !strings.Contains(c.Proof.VerificationMethod, k.ID) {
				t.Errorf("credential id %s, suite %s, method %s", c.ID, c.Proof.Cryptosuite, c.Proof.VerificationMethod)
			}
			entry, err := statuslist.NewEntry(c.ID, statuslist.PurposeRevocation, i)
			if err != nil {
				t.Fatal(err)
			}
			set, err := statuslist.Check(entry, c)
			if err != nil {
				t.Fatal(err)
			}
			return set
		}
		if bit(r, slots[0].Index) || bit(r, slots[1].Index) {
			t.Error("a bit is set before any change")
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			if r := e.do(http.MethodGet, path, "", "", "If-None-Match", inm); r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
				t.Errorf("If-None-Match %s: %d, ETag %q, %d bytes; want 304, the same ETag, no body", inm, r.status, r.header.Get("ETag"), len(r.body))
			}
		}
		if r := e.do(http.MethodGet, path, "", "", "If-None-Match", `"other"`); r.status != http.StatusOK {
			t.Errorf("If-None-Match of another tag: %d, want 200", r.status)
		}
		if again := e.do(http.MethodGet, path, e.tokens["auditor"], ""); again.status != http.StatusOK || string(again.body) != string(r.body) {
			t.Errorf("unchanged list fetched again (with a token): %d, not the same bytes", again.status)
		}

		storetest.Write(t, db, func(tx *store.Tx) error { return e.status.SetState(ctx, tx, slots[0], status.Revoked) })
		r2 := e.do(http.MethodGet, path, "", "", "If-None-Match", etag)
		if r2.status != http.StatusOK {
			t.Fatalf("after a change, the old ETag: %d, want 200", r2.status)
		}
		if r2.header.Get("ETag") == etag {
			t.Error("the ETag did not change with the list")
		}
		if !bit(r2, slots[0].Index) || bit(r2, slots[1].Index) {
			t.Error("after revoking the first slot: bits are not (1, 0)")
		}

		for _, c := range []struct {
			path string
			want int
		}{
			{"/status/v1/" + e.orgA + "/2/revocation", http.StatusNotFound},
			{"/status/v1/" + e.orgB + "/1/suspension", http.StatusNotFound},
			{"/status/v1/" + e.orgA + "/1/message", http.StatusUnprocessableEntity},
			{"/status/v1/" + e.orgA + "/0/revocation", http.StatusUnprocessableEntity},
		} {
			r := e.do(http.MethodGet, c.path, "", "")
			if r.status != c.want {
				t.Errorf("GET %s: %d, want %d", c.path, r.status, c.want)
				continue
			}
			r.problem(t)
		}
	})
}
