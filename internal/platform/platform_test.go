package platform_test

import (
	"context"
	"encoding/json"
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
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
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
		o := platformOrg(t, p)
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
		storetest.Write(t, db, func(tx *store.Tx) error {
			_, err := p.Status.Allocate(ctx, tx, o.CreditCode)
			return err
		})
		web := p.Web(platform.HTTP{Catalog: cat, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()})
		list := "/status/v1/" + o.CreditCode + "/1/revocation"
		w := httptest.NewRecorder()
		web.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, list, nil))
		var c struct {
			ID, ValidFrom string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &c); w.Code != http.StatusOK || err != nil {
			t.Fatalf("GET %s = %d %s", list, w.Code, w.Body)
		}
		if c.ID != platform.DefaultPublicURL+list || c.ValidFrom != at.Format(time.RFC3339) {
			t.Errorf("status list %s valid from %s, want %s from the graph's clock %s", c.ID, c.ValidFrom, platform.DefaultPublicURL+list, at)
		}
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

// TestStatusOptions: the public URL must be an absolute http(s) URL, and
// the status-list key is made with the algorithm the options name.
func TestStatusOptions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if p, err := platform.New(db, platform.Options{PublicURL: "zz.example.gov.cn"}); p != nil || err == nil {
			t.Errorf("New with a relative public URL = %v, %v; want it refused", p, err)
		}
		p, err := platform.New(db, platform.Options{PublicURL: "https://zz.example.gov.cn", StatusListAlg: keys.ECDSAP256})
		if err != nil {
			t.Fatal(err)
		}
		o := platformOrg(t, p)
		var a status.Allocation
		storetest.Write(t, db, func(tx *store.Tx) error {
			a, err = p.Status.Allocate(ctx, tx, o.CreditCode)
			return err
		})
		if want := "https://zz.example.gov.cn/status/v1/" + o.CreditCode + "/1/revocation"; a.Entries[0].StatusListCredential != want {
			t.Errorf("entry names %s, want %s", a.Entries[0].StatusListCredential, want)
		}
		pub, err := p.Status.Publish(ctx, o.CreditCode, 1, status.PurposeSuspension)
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Proof struct{ Cryptosuite string } }
		if err := json.Unmarshal(pub.Doc, &c); err != nil || c.Proof.Cryptosuite != "ecdsa-jcs-2019" {
			t.Errorf("list signed with %q (%v), want ecdsa-jcs-2019", c.Proof.Cryptosuite, err)
		}
	})
}

// platformOrg creates the platform organization through p.
func platformOrg(t *testing.T, p *platform.Platform) org.Org {
	t.Helper()
	o, err := p.Orgs.CreateOrg(context.Background(), org.NewOrg{CreditCode: "91350100M000100Y43", Name: "平台", Region: "350100",
		Kinds: []org.Kind{org.KindPlatform}, Responsible: org.Responsible{Name: "李四", Phone: "13900000000"}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}
