package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

const redeemPath = "/api/v1/presentations/verify"

// presented signs a payload of license id as its issuer, disclosing the
// permit's issuing authority.
func (le licenseEnv) presented(t testing.TB, id string) license.Presentation {
	t.Helper()
	issuer := &authz.Actor{AccountID: "issuer", Org: le.issuerOrg, Roles: []authz.Role{authz.Issuer}}
	p, err := le.p.Licenses.Present(context.Background(), issuer, id, license.PresentRequest{Disclose: []string{"issuing_authority"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// redeem posts payload with token and decodes the verdict of a 200.
func (le licenseEnv) redeem(t *testing.T, token, payload, matter string) verify.PresentationVerdict {
	t.Helper()
	body, err := json.Marshal(api.RedeemPresentation{Payload: payload, Matter: matter})
	if err != nil {
		t.Fatal(err)
	}
	var v verify.PresentationVerdict
	le.do(http.MethodPost, redeemPath, token, string(body)).want(t, http.StatusOK, "redeem").decode(t, &v)
	return v
}

// redemptionsAudited returns the redemption entries about org still
// waiting for integration.
func redemptionsAudited(t *testing.T, db *store.DB, org string) []map[string]string {
	t.Helper()
	pending, err := db.AuditPending(context.Background(), org, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, e := range pending {
		if e.Action == present.RedeemAction {
			d := map[string]string{"subject": e.Subject, "actor": e.Actor}
			for k, v := range e.Details {
				d[k] = v
			}
			out = append(out, d)
		}
	}
	return out
}

func TestRedeemPresentation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		unit := le.tokens[authz.UsingUnit]
		l, _ := le.issued(t)
		p := le.presented(t, l.ID)

		v := le.redeem(t, unit, p.Payload, "户籍业务办理")
		onlyFailed(t, v.Verdict)
		if v.LicenseID != l.ID || v.Presented == nil || v.Presented.Fields["issuing_authority"] == nil || len(v.Checks) != 6 {
			t.Fatalf("verdict %+v", v)
		}
		if c := v.Checks[len(v.Checks)-1]; c.Name != present.CheckReplay || !c.OK {
			t.Fatalf("last check %+v, want replay passed", c)
		}
		// Once only: the same payload again is refused and shows nothing.
		v = le.redeem(t, unit, p.Payload, "")
		onlyFailed(t, v.Verdict, present.CheckReplay)
		if v.Presented != nil || v.LicenseID != l.ID {
			t.Fatalf("a replay disclosed %+v", v)
		}

		// Only using units redeem.
		body, _ := json.Marshal(api.RedeemPresentation{Payload: le.presented(t, l.ID).Payload})
		for _, tok := range []string{le.tokens[authz.PlatformAdmin], le.tokens[authz.Auditor], le.issuer} {
			le.do(http.MethodPost, redeemPath, tok, string(body)).want(t, http.StatusForbidden, "redeem as another role")
		}
		le.do(http.MethodPost, redeemPath, "", string(body)).want(t, http.StatusUnauthorized, "redeem without a token")

		// Bad input: a problem naming the field, or a verdict naming the check.
		pr := le.do(http.MethodPost, redeemPath, unit, `{"payload":"  "}`).want(t, http.StatusUnprocessableEntity, "empty").problem(t)
		if !namesField(pr, "payload", "required") {
			t.Errorf("empty payload: %+v", pr)
		}
		long, _ := json.Marshal(api.RedeemPresentation{Payload: p.Payload, Matter: strings.Repeat("事", present.MaxMatterLength+1)})
		le.do(http.MethodPost, redeemPath, unit, string(long)).want(t, http.StatusUnprocessableEntity, "long matter")
		pr = le.do(http.MethodPost, redeemPath, unit, `{"payload":"ZZ1:","matter":"a\u0007b"}`).want(t, http.StatusUnprocessableEntity, "control").problem(t)
		if !namesField(pr, "matter", "no-control") {
			t.Errorf("a matter with a control character: %+v", pr)
		}
		fresh := le.presented(t, l.ID).Payload
		for name, bad := range map[string]string{
			"truncated":   fresh[:len(fresh)-9],
			"prefix":      "HC1:" + strings.TrimPrefix(fresh, "ZZ1:"),
			"oversized":   "ZZ1:" + strings.Repeat("0", 5000),
			"not base45":  "ZZ1:abc",
			"just prefix": "ZZ1:",
		} {
			v := le.redeem(t, unit, bad, "")
			if c := failed(t, v.Verdict, verify.CheckFormat); c.Reason == "" || len(v.Checks) != 1 || v.Presented != nil {
				t.Errorf("%s: %+v", name, v)
			}
		}
		// Signed by a key of the platform's kid that is not the platform's,
		// and by a key no one knows.
		other, err := keys.GenerateSoftware(keys.SM2SM3, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := qr.Encode(ctx, p.Claims, other, p.KID)
		if err != nil {
			t.Fatal(err)
		}
		onlyFailed(t, le.redeem(t, unit, forged, "").Verdict, verify.CheckSignature)
		unknown, err := qr.Encode(ctx, p.Claims, other, []byte("not-a-platform-kid"))
		if err != nil {
			t.Fatal(err)
		}
		if c := failed(t, le.redeem(t, unit, unknown, "").Verdict, verify.CheckKey); !strings.Contains(c.Reason, "not trusted") {
			t.Errorf("unknown kid: %+v", c)
		}

		// Expired on the platform's clock, two minutes on: refused, and the
		// payload is not used up.
		late := present.New(present.Deps{Tx: db.PresentTx, Purger: db, Keys: le.keys, BaseURL: publicURL,
			Platform: func(context.Context) (string, error) { return le.platform, nil },
			Now:      func() time.Time { return time.Now().Add(2 * time.Minute) }})
		unitActor := &authz.Actor{AccountID: "unit", Org: le.orgA, Roles: []authz.Role{authz.UsingUnit}}
		v, err = late.Redeem(ctx, unitActor, fresh, "")
		if err != nil {
			t.Fatal(err)
		}
		onlyFailed(t, v.Verdict, verify.CheckExpiry)

		// Suspended, then revoked, a moment ago: refused with the status,
		// and nothing kept, so the payload redeems once the license is
		// back in force.
		le.setState(t, l, status.Suspended)
		if c := failed(t, le.redeem(t, unit, fresh, "").Verdict, verify.CheckStatus); !strings.Contains(c.Reason, "suspended") {
			t.Errorf("suspended: %+v", c)
		}
		le.setState(t, l, status.Active)
		onlyFailed(t, le.redeem(t, unit, fresh, "").Verdict)
		revoked := le.presented(t, l.ID).Payload
		le.setState(t, l, status.Revoked)
		v = le.redeem(t, unit, revoked, "")
		onlyFailed(t, v.Verdict, verify.CheckStatus)
		if c := failed(t, v.Verdict, verify.CheckStatus); !strings.Contains(c.Reason, "revoked") {
			t.Errorf("revoked: %+v", c)
		}

		// Every use is audited, refusals included, with the unit, the
		// matter and the outcome, never the disclosed values.
		entries := redemptionsAudited(t, db, le.orgA)
		if len(entries) != 13 {
			t.Fatalf("%d redemptions audited, want 13: %v", len(entries), entries)
		}
		first := entries[0]
		if first["valid"] != "true" || first["matter"] != "户籍业务办理" || first["unit"] != le.orgA || first["subject"] != l.ID || first["kid"] == "" {
			t.Errorf("first entry %v", first)
		}
		if second := entries[1]; second["valid"] != "false" || second["failed"] != present.CheckReplay || !strings.Contains(second["reason"], "redeemed before") {
			t.Errorf("replay entry %v", second)
		}
		raw, _ := json.Marshal(entries)
		for _, v := range p.Claims.Fields {
			if s, ok := v.(string); ok && s != "" && bytes.Contains(raw, []byte(s)) {
				t.Errorf("a disclosed value %q is in the audit log", s)
			}
		}
		if bytes.Contains(raw, []byte(p.Claims.Holder)) {
			t.Errorf("the holder is in the audit log")
		}
	})
}

// TestLiveStatus reads a license's state and status bits as a redemption
// decides on them, in one statement, on both stores: each bit with its
// list's size, a list that does not exist, and a license that does not.
func TestLiveStatus(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		list := status.ListRef{Issuer: l.Issuer, Purposes: status.RevocationAndSuspension, Number: l.StatusList}
		refs := []present.BitRef{
			{List: list, Purpose: status.PurposeRevocation, Index: l.StatusIndex},
			{List: list, Purpose: status.PurposeSuspension, Index: l.StatusIndex},
			{List: status.ListRef{Issuer: l.Issuer, Purposes: status.RevocationAndSuspension, Number: l.StatusList + 7}, Purpose: status.PurposeRevocation, Index: 1},
			{List: list, Purpose: status.PurposeSuspension, Index: 1 << 30},
		}
		read := func(id string) (license.State, []present.Bit, error) {
			var state license.State
			var bits []present.Bit
			err := db.PresentTx(ctx, func(tx present.Tx) (err error) {
				state, _, bits, err = tx.LiveStatus(ctx, id, refs)
				return err
			})
			return state, bits, err
		}
		state, bits, err := read(l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if state != license.Active || len(bits) != len(refs) || !bits[0].Found || bits[0].Set || bits[1].Set ||
			bits[0].Size <= l.StatusIndex || bits[2].Found || !bits[3].Found || bits[3].Set {
			t.Fatalf("active license: %s %+v", state, bits)
		}
		le.setState(t, l, status.Suspended)
		if state, bits, err = read(l.ID); err != nil || bits[0].Set || !bits[1].Set {
			t.Fatalf("suspended license: %s %+v %v", state, bits, err)
		}
		if _, _, err := read("L-no-such-license"); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("no license: %v, want NotFound", err)
		}
	})
}

// postConcurrently posts body n times at once with token, request i to
// handler i modulo their number, and returns the answers in order.
func postConcurrently(n int, hs []http.Handler, path, token string, body []byte) []response {
	var wg sync.WaitGroup
	out := make([]response, n)
	for i := range n {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			hs[i%len(hs)].ServeHTTP(rec, req)
			out[i] = response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		})
	}
	wg.Wait()
	return out
}

// TestConcurrentRedemption redeems one payload 20 times at once through
// two processes on one store: exactly one is valid, the others replayed.
func TestConcurrentRedemption(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		p := le.presented(t, l.ID)
		second := newProcess(t, db, time.Now)
		body, err := json.Marshal(api.RedeemPresentation{Payload: p.Payload, Matter: "并发"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 20
		out := postConcurrently(n, []http.Handler{le.h, second.h}, redeemPath, le.tokens[authz.UsingUnit], body)
		valid, replayed := 0, 0
		for i, r := range out {
			var v verify.PresentationVerdict
			if r.status != http.StatusOK || json.Unmarshal(r.body, &v) != nil {
				t.Fatalf("redemption %d: %d %s", i, r.status, r.body)
			}
			switch {
			case v.Valid:
				valid++
			case len(v.Checks) == 6 && v.Checks[5].Name == present.CheckReplay && !v.Checks[5].OK && v.Presented == nil:
				replayed++
			default:
				t.Errorf("redemption %d: %s", i, r.body)
			}
		}
		if valid != 1 || replayed != n-1 {
			t.Fatalf("%d valid, %d replayed; want 1 and %d", valid, replayed, n-1)
		}
		if got := len(redemptionsAudited(t, db, le.orgA)); got != n {
			t.Errorf("%d redemptions audited, want %d", got, n)
		}
	})
}

// TestPurgeRedemptions purges the records of expired payloads only, in
// several processes at once, and a purged payload stays refused as expired.
func TestPurgeRedemptions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		p := le.presented(t, l.ID)
		onlyFailed(t, le.redeem(t, le.tokens[authz.UsingUnit], p.Payload, "").Verdict)
		if n, err := le.p.Presentations.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("purge now: %d %v, want nothing purged", n, err)
		}
		later := func() time.Time { return p.Claims.Expires.Add(present.ClockSkew + time.Second) }
		mk := func() *present.Service {
			return present.New(present.Deps{Tx: db.PresentTx, Purger: db, Keys: le.keys, BaseURL: publicURL,
				Platform: func(context.Context) (string, error) { return le.platform, nil }, Now: later})
		}
		var wg sync.WaitGroup
		counts := make([]int, 4)
		for i := range counts {
			wg.Go(func() {
				n, err := mk().Purge(ctx)
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			})
		}
		wg.Wait()
		if total := counts[0] + counts[1] + counts[2] + counts[3]; total != 1 {
			t.Fatalf("purged %v, want one record in all", counts)
		}
		v, err := mk().Redeem(ctx, &authz.Actor{AccountID: "unit", Org: le.orgA, Roles: []authz.Role{authz.UsingUnit}}, p.Payload, "")
		if err != nil {
			t.Fatal(err)
		}
		onlyFailed(t, v.Verdict, verify.CheckExpiry)
	})
}
