package verify_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/verify"
)

// allChecks is every check of a verdict, in order. API clients and the
// CLI print these names; changing one is a breaking change.
var allChecks = []string{"structure", "signature", "document-hash", "maker-signature", "signer-certificate",
	"seal-validity", "certificate-chain", "seal-state", "seal-now"}

// TestSeal runs every case on a version 4 and a version 5 signature: none
// of them tells the two apart (TestSealMakerTime covers what does).
func TestSeal(t *testing.T) {
	for _, version := range []int64{ses.Version4, ses.Version5} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) { testSeal(t, version) })
	}
}

type sealCase struct {
	name    string
	edit    func(*verify.Bundle)
	doc     []byte
	digest  []byte
	sig     []byte
	now     time.Time
	valid   bool
	failing []string // checks that fail, informational ones included
}

func testSeal(t *testing.T, version int64) {
	p := newPlatformWith(t, platformOptions{version: version})
	_, otherRoot := newRoot(t, keys.SM2SM3, "another root")
	signerFP := verify.Fingerprint(p.signerCert)
	makerFP := verify.Fingerprint(p.makerCert)
	digest := sm3.Sum(p.doc)
	later := t0.Add(24 * time.Hour)
	cases := []sealCase{
		{name: "valid", valid: true},
		{name: "valid by digest", doc: []byte{}, digest: digest[:], valid: true},
		{name: "document changed", doc: []byte("合同正文。"), failing: []string{"document-hash"}},
		{name: "wrong digest", doc: []byte{}, digest: make([]byte, 32), failing: []string{"document-hash"}},
		{name: "truncated signature", sig: p.sigDER[:40], failing: []string{"structure"}},
		{name: "unknown seal", edit: func(b *verify.Bundle) { b.Seals = nil }, failing: []string{"seal-state"}},
		{name: "made after signing", edit: func(b *verify.Bundle) {
			b.SetHistory(sealCode, []verify.StateChange{{At: p.signedAt.Add(time.Second), State: verify.SealActive}})
		}, failing: []string{"seal-state"}},
		{name: "suspended before signing", edit: func(b *verify.Bundle) {
			b.Seals[0].History = append(b.Seals[0].History, verify.StateChange{At: p.signedAt.Add(-time.Second), State: verify.SealSuspended})
		}, failing: []string{"seal-state", "seal-now"}},
		{name: "suspended after signing", edit: func(b *verify.Bundle) {
			b.Seals[0].History = append(b.Seals[0].History, verify.StateChange{At: p.signedAt.Add(time.Hour), State: verify.SealSuspended})
		}, now: later, valid: true, failing: []string{"seal-now"}},
		{name: "expired now", now: t0.AddDate(3, 0, 0), valid: true, failing: []string{"seal-now"}},
		{name: "signer revoked before signing", edit: func(b *verify.Bundle) { b.SetRevoked(signerFP, p.signedAt) },
			failing: []string{"certificate-chain"}},
		{name: "maker revoked before signing", edit: func(b *verify.Bundle) { b.SetRevoked(makerFP, t0) },
			failing: []string{"certificate-chain"}},
		{name: "signer revoked after signing", edit: func(b *verify.Bundle) { b.SetRevoked(signerFP, p.signedAt.Add(time.Second)) }, valid: true},
		{name: "untrusted root", edit: func(b *verify.Bundle) { b.RootPEMs = []string{pemOf(otherRoot.Raw)} },
			failing: []string{"certificate-chain"}},
	}
	// Every case runs cold and again with a cache that a valid verdict
	// has filled: what the cache remembers must never change a verdict.
	warm := verify.NewCache(100)
	base := p.bundle()
	if v := verify.Seal(context.Background(), cachedTrust{&base, warm}, p.sigDER, p.doc, nil, p.signedAt.Add(time.Hour)); !v.Valid || warm.Len() != 3 {
		t.Fatalf("warming the cache: valid %v, %d entries, want 3 (two chains, one structure): %+v", v.Valid, warm.Len(), v.Checks)
	}
	for _, c := range cases {
		for _, mode := range []string{"cold", "warm"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) { runSealCase(t, p, c, mode, warm) })
		}
	}
}

// cachedTrust is a hand-built bundle with a cache.
type cachedTrust struct {
	*verify.Bundle
	c *verify.Cache
}

func (t cachedTrust) VerifyCache() *verify.Cache { return t.c }

func runSealCase(t *testing.T, p *platform, c sealCase, mode string, warm *verify.Cache) {
	b := p.bundle()
	if c.edit != nil {
		c.edit(&b)
	}
	var trust verify.Trust = &b
	if mode == "warm" {
		trust = cachedTrust{&b, warm}
	}
	doc, sig, now := p.doc, p.sigDER, c.now
	if c.doc != nil {
		doc = nil
		if len(c.doc) > 0 {
			doc = c.doc
		}
	}
	if c.sig != nil {
		sig = c.sig
	}
	if now.IsZero() {
		now = p.signedAt.Add(time.Hour)
	}
	v := verify.Seal(context.Background(), trust, sig, doc, c.digest, now)
	var names, failing []string
	for _, ch := range v.Checks {
		names = append(names, ch.Name)
		if !ch.OK {
			failing = append(failing, ch.Name)
			if ch.Reason == "" {
				t.Errorf("%s failed without a reason", ch.Name)
			}
		}
	}
	if v.Valid != c.valid || !slices.Equal(failing, c.failing) {
		t.Fatalf("valid %v, failing %v; want %v, %v (%+v)", v.Valid, failing, c.valid, c.failing, v.Checks)
	}
	// A signature that does not parse stops at structure; the
	// present state of a seal the platform does not know is
	// not reported.
	want := allChecks
	switch c.name {
	case "truncated signature":
		want = allChecks[:1]
	case "unknown seal":
		want = allChecks[:len(allChecks)-1]
	}
	if !slices.Equal(names, want) {
		t.Errorf("checks %v, want %v", names, want)
	}
	if c.name != "truncated signature" && (v.SealCode != sealCode || v.SealName != "合同专用章" || !v.SignedAt.Equal(p.signedAt)) {
		t.Errorf("verdict names %s %s %s", v.SealCode, v.SealName, v.SignedAt)
	}
}

// TestSealMakerTime covers what GM/T 0031-2025 changes in verification:
// a version 5 seal's maker certificate is judged at the seal's createDate
// (t0, a minute before signing), a version 4 seal's at the signing time;
// a version 5 maker certificate expired or revoked since createDate is
// only a note on the passing certificate-chain check.
func TestSealMakerTime(t *testing.T) {
	signedAt := t0.Add(time.Minute)
	chain := []string{"certificate-chain"}
	cases := []struct {
		name   string
		opts   platformOptions
		revoke func(p *platform) (fingerprint string, at time.Time)
		// failing checks and whether certificate-chain carries a note,
		// for a version 4 and a version 5 signature.
		v4, v5   []string
		v4n, v5n bool
	}{
		{name: "maker valid throughout"},
		{name: "maker revoked between making and signing",
			revoke: func(p *platform) (string, time.Time) {
				return verify.Fingerprint(p.makerCert), t0.Add(30 * time.Second)
			},
			v4: chain, v5n: true},
		{name: "maker revoked at making",
			revoke: func(p *platform) (string, time.Time) { return verify.Fingerprint(p.makerCert), t0 },
			v4:     chain, v5: chain},
		{name: "maker revoked after signing",
			revoke: func(p *platform) (string, time.Time) {
				return verify.Fingerprint(p.makerCert), signedAt.Add(time.Second)
			},
			v5n: true},
		{name: "maker expired between making and signing", opts: platformOptions{makerNotAfter: t0.Add(30 * time.Second)},
			v4: chain, v5n: true},
		{name: "maker expired after signing", opts: platformOptions{makerNotAfter: signedAt.Add(time.Second)}, v5n: true},
		{name: "seal made before the maker certificate", opts: platformOptions{created: t0.Add(-time.Hour)}, v5: chain},
		{name: "signer revoked before signing",
			revoke: func(p *platform) (string, time.Time) { return verify.Fingerprint(p.signerCert), signedAt },
			v4:     chain, v5: chain},
	}
	for _, c := range cases {
		for _, version := range []int64{ses.Version4, ses.Version5} {
			t.Run(fmt.Sprintf("%s/v%d", c.name, version), func(t *testing.T) {
				opts := c.opts
				opts.version = version
				p := newPlatformWith(t, opts)
				b := p.bundle()
				if c.revoke != nil {
					b.SetRevoked(c.revoke(p))
				}
				v := verify.Seal(context.Background(), &b, p.sigDER, p.doc, nil, signedAt.Add(time.Hour))
				wantFailing, wantNote := c.v4, c.v4n
				if version == ses.Version5 {
					wantFailing, wantNote = c.v5, c.v5n
				}
				var failing []string
				note := ""
				for _, ch := range v.Checks {
					if !ch.OK {
						failing = append(failing, ch.Name)
					} else if ch.Reason != "" {
						if ch.Name != "certificate-chain" {
							t.Errorf("passing check %s has a reason: %s", ch.Name, ch.Reason)
						}
						note = ch.Reason
					}
				}
				if !slices.Equal(failing, wantFailing) || v.Valid != (len(wantFailing) == 0) {
					t.Fatalf("valid %v, failing %v; want failing %v (%+v)", v.Valid, failing, wantFailing, v.Checks)
				}
				if (note != "") != wantNote {
					t.Fatalf("certificate-chain note %q, want one: %v", note, wantNote)
				}
			})
		}
	}
}

// TestSealTimeStamp: a version 5 seal's timeStamp is carried, not
// verified, so even a value that is no TimeStampToken changes nothing.
func TestSealTimeStamp(t *testing.T) {
	p := newPlatformWith(t, platformOptions{version: ses.Version5, timeStamp: []byte{1, 2, 3}})
	b := p.bundle()
	v := verify.Seal(context.Background(), &b, p.sigDER, p.doc, nil, p.signedAt)
	if !v.Valid {
		t.Fatalf("a signature over a time-stamped seal: %+v", v.Checks)
	}
	sig, err := ses.ParseSignature(p.sigDER)
	if err != nil || !slices.Equal(sig.TBS.Seal.TimeStamp, []byte{1, 2, 3}) {
		t.Fatalf("the seal's timeStamp was not carried (err %v)", err)
	}
}

// TestVerdictJSON pins the JSON the API and `zhengzhao seal verify --json`
// print.
func TestVerdictJSON(t *testing.T) {
	p := newPlatform(t)
	b := p.bundle()
	v := verify.Seal(context.Background(), &b, p.sigDER, p.doc, nil, t0.AddDate(3, 0, 0))
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"valid":true,"seal_code":"` + sealCode + `","seal_name":"合同专用章","signed_at":"2026-11-23T08:01:00Z","checks":[` +
		`{"name":"structure","ok":true},{"name":"signature","ok":true},{"name":"document-hash","ok":true},` +
		`{"name":"maker-signature","ok":true},{"name":"signer-certificate","ok":true},{"name":"seal-validity","ok":true},` +
		`{"name":"certificate-chain","ok":true},{"name":"seal-state","ok":true},` +
		`{"name":"seal-now","ok":false,"informational":true,"reason":"seal ` + sealCode + ` has expired"}]}`
	if string(data) != want {
		t.Fatalf("verdict JSON\n got %s\nwant %s", data, want)
	}
}

// TestForgedSealStructure: a holder of any seal certificate under the
// platform's root makes a seal structure of their own that names a real
// seal's code, and signs with it. Every cryptographic check passes; the
// platform's record of the structures it made refuses it.
func TestForgedSealStructure(t *testing.T) {
	p := newPlatform(t)
	authority, err := ca.New(p.root, p.rootKey.(interface{ CryptoSigner() crypto.Signer }).CryptoSigner(), func() time.Time { return t0 }, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forger, err := keys.GenerateSoftware(keys.SM2SM3, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, err := authority.Issue(ca.IssueRequest{PublicKey: forger.Public(), Subject: pkix.Name{CommonName: "another seal"}, Purpose: ca.Seal,
		NotBefore: t0, NotAfter: t0.AddDate(2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	forged, _, err := ses.MakeSeal(ctx, ses.SealInfo{Header: ses.Header{VendorID: "zhengzhao"}, ID: sealCode,
		Property: ses.PropertyInfo{Type: 1, Name: "伪造的章", CertListType: ses.CertListCerts, Certs: [][]byte{x.Raw},
			Created: t0, ValidFrom: t0, ValidTo: t0.AddDate(2, 0, 0)},
		Picture: ses.Picture{Type: "SVG", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Width: 40, Height: 40}}, x.Raw, forger)
	if err != nil {
		t.Fatal(err)
	}
	h := sm3.Sum(p.doc)
	_, sig, err := ses.Sign(ctx, forged, h[:], p.signedAt, "", x.Raw, forger)
	if err != nil {
		t.Fatal(err)
	}
	b := p.bundle()
	v := verify.Seal(ctx, &b, sig, p.doc, nil, p.signedAt)
	if v.Valid {
		t.Fatalf("a forged seal structure verified: %+v", v)
	}
	for _, c := range v.Checks {
		if c.OK != (c.Name != verify.CheckSealState) {
			t.Errorf("check %s: ok=%v (%s); want only seal-state to fail", c.Name, c.OK, c.Reason)
		}
	}
}

// TestOpenedBundleCaches: an opened bundle remembers chains and seal
// structures, and a change to it — a revocation, another set of roots —
// still decides the next verdict.
func TestOpenedBundleCaches(t *testing.T) {
	p := newPlatform(t)
	b, err := verify.OpenBundle(sign(t, p.bundle(), p.rootKey, p.root), verify.Fingerprint(p.root.Raw))
	if err != nil {
		t.Fatal(err)
	}
	ctx, now := context.Background(), p.signedAt.Add(time.Hour)
	if v := verify.Seal(ctx, b, p.sigDER, p.doc, nil, now); !v.Valid || b.VerifyCache().Len() != 3 {
		t.Fatalf("valid %v with %d cache entries, want valid with 3", v.Valid, b.VerifyCache().Len())
	}
	b.SetRevoked(verify.Fingerprint(p.signerCert), p.signedAt)
	if v := verify.Seal(ctx, b, p.sigDER, p.doc, nil, now); v.Valid {
		t.Fatal("a revocation added to an opened bundle did not count")
	}
	b.Revoked = nil
	_, other := newRoot(t, keys.SM2SM3, "another root")
	b.RootPEMs = []string{pemOf(other.Raw)}
	if v := verify.Seal(ctx, b, p.sigDER, p.doc, nil, now); v.Valid {
		t.Fatal("roots replaced in an opened bundle did not count")
	}
}
