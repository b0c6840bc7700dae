package server_test

import (
	"context"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
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
