package server_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// presentedEntries counts the license.presented audit entries of id.
func presentedEntries(t *testing.T, db *store.DB, id string) int {
	t.Helper()
	entries, err := db.AuditPending(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "license.presented" && e.Subject == id {
			n++
		}
	}
	return n
}

// TestPresentLicenseOverTheAPI: the issuer gets a payload as JSON that
// verifies offline with the public trust bundle and claims what it says,
// a fresh nonce each time, and the QR code as a PNG that gozxing decodes
// to a valid payload and as an SVG; bad requests are field problems that
// record nothing, another organization gets 404 and an org admin 403.
func TestPresentLicenseOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		url := "/api/v1/licenses/" + l.ID + "/presentations"
		var p1, p2 api.Presentation
		r := le.do(http.MethodPost, url, le.issuer, `{"disclose":["issuing_authority"],"ttl":120}`).want(t, http.StatusCreated, "present")
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		r.decode(t, &p1)
		le.do(http.MethodPost, url, le.issuer, `{}`).want(t, http.StatusCreated, "present again").decode(t, &p2)
		if p1.Nonce == p2.Nonce || p1.Payload == p2.Payload {
			t.Error("two presentations share a nonce")
		}
		if p1.LicenseID != l.ID || p1.Holder != "王**" || len(p1.Fields) != 1 || p1.Fields["issuing_authority"] == nil ||
			!p1.ExpiresAt.Equal(p1.IssuedAt.Add(120*time.Second)) || len(p1.StatusLists) != 2 || p1.StatusIndex != int64(l.StatusIndex) {
			t.Errorf("presentation %+v", p1)
		}
		if len(p2.Fields) != 0 || !p2.ExpiresAt.Equal(p2.IssuedAt.Add(time.Minute)) {
			t.Errorf("default presentation %+v", p2)
		}
		bundle, err := verify.OpenBundle(le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "bundle").body, "")
		if err != nil {
			t.Fatal(err)
		}
		check := func(payload string) {
			t.Helper()
			v := verify.Presentation(context.Background(), payload, bundle, time.Now())
			if !v.Valid || v.Presented.LicenseID != l.ID || v.Presented.KID != p1.KID {
				t.Errorf("verdict %+v", v.Checks)
			}
		}
		check(p1.Payload)

		r = le.do(http.MethodPost, url, le.issuer, `{"format":"png","scale":3}`).want(t, http.StatusCreated, "png")
		if ct := r.header.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("Content-Type %q", ct)
		}
		check(decodePNG(t, r.body))
		r = le.do(http.MethodPost, url, le.issuer, `{"format":"svg"}`).want(t, http.StatusCreated, "svg")
		if ct := r.header.Get("Content-Type"); ct != "image/svg+xml" || !bytes.HasPrefix(r.body, []byte("<svg ")) {
			t.Fatalf("Content-Type %q, body %.40s", ct, r.body)
		}
		before := presentedEntries(t, db, l.ID)
		if before != 4 {
			t.Errorf("%d license.presented entries, want 4", before)
		}

		for _, c := range []struct{ body, field, rule string }{
			{`{"disclose":["name","citizen_id"]}`, "disclose[1]", "sensitive"},
			{`{"disclose":["nope"]}`, "disclose[0]", "unknown-field"},
			{`{"ttl":601}`, "ttl", ""},
			{`{"format":"gif"}`, "format", ""},
			{`{"scale":33,"format":"png"}`, "scale", ""},
		} {
			pr := le.do(http.MethodPost, url, le.issuer, c.body).want(t, http.StatusUnprocessableEntity, c.body).problem(t)
			if !namesField(pr, c.field, c.rule) && (c.rule != "" || len(pr.Errors) == 0 || !strings.HasSuffix(pr.Errors[0].Field, c.field)) {
				t.Errorf("%s: problem names %+v, want %s", c.body, pr.Errors, c.field)
			}
		}
		le.do(http.MethodPost, url, le.otherIssuer, `{}`).want(t, http.StatusNotFound, "another organization presents it")
		le.do(http.MethodPost, url, le.admin, `{}`).want(t, http.StatusForbidden, "an org admin presents it")
		if n := presentedEntries(t, db, l.ID); n != before {
			t.Errorf("%d license.presented entries after refusals, want %d", n, before)
		}
	})
}

// TestConcurrentPresentOverTheAPI: twenty presentations of one license at
// once all succeed, each with its own nonce and audit entry.
func TestConcurrentPresentOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		url := "/api/v1/licenses/" + l.ID + "/presentations"
		le.do(http.MethodPost, url, le.issuer, `{}`).want(t, http.StatusCreated, "first presentation, which makes the key")
		const n = 20
		nonces := make(chan string, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				r := le.do(http.MethodPost, url, le.issuer, `{"format":"json"}`)
				if r.status != http.StatusCreated {
					t.Errorf("status %d: %s", r.status, r.body)
					return
				}
				var p api.Presentation
				r.decode(t, &p)
				nonces <- p.Nonce
			})
		}
		wg.Wait()
		close(nonces)
		seen := map[string]bool{}
		for nc := range nonces {
			seen[nc] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct nonces of %d presentations", len(seen), n)
		}
		if got := presentedEntries(t, db, l.ID); got != n+1 {
			t.Errorf("%d license.presented entries, want %d", got, n+1)
		}
	})
}
