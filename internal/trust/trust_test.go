package trust_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/trust"
	"github.com/zhengzhao/zhengzhao/verify"
)

// newPlatform builds a platform on clock with its platform organization
// and root, and returns the organization's credit code and the root.
func newPlatform(t *testing.T, db *store.DB, clock func() time.Time) (*platform.Platform, string, pki.Cert) {
	t.Helper()
	ctx := context.Background()
	p, err := platform.New(db, platform.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	plat := "91350100M000100Y43"
	if _, err := p.Orgs.CreateOrg(ctx, org.NewOrg{CreditCode: plat, Name: "平台", Kinds: []org.Kind{org.KindPlatform}, Region: "350100",
		Responsible: org.Responsible{Name: "张三", Phone: "13800000000"}}); err != nil {
		t.Fatal(err)
	}
	root, err := p.PKI.InitRoot(ctx, plat, "root", "平台根证书", "", 20)
	if err != nil {
		t.Fatal(err)
	}
	return p, plat, root
}

// TestPublishedBundle: the published bundle is built once per
// BundleMaxAge however many ask for it at once, opens with the platform
// root, and is built anew once it is older.
func TestPublishedBundle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
		p, _, root := newPlatform(t, db, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		got := make([]trust.Published, 8)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				b, err := p.Trust.Publish(ctx)
				if err != nil {
					t.Error(err)
				}
				got[i] = b
			})
		}
		wg.Wait()
		for _, b := range got {
			if b.ETag == "" || b.ETag != got[0].ETag {
				t.Fatalf("concurrent requests got bundles %s and %s, want one", b.ETag, got[0].ETag)
			}
		}
		if _, err := verify.OpenBundle(got[0].Doc, root.Fingerprint); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = now.Add(trust.BundleMaxAge - time.Millisecond)
		mu.Unlock()
		if b, _ := p.Trust.Publish(ctx); b.ETag != got[0].ETag {
			t.Error("rebuilt before BundleMaxAge")
		}
		mu.Lock()
		now = now.Add(time.Millisecond)
		mu.Unlock()
		b, err := p.Trust.Publish(ctx)
		if err != nil || b.ETag == got[0].ETag || !b.GeneratedAt.Equal(now) {
			t.Errorf("after BundleMaxAge: %v, ETag %s (was %s), generated %s", err, b.ETag, got[0].ETag, b.GeneratedAt)
		}
	})
}

// TestBundlePresentationKeys: the bundle lists the platform's presentation
// keys — the signing one and the one it replaced, with the instant of the
// rotation — by kid, and leaves a disabled key out.
func TestBundlePresentationKeys(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
		p, plat, root := newPlatform(t, db, func() time.Time { return now })
		_, old, err := p.Keys.PresentationSigner(ctx, plat, "")
		if err != nil {
			t.Fatal(err)
		}
		cur, err := p.Keys.Rotate(ctx, old.ID)
		if err != nil {
			t.Fatal(err)
		}
		off, err := p.Keys.Create(ctx, keyring.NewKey{Org: plat, Name: "presentation-test", Purpose: keyring.Presentation, Algorithm: keys.ECDSAP256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Keys.Disable(ctx, off.ID); err != nil {
			t.Fatal(err)
		}
		b, err := p.Trust.Bundle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		opened, err := verify.OpenBundle(doc, root.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]*time.Time{}
		for _, k := range []keyring.Key{old, cur} {
			pub, err := k.Public()
			if err != nil {
				t.Fatal(err)
			}
			kid, err := qr.KeyID(pub)
			if err != nil {
				t.Fatal(err)
			}
			want[hex.EncodeToString(kid)] = nil
		}
		if len(opened.PresentationKeys) != 2 {
			t.Fatalf("presentation keys %+v, want the current and the retired one", opened.PresentationKeys)
		}
		for _, k := range opened.PresentationKeys {
			if _, ok := want[k.KID]; !ok || k.Alg != string(keys.SM2SM3) || k.JWK["crv"] != "SM2" || k.JWK["kid"] != k.KID || !k.ValidFrom.Equal(now) {
				t.Errorf("presentation key %+v", k)
			}
		}
		retired := 0
		for _, k := range opened.PresentationKeys {
			if k.ValidUntil != nil && k.ValidUntil.Equal(now) {
				retired++
			}
		}
		if retired != 1 {
			t.Errorf("%d keys carry the rotation's instant, want 1", retired)
		}
	})
}
