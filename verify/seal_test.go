package verify_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"zhengzhao/internal/keys"
	"zhengzhao/internal/keys/ca"
	"zhengzhao/internal/seal/ses"
	"zhengzhao/verify"
)

// allChecks is every check of a verdict, in order. API clients and the
// CLI print these names; changing one is a breaking change.
var allChecks = []string{"structure", "signature", "document-hash", "maker-signature", "signer-certificate",
	"seal-validity", "certificate-chain", "seal-state", "seal-now"}

func TestSeal(t *testing.T) {
	p := newPlatform(t)
	_, otherRoot := newRoot(t, keys.SM2SM3, "another root")
	signerFP := verify.Fingerprint(p.signerCert)
	makerFP := verify.Fingerprint(p.makerCert)
	digest := sm3.Sum(p.doc)
	later := t0.Add(24 * time.Hour)
	cases := []struct {
		name    string
		edit    func(*verify.Bundle)
		doc     []byte
		digest  []byte
		sig     []byte
		now     time.Time
		valid   bool
		failing []string // checks that fail, informational ones included
	}{
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
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := p.bundle()
			if c.edit != nil {
				c.edit(&b)
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
			v := verify.Seal(context.Background(), &b, sig, doc, c.digest, now)
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
		})
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
