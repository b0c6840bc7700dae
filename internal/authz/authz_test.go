package authz

import (
	"context"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

func TestDecide(t *testing.T) {
	p := Allow(Any(PlatformAdmin), Own(OrgAdmin, Issuer))
	issuerOfA := &Actor{Org: "A", Roles: []Role{Issuer}}
	cases := []struct {
		name   string
		actor  *Actor
		target string
		want   apperr.Kind // "" means allowed
	}{
		{"anonymous", nil, "A", apperr.Unauthenticated},
		{"no role", &Actor{Org: "A", Roles: []Role{Auditor}}, "A", apperr.Forbidden},
		{"no roles at all", &Actor{Org: "A"}, "A", apperr.Forbidden},
		{"own org", issuerOfA, "A", ""},
		{"other org", issuerOfA, "B", apperr.Forbidden},
		{"not about an org", issuerOfA, "", ""},
		{"any org", &Actor{Org: "P", Roles: []Role{PlatformAdmin}}, "B", ""},
		{"widest grant wins", &Actor{Org: "A", Roles: []Role{Issuer, PlatformAdmin}}, "B", ""},
	}
	for _, c := range cases {
		err := p.Decide(c.actor, c.target)
		if c.want == "" && err != nil || c.want != "" && !errors.Is(err, c.want) {
			t.Errorf("%s: Decide = %v, want %q", c.name, err, c.want)
		}
	}
	for _, a := range []*Actor{nil, issuerOfA, {Org: "A"}} {
		if err := Public().Decide(a, "B"); err != nil {
			t.Errorf("public policy refuses %+v: %v", a, err)
		}
	}
	if err := (Policy{}).Decide(nil, ""); !errors.Is(err, apperr.Unauthenticated) {
		t.Errorf("zero policy lets the anonymous in: %v", err)
	}
	if (Policy{}).Scope(&Actor{Roles: Roles()}) != None {
		t.Error("the zero policy grants something")
	}
}

func TestRolesParse(t *testing.T) {
	rs, err := SplitRoles(" issuer,auditor,issuer,")
	if err != nil || JoinRoles(rs) != "issuer,auditor" {
		t.Fatalf("SplitRoles = %v, %v", rs, err)
	}
	if _, err := SplitRoles("issuer,wizard"); err == nil {
		t.Fatal("unknown role accepted")
	}
	if ActorFrom(context.Background()) != nil {
		t.Fatal("actor from an empty context")
	}
	a := &Actor{AccountID: "x"}
	if ActorFrom(WithActor(context.Background(), a)) != a {
		t.Fatal("actor lost in context")
	}
}
