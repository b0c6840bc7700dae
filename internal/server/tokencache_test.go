package server_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/server"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// status answers the status of GET /api/v1/me with token on handler h.
func (e *env) me(h http.Handler, token string) int {
	e.t.Helper()
	saved := e.h
	e.h = h
	defer func() { e.h = saved }()
	return e.do("GET", "/api/v1/me", token, "").status
}

// mustRefuseWithin checks that token, still accepted now on h, is refused
// once TokenCacheTTL has passed since it was last verified.
func mustRefuseWithin(t *testing.T, e *env, h http.Handler, clk *fakeClock, token, what string) {
	t.Helper()
	clk.add(server.TokenCacheTTL)
	if got := e.me(h, token); got != http.StatusUnauthorized {
		t.Fatalf("%s, %s later: %d, want 401", what, server.TokenCacheTTL, got)
	}
}

// TestTokenCacheBound: a token revoked, or its organization deactivated,
// by another process (here: straight through the service, as the CLI or
// another serve process does) is refused at most TokenCacheTTL later; the
// same change made through this process's API is refused at once.
func TestTokenCacheBound(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &fakeClock{t: time.Now()}
		e := newEnvAt(t, db, clk.now)
		acc, err := e.svc.CreateAccount(ctx, org.NewAccount{Org: e.orgB, Name: "b-admin", Roles: []authz.Role{authz.OrgAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		issue := func() (string, org.Token) {
			secret, tok, err := e.svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
			if err != nil {
				t.Fatal(err)
			}
			return secret, tok
		}

		// Revoked elsewhere: remembered for less than the bound, then refused.
		secret, tok := issue()
		if got := e.me(e.h, secret); got != http.StatusOK {
			t.Fatalf("fresh token: %d", got)
		}
		if _, err := e.svc.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		clk.add(server.TokenCacheTTL / 2)
		if got := e.me(e.h, secret); got != http.StatusOK {
			t.Fatalf("a token verified %s ago is remembered: %d, want 200 (is the cache in use?)", server.TokenCacheTTL/2, got)
		}
		mustRefuseWithin(t, e, e.h, clk, secret, "token revoked by another process")

		// Organization deactivated elsewhere.
		secret, _ = issue()
		if got := e.me(e.h, secret); got != http.StatusOK {
			t.Fatalf("fresh token: %d", got)
		}
		inactive := org.Inactive
		if _, err := e.svc.UpdateOrg(ctx, e.orgB, org.Patch{Status: &inactive}); err != nil {
			t.Fatal(err)
		}
		mustRefuseWithin(t, e, e.h, clk, secret, "token of an organization deactivated by another process")
		active := org.Active
		if _, err := e.svc.UpdateOrg(ctx, e.orgB, org.Patch{Status: &active}); err != nil {
			t.Fatal(err)
		}

		// Through this process's API: at once.
		secret, tok = issue()
		if got := e.me(e.h, secret); got != http.StatusOK {
			t.Fatalf("fresh token: %d", got)
		}
		if r := e.do("POST", "/api/v1/tokens/"+tok.ID+"/revoke", secret, ""); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if got := e.me(e.h, secret); got != http.StatusUnauthorized {
			t.Fatalf("token revoked through this process: %d, want 401 at once", got)
		}

		// A token expiring sooner than the bound is not remembered past
		// its expiry.
		secret, _, err = e.svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		clk.add(time.Minute - server.TokenCacheTTL/4)
		if got := e.me(e.h, secret); got != http.StatusOK {
			t.Fatalf("token shortly before its expiry: %d", got)
		}
		clk.add(server.TokenCacheTTL / 4)
		if got := e.me(e.h, secret); got != http.StatusUnauthorized {
			t.Fatalf("token at its expiry: %d, want 401", got)
		}
	})
}

// TestTokenCacheTwoProcesses runs two serve processes, each with its own
// token cache, on one PostgreSQL: a token revoked and an organization
// deactivated through one are refused by it at once and by the other
// within TokenCacheTTL.
func TestTokenCacheTwoProcesses(t *testing.T) {
	ctx := context.Background()
	db1, dsn, _ := storetest.OpenLocked(t, true)
	mk := storetest.MasterKey(t)
	db2, err := store.Open(ctx, dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	for _, db := range []*store.DB{db1, db2} {
		if err := db.Unlock(ctx, mk, envelope.DefaultSuite, rand.Reader); err != nil {
			t.Fatalf("unlock: %v", err)
		}
	}
	clk := &fakeClock{t: time.Now()}
	e := newEnvAt(t, db1, clk.now)
	other := newProcess(t, db2, clk.now)
	procs := []struct {
		name string
		h    http.Handler
	}{{"first", e.h}, {"second", other.h}}

	secret, tok, err := e.svc.IssueToken(ctx, org.NewToken{AccountID: mustAccount(t, e, e.orgA)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if got := e.me(p.h, secret); got != http.StatusOK {
			t.Fatalf("%s process, fresh token: %d", p.name, got)
		}
	}
	if r := e.do("POST", "/api/v1/tokens/"+tok.ID+"/revoke", secret, ""); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if got := e.me(e.h, secret); got != http.StatusUnauthorized {
		t.Fatalf("revoked token on the process that revoked it: %d, want 401 at once", got)
	}
	mustRefuseWithin(t, e, other.h, clk, secret, "token revoked on the first process, asked of the second")

	orgAdmin := e.tokens[authz.OrgAdmin] // of organization A
	for _, p := range procs {
		if got := e.me(p.h, orgAdmin); got != http.StatusOK {
			t.Fatalf("%s process: %d", p.name, got)
		}
	}
	if r := e.do("PATCH", "/api/v1/orgs/"+e.orgA, e.tokens[authz.PlatformAdmin], `{"status":"inactive"}`); r.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if got := e.me(e.h, orgAdmin); got != http.StatusUnauthorized {
		t.Fatalf("token of a deactivated organization on the process that deactivated it: %d, want 401 at once", got)
	}
	mustRefuseWithin(t, e, other.h, clk, orgAdmin, "token of an organization deactivated on the first process, asked of the second")
}

func mustAccount(t *testing.T, e *env, orgCode string) string {
	t.Helper()
	acc, err := e.svc.CreateAccount(context.Background(), org.NewAccount{Org: orgCode, Name: "second-admin", Roles: []authz.Role{authz.OrgAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	return acc.ID
}
