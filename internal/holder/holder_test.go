package holder_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// wantRefusal checks that err refuses field first, or is nil when field
// is empty.
func wantRefusal(t *testing.T, cfg any, err error, field string) {
	t.Helper()
	var ae *apperr.Error
	switch {
	case field == "" && err != nil:
		t.Errorf("%+v: %v", cfg, err)
	case field != "" && (!errors.As(err, &ae) || ae.Fields[0].Field != field):
		t.Errorf("%+v: %v, want a refusal of %s", cfg, err, field)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg   holder.Config
		field string
	}{
		{holder.Config{}, ""},
		{holder.Config{Idle: time.Hour, Max: 2 * time.Hour}, ""},
		{holder.Config{Idle: time.Second}, "holder-session-idle"},
		{holder.Config{Idle: 13 * time.Hour}, "holder-session-idle"},
		{holder.Config{Idle: time.Minute, Max: 8 * 24 * time.Hour}, "holder-session-max"},
	} {
		wantRefusal(t, c.cfg, c.cfg.Validate(), c.field)
	}
	for _, c := range []struct {
		cfg   holder.OIDCConfig
		field string
	}{
		{holder.OIDCConfig{}, ""},
		{holder.OIDCConfig{Issuer: "https://idp.example", ClientID: "zz", RedirectURL: "https://p.example/api/v1/holder/callback"}, ""},
		{holder.OIDCConfig{Issuer: "idp.example", ClientID: "zz", RedirectURL: "https://p.example/cb"}, "oidc-issuer"},
		{holder.OIDCConfig{Issuer: "https://idp.example", RedirectURL: "https://p.example/cb"}, "oidc-client-id"},
		{holder.OIDCConfig{Issuer: "https://idp.example", ClientID: "zz", RedirectURL: "/cb"}, "oidc-redirect-url"},
	} {
		wantRefusal(t, c.cfg, c.cfg.Validate(), c.field)
	}
}

// TestSessionLifetimes: a session ends after its idle time without use,
// lives on while used, ends at its maximum however busy, and at logout.
func TestSessionLifetimes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var skew atomic.Int64
		start := time.Now()
		now := func() time.Time { return start.Add(time.Duration(skew.Load())) }
		svc, err := holder.New(holder.Deps{Store: db, Tx: db.HolderTx, Now: now, Rand: rand.Reader,
			Config: holder.Config{Idle: 10 * time.Minute, Max: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		h, err := svc.Ensure(ctx, holder.Claims{Kind: catalog.HolderPerson, Identifier: "11010519491231002x", Name: "王建国"})
		if err != nil {
			t.Fatal(err)
		}
		secret, _, err := svc.SignIn(ctx, h, "demo", "")
		if err != nil {
			t.Fatal(err)
		}
		at := func(d time.Duration) error {
			skew.Store(int64(d))
			_, err := svc.Authenticate(ctx, secret)
			return err
		}
		for _, d := range []time.Duration{9 * time.Minute, 18 * time.Minute, 27 * time.Minute, 36 * time.Minute, 45 * time.Minute, 54 * time.Minute} {
			if err := at(d); err != nil {
				t.Fatalf("used every 9 minutes, at %v: %v", d, err)
			}
		}
		if err := at(61 * time.Minute); apperr.KindOf(err) != apperr.Unauthenticated {
			t.Errorf("past the maximum: %v, want Unauthenticated", err)
		}
		skew.Store(0)
		secret, _, err = svc.SignIn(ctx, h, "demo", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := at(11 * time.Minute); apperr.KindOf(err) != apperr.Unauthenticated {
			t.Errorf("idle 11 minutes: %v, want Unauthenticated", err)
		}
		skew.Store(0)
		secret, _, err = svc.SignIn(ctx, h, "demo", "")
		if err != nil {
			t.Fatal(err)
		}
		actor, err := svc.Authenticate(ctx, secret)
		if err != nil || actor.Holder == nil || actor.Holder.ID != h.ID || actor.Holder.Index == "" || len(actor.Roles) != 0 {
			t.Fatalf("actor %+v, %v", actor, err)
		}
		if err := svc.SignOut(ctx, actor); err != nil {
			t.Fatal(err)
		}
		if err := svc.SignOut(ctx, actor); err != nil {
			t.Errorf("signing out twice: %v", err)
		}
		if _, err := svc.Authenticate(ctx, secret); apperr.KindOf(err) != apperr.Unauthenticated {
			t.Errorf("after logout: %v, want Unauthenticated", err)
		}
		for _, bad := range []string{"zz_staff-token", "zh_", secret + "x"} {
			if _, err := svc.Authenticate(ctx, bad); apperr.KindOf(err) != apperr.Unauthenticated {
				t.Errorf("%q: %v, want Unauthenticated", bad, err)
			}
		}
		if _, _, _, err := svc.DemoSignIn(ctx, holder.Claims{Kind: catalog.HolderPerson, Identifier: "11010519491231002x", Name: "王建国"}); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("the demo login, off: %v, want NotFound", err)
		}
	})
}
