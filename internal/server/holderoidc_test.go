package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// oidcUser is a person at the test's OpenID provider: the ID token
// carries the claims the platform reads. nonce, when set, replaces the
// nonce the login sent: a token minted for another login.
type oidcUser struct {
	sub, citizenID, creditCode, name, orgName, nonce string
}

func (u oidcUser) ID() string { return u.sub }

func (u oidcUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": u.sub})
}

func (u oidcUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.nonce != "" {
		base.Nonce = u.nonce
	}
	return &struct {
		*mockoidc.IDTokenClaims
		CitizenID  string `json:"citizen_id,omitempty"`
		CreditCode string `json:"credit_code,omitempty"`
		Name       string `json:"name,omitempty"`
		OrgName    string `json:"org_name,omitempty"`
	}{base, u.citizenID, u.creditCode, u.name, u.orgName}, nil
}

// oidcPlatform is a serve process with holder sign-in through the
// provider m, over real HTTP, on a clock the test moves.
type oidcPlatform struct {
	*env
	srv *httptest.Server
}

func newOIDCPlatform(t *testing.T, db *store.DB, m *mockoidc.MockOIDC, skew *atomic.Int64) oidcPlatform {
	t.Helper()
	cfg := m.Config()
	// The platform's public URL is the server's, known once it listens.
	var h atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newProcessWith(t, db, platform.Options{Clock: now, PublicURL: srv.URL, OIDC: holder.OIDCConfig{Issuer: cfg.Issuer,
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret}})
	h.Store(&e.h)
	return oidcPlatform{env: e, srv: srv}
}

// noRedirects is a client that shows each redirect instead of following.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get fetches u without following redirects.
func get(t *testing.T, u string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// beginLogin starts a login at p and has the provider sign user in: the
// callback URL the provider sends the browser to.
func beginLogin(t *testing.T, p oidcPlatform, m *mockoidc.MockOIDC, user oidcUser) string {
	t.Helper()
	resp := get(t, p.srv.URL+"/api/v1/holder/login")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(to.String(), m.AuthorizationEndpoint()) {
		t.Fatalf("login redirects to %s, want the provider %s", to, m.AuthorizationEndpoint())
	}
	q := to.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("the authorization request lacks PKCE, nonce or state: %s", to.RawQuery)
	}
	m.QueueUser(user)
	resp = get(t, to.String())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d", resp.StatusCode)
	}
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, p.srv.URL+"/api/v1/holder/callback?") {
		t.Fatalf("the provider sends the browser to %s, want the platform's callback", back)
	}
	return back
}

// refused checks that a callback answered 403 naming the rule.
func refused(t *testing.T, resp *http.Response, rule, what string) {
	t.Helper()
	var p struct {
		Errors []struct{ Field, Rule string } `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusForbidden || len(p.Errors) == 0 || p.Errors[0].Rule != rule {
		t.Errorf("%s: %d %+v (%v), want 403 naming rule %s", what, resp.StatusCode, p, err, rule)
	}
}

// TestHolderOIDCLogin runs the whole sign-in against a real OpenID
// provider over HTTP: the login begins on one serve process and finishes
// on another (only the store is shared), the session it makes lists the
// person's own licenses, and a wrong, replayed or expired state, and an ID
// token minted for another login, are refused clearly.
func TestHolderOIDCLogin(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() }) //nolint:errcheck // the test is over
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		var mine api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue").decode(t, &mine)
		var skew atomic.Int64
		a, b := newOIDCPlatform(t, db, m, &skew), newOIDCPlatform(t, db, m, &skew)
		person := oidcUser{sub: "person-1", citizenID: "11010519491231002x", name: "王建国"}

		// Begun on a, finished on b, as JSON.
		back := beginLogin(t, a, m, person)
		onB := strings.Replace(back, a.srv.URL, b.srv.URL, 1)
		resp := get(t, onB, "Accept", "application/json")
		var s api.HolderSession
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("callback: %d %v", resp.StatusCode, err)
		}
		if !strings.HasPrefix(s.Token, "zh_") || s.Method != "oidc" || s.Holder.Kind != "person" || s.Holder.Name != "王建国" {
			t.Errorf("session %+v", s)
		}
		var p api.Page[api.License]
		a.do(http.MethodGet, "/api/v1/me/licenses", s.Token, "").want(t, http.StatusOK, "my licenses").decode(t, &p)
		if len(p.Items) != 1 || p.Items[0].ID != mine.ID {
			t.Errorf("my licenses after OIDC sign-in: %+v, want %s", p.Items, mine.ID)
		}
		// The same state again: replayed.
		refused(t, get(t, onB, "Accept", "application/json"), "login-state", "a replayed state")
		// A state the platform never gave.
		u, _ := url.Parse(onB)
		q := u.Query()
		q.Set("state", "not-a-state-of-ours")
		u.RawQuery = q.Encode()
		refused(t, get(t, u.String(), "Accept", "application/json"), "login-state", "a wrong state")
		// An ID token minted for another login.
		back = beginLogin(t, a, m, oidcUser{sub: "person-1", citizenID: "11010519491231002x", name: "王建国", nonce: "another-login"})
		refused(t, get(t, back, "Accept", "application/json"), "nonce", "a bad nonce")
		// A login that took too long.
		back = beginLogin(t, a, m, person)
		skew.Store(int64(11 * time.Minute))
		refused(t, get(t, back, "Accept", "application/json"), "login-state", "an expired login")
		skew.Store(0)
		// A browser is sent to the holder page with the session in the fragment.
		resp = get(t, beginLogin(t, b, m, person))
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/holder/#") || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("browser callback: %d to %q", resp.StatusCode, loc)
		}
		frag, _ := url.ParseQuery(strings.TrimPrefix(loc, "/holder/#"))
		b.do(http.MethodGet, "/api/v1/me/licenses", frag.Get("session"), "").want(t, http.StatusOK, "the browser's session")
		// The same person signed in twice is one holder; an organization's
		// staff member signs in for the organization.
		org := oidcUser{sub: "staff-1", creditCode: code(t, 7), name: "张三", orgName: "示例企业"}
		resp = get(t, beginLogin(t, a, m, org), "Accept", "application/json")
		var os api.HolderSession
		if err := json.NewDecoder(resp.Body).Decode(&os); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("organization callback: %d %v", resp.StatusCode, err)
		}
		if os.Holder.Kind != "organization" || os.Holder.Name != "示例企业" || os.Holder.Representative != "张三" {
			t.Errorf("organization session %+v", os)
		}
		// A citizen ID claim that fails its check character is refused.
		bad := oidcUser{sub: "person-2", citizenID: "110105194912310020", name: "某人"}
		refused(t, get(t, beginLogin(t, a, m, bad), "Accept", "application/json"), "citizen-id", "a bad citizen ID claim")
	})
}
