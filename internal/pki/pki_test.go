package pki_test

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

const orgCode = "91350100M000100Y43"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

type fixture struct {
	clk  *clock
	keys *keyring.Service
	pki  *pki.Service
}

func setup(t *testing.T, db *store.DB) fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	p, err := platform.New(db, platform.Options{Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Orgs.CreateOrg(context.Background(), org.NewOrg{CreditCode: orgCode, Name: "平台", Region: "350100",
		Kinds: []org.Kind{org.KindPlatform}, Responsible: org.Responsible{Name: "y", Phone: "13900000000"}}); err != nil {
		t.Fatal(err)
	}
	return fixture{clk: clk, keys: p.Keys, pki: p.PKI}
}

func rule(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		return ae.Fields[0].Rule
	}
	return ""
}

// TestSealCertificateLifetime issues a seal certificate and checks it at
// the edges of its validity and around its revocation, with the injected
// clock.
func TestSealCertificateLifetime(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		if _, err := f.pki.InitRoot(ctx, orgCode, "platform-root", "平台\u202e书证根", keys.SM2SM3, 20); rule(err) != "bidi-control" {
			t.Fatalf("root common name with a bidi override: %v", err)
		}
		root, err := f.pki.InitRoot(ctx, orgCode, "platform-root", "zhengzhao 平台根证书", keys.SM2SM3, 20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.pki.InitRoot(ctx, orgCode, "second-root", "x", keys.SM2SM3, 20); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("second root: %v, want conflict", err)
		}
		k, err := f.keys.Create(ctx, keyring.NewKey{Org: orgCode, Name: "seal-1", Purpose: keyring.Seal})
		if err != nil {
			t.Fatal(err)
		}
		nb := f.clk.now()
		na := nb.AddDate(1, 0, 0)
		if _, err := f.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Seal, CommonName: "合同\u200b专用章"}); rule(err) != "invisible" {
			t.Fatalf("common name with a zero-width space: %v", err)
		}
		c, err := f.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Seal, CommonName: "合同专用章", NotBefore: nb, NotAfter: na})
		if err != nil {
			t.Fatal(err)
		}
		if c.Issuer != root.Fingerprint || !c.NotAfter.Equal(na) || c.KeyID != k.ID {
			t.Fatalf("issued %+v", c)
		}
		for _, tc := range []struct {
			at   time.Time
			rule string
		}{
			{nb, ""}, {na, ""}, {na.Add(time.Second), "chain-expired"}, {nb.Add(-time.Second), "chain-not-yet-valid"},
		} {
			_, err := f.pki.Verify(ctx, c.Serial, tc.at)
			if got := rule(err); got != tc.rule || (tc.rule == "" && err != nil) {
				t.Errorf("verify at %s: %v (rule %q), want %q", tc.at, err, got, tc.rule)
			}
		}
		f.clk.add(time.Hour)
		revokedAt := f.clk.now()
		if _, err := f.pki.Revoke(ctx, c.Fingerprint, ca.ReasonKeyCompromise); err != nil {
			t.Fatal(err)
		}
		if _, err := f.pki.Verify(ctx, c.Fingerprint, revokedAt); rule(err) != "chain-revoked" {
			t.Fatalf("verify at revocation: %v, want revoked", err)
		}
		if _, err := f.pki.Verify(ctx, c.Fingerprint, revokedAt.Add(-time.Second)); err != nil {
			t.Fatalf("verify before revocation: %v", err)
		}
		der1, err := f.pki.CRL(ctx)
		if err != nil {
			t.Fatal(err)
		}
		der2, _ := f.pki.CRL(ctx)
		crl1, err := ca.ParseCRL(der1)
		if err != nil {
			t.Fatal(err)
		}
		crl2, _ := ca.ParseCRL(der2)
		serial, _ := new(big.Int).SetString(c.Serial, 16)
		if revoked, at := crl1.IsRevoked(serial); !revoked || !at.Equal(revokedAt) {
			t.Fatalf("CRL: revoked=%v at %s, want at %s", revoked, at, revokedAt)
		}
		if crl2.Number.Cmp(crl1.Number) <= 0 {
			t.Fatalf("CRL numbers %v then %v do not increase", crl1.Number, crl2.Number)
		}
		rootX, _ := root.X509()
		if err := crl1.CheckSignatureFrom(rootX); err != nil {
			t.Fatalf("CRL signature: %v", err)
		}
		if _, err := f.pki.Revoke(ctx, root.Fingerprint, 0); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("revoking the root: %v", err)
		}
	})
}

// TestImportExternalChain imports a certificate from an external CA: only
// once its root is trusted, only for the key it certifies, only while valid.
func TestImportExternalChain(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		k, err := f.keys.Create(ctx, keyring.NewKey{Org: orgCode, Name: "seal-ext", Purpose: keyring.Seal})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := f.keys.Create(ctx, keyring.NewKey{Org: orgCode, Name: "seal-other", Purpose: keyring.Seal})
		extKey, _ := keys.GenerateSoftware(keys.SM2SM3, rand.Reader)
		now := f.clk.now()
		extRoot, err := ca.NewRoot(extKey.CryptoSigner(), pkix.Name{CommonName: "外部 CA"}, now.Add(-time.Hour), now.AddDate(10, 0, 0), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		authority, _ := ca.New(extRoot, extKey.CryptoSigner(), f.clk.now, rand.Reader)
		pub, _ := k.Public()
		leaf, err := authority.Issue(ca.IssueRequest{PublicKey: pub, Subject: pkix.Name{CommonName: "外部印章"}, Purpose: ca.Seal,
			NotBefore: now, NotAfter: now.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		chain := ca.EncodePEM(leaf)
		if _, err := f.pki.Import(ctx, k.ID, pki.Seal, chain); rule(err) != "chain-untrusted" {
			t.Fatalf("import before trusting the root: %v", err)
		}
		if _, err := f.pki.TrustExternalRoot(ctx, ca.EncodePEM(extRoot)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.pki.TrustExternalRoot(ctx, chain); rule(err) != "self-signed-ca" {
			t.Fatalf("trusting a leaf as a root: %v", err)
		}
		if _, err := f.pki.Import(ctx, other.ID, pki.Seal, chain); rule(err) != "key-match" {
			t.Fatalf("import for another key: %v", err)
		}
		c, err := f.pki.Import(ctx, k.ID, pki.Seal, chain)
		if err != nil {
			t.Fatal(err)
		}
		if c.Source != pki.External || c.KeyID != k.ID {
			t.Fatalf("imported %+v", c)
		}
		if _, err := f.pki.Verify(ctx, c.Fingerprint, now); err != nil {
			t.Fatalf("verify imported: %v", err)
		}
		if _, err := f.pki.Import(ctx, k.ID, pki.Seal, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")); !errors.Is(err, apperr.Invalid) {
			t.Fatalf("import of garbage: %v", err)
		}
		f.clk.add(2 * 365 * 24 * time.Hour)
		if _, err := f.pki.Import(ctx, other.ID, pki.Seal, chain); rule(err) != "chain-expired" {
			t.Fatalf("import of an expired chain: %v", err)
		}
	})
}

func TestIssueNeedsRootAndActiveKey(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	f := setup(t, db)
	k, _ := f.keys.Create(ctx, keyring.NewKey{Org: orgCode, Name: "s", Purpose: keyring.Seal})
	if _, err := f.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Seal}); !errors.Is(err, apperr.NotFound) {
		t.Fatalf("issue without a root: %v", err)
	}
	if _, err := f.pki.InitRoot(ctx, orgCode, "root", "根", keys.Ed25519, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: "stamp"}); rule(err) != "enum" {
		t.Fatalf("issue of an unknown kind: %v", err)
	}
	c, err := f.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.NotAfter.Sub(c.NotBefore); got < 2*365*24*time.Hour-48*time.Hour {
		t.Fatalf("default validity %s, want about two years", got)
	}
	if _, err := f.keys.Disable(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Seal}); !errors.Is(err, apperr.Conflict) {
		t.Fatalf("certifying a disabled key: %v", err)
	}
}

// TestKeyAndCertificateChangesAreAudited checks the audit entries of key
// creation, rotation, disabling and enabling and of certificate issuing and
// revocation, each with the organization concerned.
func TestKeyAndCertificateChangesAreAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		before, _ := storetest.AuditEntries(t, db)
		root, err := f.pki.InitRoot(ctx, orgCode, "root", "根", keys.SM2SM3, 5)
		if err != nil {
			t.Fatal(err)
		}
		k, err := f.keys.Create(ctx, keyring.NewKey{Org: orgCode, Name: "s", Purpose: keyring.Seal})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Seal})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.pki.Revoke(ctx, c.Fingerprint, ca.ReasonKeyCompromise); err != nil {
			t.Fatal(err)
		}
		next, err := f.keys.Rotate(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.keys.Disable(ctx, next.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.keys.Enable(ctx, next.ID); err != nil {
			t.Fatal(err)
		}
		entries, _ := storetest.AuditEntries(t, db)
		var got []string
		for _, e := range entries[len(before):] {
			got = append(got, e.Action+" "+e.Org+" "+e.Subject)
		}
		want := []string{
			"key.created " + orgCode + " " + root.KeyID,
			"cert.root-created " + orgCode + " " + root.Fingerprint,
			"key.created " + orgCode + " " + k.ID,
			"cert.issued " + orgCode + " " + c.Fingerprint,
			"cert.revoked " + orgCode + " " + c.Fingerprint,
			"key.retired " + orgCode + " " + k.ID,
			"key.created " + orgCode + " " + next.ID,
			"key.disabled " + orgCode + " " + next.ID,
			"key.enabled " + orgCode + " " + next.ID,
		}
		if !slices.Equal(got, want) {
			t.Fatalf("audit entries:\n%q\nwant\n%q", got, want)
		}
	})
}
