package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// holderSession signs the person 王建国 in and returns a new session of
// his: each call its own, so that a logout ends only the one it used.
func (e *env) holderSession(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	h, err := e.p.Holders.Ensure(ctx, holder.Claims{Kind: catalog.HolderPerson, Identifier: "11010519491231002x", Name: "王建国"})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := e.p.Holders.SignIn(ctx, h, "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// holderEntries returns the audit entries of action by actor.
func holderEntries(t *testing.T, db *store.DB, actor, action string) []auditlog.Entry {
	t.Helper()
	entries, _ := storetest.AuditEntries(t, db)
	var out []auditlog.Entry
	for _, en := range entries {
		if en.Actor == actor && en.Action == action {
			out = append(out, en)
		}
	}
	return out
}

// TestHolderLicensesOverTheAPI: a signed-in holder sees its own licenses
// and only them; each answer is logged with the holder as actor; another
// holder's license is 404 and the refusal logged; staff tokens do not
// reach /me, holder sessions do not reach staff routes; logout ends the
// session at once; the demo login is off unless turned on.
func TestHolderLicensesOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		var mine, other api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue to the holder").decode(t, &mine)
		other = issuedToOther(t, le)

		session := le.holderSession(t)
		h, err := le.p.Holders.Ensure(context.Background(), holder.Claims{Kind: catalog.HolderPerson, Identifier: "11010519491231002X", Name: "王建国"})
		if err != nil {
			t.Fatal(err)
		}
		var p api.Page[api.License]
		le.do(http.MethodGet, "/api/v1/me/licenses", session, "").want(t, http.StatusOK, "my licenses").decode(t, &p)
		if len(p.Items) != 1 || p.Items[0].ID != mine.ID || p.Items[0].State != "active" {
			t.Fatalf("my licenses %+v, want only %s", p.Items, mine.ID)
		}
		le.do(http.MethodGet, "/api/v1/me/licenses?state=revoked", session, "").want(t, http.StatusOK, "filtered").decode(t, &p)
		if len(p.Items) != 0 {
			t.Errorf("revoked licenses of mine: %d, want 0", len(p.Items))
		}
		var got api.License
		le.do(http.MethodGet, "/api/v1/me/licenses/"+mine.ID, session, "").want(t, http.StatusOK, "my license").decode(t, &got)
		if got.ID != mine.ID || got.Version != 1 {
			t.Errorf("my license %+v", got)
		}
		doc := le.do(http.MethodGet, "/api/v1/me/licenses/"+mine.ID+"/document", session, "").want(t, http.StatusOK, "my document")
		staffDoc := le.do(http.MethodGet, "/api/v1/licenses/"+mine.ID+"/document", le.issuer, "").want(t, http.StatusOK, "issuer's copy")
		if !bytes.Equal(doc.body, staffDoc.body) || len(doc.body) == 0 {
			t.Error("the holder's document differs from the signed one")
		}
		le.do(http.MethodGet, "/api/v1/me/licenses/"+mine.ID+"/versions/1/document", session, "").want(t, http.StatusOK, "my version 1")
		var hist api.Page[api.LicenseTransition]
		le.do(http.MethodGet, "/api/v1/me/licenses/"+mine.ID+"/transitions", session, "").want(t, http.StatusOK, "my history").decode(t, &hist)

		// Another holder's license, and one that does not exist, look alike.
		for _, id := range []string{other.ID, "SC0001-610100-2026-999999-X"} {
			for _, suffix := range []string{"", "/document", "/transitions"} {
				r := le.do(http.MethodGet, "/api/v1/me/licenses/"+id+suffix, session, "")
				if r.status != http.StatusNotFound {
					t.Errorf("another's license %s%s: %d, want 404", id, suffix, r.status)
				}
			}
		}
		reads := holderEntries(t, db, h.ID, "license.read")
		if len(reads) != 5 {
			t.Errorf("%d reads logged with the holder as actor, want 5 (list, get, document, version, history; the empty filtered list reads none)", len(reads))
		}
		for _, en := range reads {
			if en.Subject != mine.ID || en.Org != le.issuerOrg {
				t.Errorf("read entry %+v: want subject %s under the issuer %s", en, mine.ID, le.issuerOrg)
			}
		}
		if refused := holderEntries(t, db, h.ID, "license.refused"); len(refused) != 6 || refused[0].Subject != other.ID {
			t.Errorf("%d refusals logged (%+v), want 6, the first about %s", len(refused), refused, other.ID)
		}

		// Staff tokens do not reach /me; holder sessions do not reach staff routes.
		if r := le.do(http.MethodGet, "/api/v1/me/licenses", le.issuer, ""); r.status != http.StatusForbidden {
			t.Errorf("a staff token on /me/licenses: %d, want 403", r.status)
		}
		for _, path := range []string{"/api/v1/licenses", "/api/v1/licenses/" + mine.ID, "/api/v1/me"} {
			if r := le.do(http.MethodGet, path, session, ""); r.status != http.StatusForbidden {
				t.Errorf("a holder session on %s: %d, want 403", path, r.status)
			}
		}
		// The demo login is off here.
		if r := le.do(http.MethodPost, "/api/v1/holder/demo-login", "", `{"citizen_id":"11010519491231002X","name":"王建国"}`); r.status != http.StatusNotFound {
			t.Errorf("the demo login, off: %d, want 404", r.status)
		}
		if r := le.do(http.MethodGet, "/api/v1/holder/login", "", ""); r.status != http.StatusNotFound {
			t.Errorf("the OIDC login, unconfigured: %d, want 404", r.status)
		}
		// The inbox: the issuance, then a suspension, newest first, a page at a time.
		le.do(http.MethodPost, "/api/v1/licenses/"+mine.ID+"/transitions", le.issuer, `{"operation":"suspend","reason":"核查"}`).
			want(t, http.StatusOK, "suspend")
		var inbox api.Page[api.HolderNotice]
		le.do(http.MethodGet, "/api/v1/me/inbox?limit=1", session, "").want(t, http.StatusOK, "inbox").decode(t, &inbox)
		if len(inbox.Items) != 1 || inbox.Items[0].Operation != "suspend" || inbox.Items[0].LicenseID != mine.ID || inbox.NextCursor == "" {
			t.Fatalf("inbox page 1 %+v", inbox)
		}
		var second api.Page[api.HolderNotice]
		le.do(http.MethodGet, "/api/v1/me/inbox?limit=1&cursor="+url.QueryEscape(inbox.NextCursor), session, "").want(t, http.StatusOK, "inbox 2").decode(t, &second)
		if len(second.Items) != 1 || second.Items[0].Operation != "issue" || second.Items[0].LicenseID != mine.ID || second.NextCursor != "" {
			t.Fatalf("inbox page 2 %+v, want the issuance and no further page: the other holder's license is not in it", second)
		}
		if n := len(holderEntries(t, db, h.ID, "license.read")); n != 7 {
			t.Errorf("%d reads logged after two inbox pages, want 7", n)
		}
		// Who am I: the holder and the session, to the holder only.
		var me api.HolderSessionInfo
		le.do(http.MethodGet, "/api/v1/holder/session", session, "").want(t, http.StatusOK, "who am I").decode(t, &me)
		if me.Holder.ID != h.ID || me.Holder.Name != h.Name || me.SessionID == "" || !me.ExpiresAt.After(time.Now()) || me.IdleSecs <= 0 {
			t.Errorf("who am I: %+v", me)
		}
		le.do(http.MethodGet, "/api/v1/holder/session", le.issuer, "").want(t, http.StatusForbidden, "a staff token asks who the holder is")
		// Logout ends the session at once, and is logged.
		le.do(http.MethodPost, "/api/v1/holder/logout", session, "").want(t, http.StatusNoContent, "logout")
		le.do(http.MethodGet, "/api/v1/holder/session", session, "").want(t, http.StatusUnauthorized, "who am I after logout")
		if r := le.do(http.MethodGet, "/api/v1/me/licenses", session, ""); r.status != http.StatusUnauthorized {
			t.Errorf("after logout: %d, want 401", r.status)
		}
		if n := len(holderEntries(t, db, h.ID, "holder.session.ended")); n != 1 {
			t.Errorf("%d logouts logged, want 1", n)
		}
	})
}

// TestHolderDemoLogin: turned on, the demo login signs a person or an
// organization in, refuses a bad citizen ID naming the field and rule,
// and writes nothing for it.
func TestHolderDemoLogin(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newProcessWith(t, db, platform.Options{Clock: time.Now, PublicURL: publicURL, Holders: holder.Config{Demo: true}})
		var s api.HolderSession
		e.do(http.MethodPost, "/api/v1/holder/demo-login", "", `{"citizen_id":"11010519491231002x","name":"王建国"}`).
			want(t, http.StatusCreated, "demo login").decode(t, &s)
		if !strings.HasPrefix(s.Token, "zh_") || s.Holder.Kind != "person" || s.Method != "demo" || s.IdleSecs != 1800 {
			t.Errorf("demo session %+v", s)
		}
		e.do(http.MethodGet, "/api/v1/me/licenses", s.Token, "").want(t, http.StatusOK, "my licenses, none yet")
		before, _ := storetest.AuditEntries(t, db)
		r := e.do(http.MethodPost, "/api/v1/holder/demo-login", "", `{"citizen_id":"110105194912310020","name":"王建国"}`)
		if r.status != http.StatusUnprocessableEntity || !namesField(r.problem(t), "citizen_id", "citizen-id") {
			t.Errorf("a bad citizen ID: %d %s", r.status, r.body)
		}
		if after, _ := storetest.AuditEntries(t, db); len(after) != len(before) {
			t.Errorf("a refused sign-in wrote %d audit entries", len(after)-len(before))
		}
		var o api.HolderSession
		e.do(http.MethodPost, "/api/v1/holder/demo-login", "", jsonBody(t, map[string]string{"credit_code": code(t, 9), "name": "示例企业", "representative": "张三"})).
			want(t, http.StatusCreated, "organization demo login").decode(t, &o)
		if o.Holder.Kind != "organization" || o.Holder.Representative != "张三" {
			t.Errorf("organization session %+v", o)
		}
	})
}
