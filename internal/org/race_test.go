package org_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestDeactivationRacesTokenIssuance issues 19 tokens while the
// organization is deactivated, all at once: every token is either refused
// or revoked by the deactivation, so none works after the organization is
// reactivated.
func TestDeactivationRacesTokenIssuance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, _ := newService(db)
		ctx := context.Background()
		if _, err := svc.CreateOrg(ctx, newOrg(t, 1, org.KindPlatform)); err != nil {
			t.Fatal(err)
		}
		issuer, err := svc.CreateOrg(ctx, newOrg(t, 2, org.KindIssuer))
		if err != nil {
			t.Fatal(err)
		}
		acc, err := svc.CreateAccount(ctx, org.NewAccount{Org: issuer.CreditCode, Name: "clerk", Roles: []authz.Role{authz.Issuer}})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var secrets []string
		const n = 20
		storetest.Race(n, func(i int) {
			if i == 0 {
				off := org.Inactive
				if _, err := svc.UpdateOrg(ctx, issuer.CreditCode, org.Patch{Status: &off}); err != nil {
					t.Errorf("deactivate: %v", err)
				}
				return
			}
			secret, _, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
			switch {
			case errors.Is(err, apperr.Conflict):
			case err != nil:
				t.Errorf("issue: %v", err)
			default:
				mu.Lock()
				secrets = append(secrets, secret)
				mu.Unlock()
			}
		})
		on := org.Active
		if _, err := svc.UpdateOrg(ctx, issuer.CreditCode, org.Patch{Status: &on}); err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if _, err := svc.Authenticate(ctx, s); !errors.Is(err, apperr.Unauthenticated) {
				t.Errorf("a token issued while the organization was deactivated works: %v", err)
			}
		}
		p, err := svc.ListTokens(ctx, org.TokenFilter{Org: issuer.CreditCode, Limit: 100}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range p.Items {
			if tok.RevokedAt == nil {
				t.Errorf("token %s outlived the deactivation", tok.ID)
			}
		}
		t.Logf("%d of %d tokens issued before the deactivation, all revoked", len(secrets), n-1)
	})
}
