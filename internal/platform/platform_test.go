package platform_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestNewRefusesBadSealPolicies: the graph is not built on policies seal
// refuses, whoever builds it.
func TestNewRefusesBadSealPolicies(t *testing.T) {
	db := storetest.OpenSQLite(t)
	for _, cfg := range []seal.Config{{MaxPINFailures: 21}, {Validity: time.Hour}, {RenewalWindow: -time.Hour}, {PINMaxAge: time.Second}} {
		if p, err := platform.New(db, platform.Options{Seal: cfg}); p != nil || !errors.Is(err, apperr.Invalid) {
			t.Errorf("New with %+v = %v, %v; want the policies refused", cfg, p, err)
		}
	}
}

// TestGraphSharesItsClockAndStore: every service of one graph works on the
// store and the clock it was given, and the HTTP face serves them.
func TestGraphSharesItsClockAndStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		p, err := platform.New(db, platform.Options{Clock: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		o, err := p.Orgs.CreateOrg(ctx, org.NewOrg{CreditCode: "91350100M000100Y43", Name: "平台", Region: "350100",
			Kinds: []org.Kind{org.KindPlatform}, Responsible: org.Responsible{Name: "李四", Phone: "13900000000"}})
		if err != nil {
			t.Fatal(err)
		}
		if !o.CreatedAt.Equal(at) {
			t.Errorf("organization created at %s, want the graph's clock %s", o.CreatedAt, at)
		}
		root, err := p.PKI.InitRoot(ctx, o.CreditCode, "root", "平台根证书", "SM2-SM3", 20)
		if err != nil {
			t.Fatal(err)
		}
		if !root.NotBefore.Equal(at) {
			t.Errorf("root valid from %s, want the graph's clock %s", root.NotBefore, at)
		}
		if k, err := p.Keys.Get(ctx, root.KeyID); err != nil || k.Org != o.CreditCode {
			t.Errorf("the root's key in the key ring: %+v %v", k, err)
		}
		if _, err := p.Checkpoints.Checkpoint(ctx); err != nil {
			t.Errorf("checkpoint of the platform's log: %v", err)
		}
		cat, err := i18n.New()
		if err != nil {
			t.Fatal(err)
		}
		web := p.Web(platform.HTTP{Catalog: cat, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()})
		for path, want := range map[string]int{"/readyz": http.StatusOK, "/api/v1/me": http.StatusUnauthorized} {
			w := httptest.NewRecorder()
			web.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != want {
				t.Errorf("GET %s = %d, want %d", path, w.Code, want)
			}
		}
		if len(web.API.Policies()) == 0 {
			t.Error("the API has no operations")
		}
	})
}
