package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestHostileInputIsRefused sends what a hostile tester sent: a token with
// a lifetime of zero, a body that is not UTF-8, and names with bidi
// overrides and zero-width characters. Each is a problem naming the field
// and the rule, and nothing is written.
func TestHostileInputIsRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		admin := e.tokens[authz.PlatformAdmin]
		acc, err := e.svc.CreateAccount(context.Background(), org.NewAccount{Org: e.orgA, Name: "robot", Roles: []authz.Role{authz.Issuer}})
		if err != nil {
			t.Fatal(err)
		}
		orgBody := func(name string) string {
			return fmt.Sprintf(`{"credit_code":%q,"name":"%s","region":"610100","kinds":["issuer"],"responsible":{"name":"赵六","phone":"13600000000"}}`, code(t, 70), name)
		}
		cases := []struct {
			name, path, body string
			status           int
			field, rule      string
		}{
			{"ttl of zero", "/api/v1/tokens", fmt.Sprintf(`{"account_id":%q,"ttl":"0s"}`, acc.ID), 422, "ttl", "range"},
			{"ttl of a second", "/api/v1/tokens", fmt.Sprintf(`{"account_id":%q,"ttl":"59s"}`, acc.ID), 422, "ttl", "range"},
			{"negative ttl", "/api/v1/tokens", fmt.Sprintf(`{"account_id":%q,"ttl":"-1h"}`, acc.ID), 422, "ttl", "range"},
			{"ttl over five years", "/api/v1/tokens", fmt.Sprintf(`{"account_id":%q,"ttl":"2000d"}`, acc.ID), 422, "ttl", "range"},
			{"invalid UTF-8", "/api/v1/orgs", orgBody("坏\xff单位"), 400, "$", "utf8"},
			{"lone surrogate", "/api/v1/orgs", orgBody(`坏\ud800单位`), 422, "name", "utf8"},
			{"right-to-left override", "/api/v1/orgs", orgBody("单位\u202e章"), 422, "name", "bidi-control"},
			{"isolate", "/api/v1/orgs", orgBody("\u2067单位\u2069"), 422, "name", "bidi-control"},
			{"zero-width space", "/api/v1/orgs", orgBody("单\u200b位"), 422, "name", "invisible"},
			{"byte order mark", "/api/v1/orgs", orgBody("\ufeff单位"), 422, "name", "invisible"},
			{"account name", "/api/v1/orgs/" + e.orgA + "/accounts", `{"name":"clerk\u202e","roles":["issuer"]}`, 422, "name", "bidi-control"},
			{"token description", "/api/v1/tokens", fmt.Sprintf(`{"account_id":%q,"description":"ci\u200b"}`, acc.ID), 422, "description", "invisible"},
		}
		before := e.orgCount()
		tokens, err := e.svc.ListTokens(context.Background(), org.TokenFilter{Org: e.orgA, Limit: 500}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			r := e.do("POST", c.path, admin, c.body)
			if r.status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
				continue
			}
			p := r.problem(t)
			if len(p.Errors) == 0 || p.Errors[0].Field != c.field || p.Errors[0].Rule != c.rule {
				t.Errorf("%s: errors %+v, want %s %s", c.name, p.Errors, c.field, c.rule)
			}
		}
		if n := e.orgCount(); n != before {
			t.Errorf("%d organizations after refused requests, want %d", n, before)
		}
		after, err := e.svc.ListTokens(context.Background(), org.TokenFilter{Org: e.orgA, Limit: 500}, "")
		if err != nil || len(after.Items) != len(tokens.Items) {
			t.Errorf("%d tokens after refused requests, want %d (%v)", len(after.Items), len(tokens.Items), err)
		}
		if r := e.do("POST", "/api/v1/tokens", admin, fmt.Sprintf(`{"account_id":%q,"ttl":"1m"}`, acc.ID)); r.status != http.StatusCreated {
			t.Errorf("ttl of one minute: %d %s", r.status, r.body)
		}
	})
}
