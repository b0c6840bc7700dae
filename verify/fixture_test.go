package verify_test

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/verify"
)

// t0 is when the fixture's seal is made; it signs a minute later.
var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// platform is what a platform would have: a root with its key, a maker
// and a seal signer with their certificates, a seal, and a signature over
// doc made at signedAt.
type platform struct {
	rootKey               keys.Signer
	root                  *smx509.Certificate
	makerCert, signerCert []byte
	doc                   []byte
	sigDER                []byte
	structure             []byte // the seal structure the platform made (SESeal, DER)
	signedAt              time.Time
	sealCode              string
	seal                  *ses.Seal         // the seal structure, parsed
	signer                *keys.SoftwareKey // the seal's key
}

const sealCode = "610100911000000000000001040011"

func newRoot(t testing.TB, alg keys.Algorithm, cn string) (*keys.SoftwareKey, *smx509.Certificate) {
	t.Helper()
	k, err := keys.GenerateSoftware(alg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	root, err := ca.NewRoot(k.CryptoSigner(), pkix.Name{CommonName: cn, Country: []string{"CN"}}, t0.Add(-time.Hour), t0.AddDate(20, 0, 0), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k, root
}

// platformOptions vary the fixture; the zero value is the platform's
// usual output: a version 4 seal made at t0 by a maker certified for two
// years.
type platformOptions struct {
	version       int64     // seal and signature version; 0 is the default (4)
	created       time.Time // the seal's createDate; zero is t0
	makerNotAfter time.Time // end of the maker certificate; zero is two years on
	timeStamp     []byte    // a version 5 seal's timeStamp, carried unverified
	sealCode      string    // the seal's code; empty is sealCode, a contract seal
}

func newPlatform(t testing.TB) *platform { return newPlatformWith(t, platformOptions{}) }

func newPlatformWith(t testing.TB, o platformOptions) *platform {
	t.Helper()
	if o.created.IsZero() {
		o.created = t0
	}
	if o.sealCode == "" {
		o.sealCode = sealCode
	}
	if o.makerNotAfter.IsZero() {
		o.makerNotAfter = t0.AddDate(2, 0, 0)
	}
	rootKey, root := newRoot(t, keys.SM2SM3, "zhengzhao verify test root")
	authority, err := ca.New(root, rootKey.CryptoSigner(), func() time.Time { return t0 }, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := func() *keys.SoftwareKey {
		k, err := keys.GenerateSoftware(keys.SM2SM3, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	maker, signer := key(), key()
	issue := func(k *keys.SoftwareKey, cn string, p ca.Purpose, notAfter time.Time) []byte {
		c, err := authority.Issue(ca.IssueRequest{PublicKey: k.Public(), Subject: pkix.Name{CommonName: cn}, Purpose: p,
			NotBefore: t0, NotAfter: notAfter})
		if err != nil {
			t.Fatal(err)
		}
		return c.Raw
	}
	p := &platform{rootKey: rootKey, root: root, makerCert: issue(maker, "seal-maker", ca.Issuer, o.makerNotAfter),
		signerCert: issue(signer, "合同专用章", ca.Seal, t0.AddDate(2, 0, 0)), doc: []byte("合同正文"), signedAt: t0.Add(time.Minute), sealCode: o.sealCode, signer: signer}
	ctx := context.Background()
	s, der, err := ses.MakeSeal(ctx, ses.SealInfo{Header: ses.Header{VendorID: "zhengzhao", Version: o.version}, ID: o.sealCode,
		Property: ses.PropertyInfo{Type: 1, Name: "合同专用章", CertListType: ses.CertListCerts, Certs: [][]byte{p.signerCert},
			Created: o.created, ValidFrom: t0, ValidTo: t0.AddDate(2, 0, 0)},
		Picture: ses.Picture{Type: "SVG", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Width: 40, Height: 40}}, p.makerCert, maker)
	if err != nil {
		t.Fatal(err)
	}
	if o.timeStamp != nil {
		// A time stamp arrives after the making, from a TSA; the platform
		// would record the stamped structure.
		s.TimeStamp = o.timeStamp
		if der, err = s.Marshal(); err != nil {
			t.Fatal(err)
		}
	}
	p.structure, p.seal = der, s
	h := sm3.Sum(p.doc)
	_, p.sigDER, err = ses.Sign(ctx, s, h[:], p.signedAt, "", p.signerCert, signer)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bundle is the platform's trust bundle: the seal active since t0, nothing
// revoked, unsigned.
func (p *platform) bundle() verify.Bundle {
	return verify.Bundle{
		Format: verify.BundleFormat, GeneratedAt: t0.Add(time.Hour),
		RootPEMs: []string{pemOf(p.root.Raw)},
		Seals: []verify.SealEntry{{Seal: p.sealCode, History: []verify.StateChange{{At: t0, State: verify.SealActive}},
			Structures: []string{verify.StructureHash(p.structure)}}},
	}
}

// sign signs b as the platform does, with key as the root named root, and
// returns the JSON file.
func sign(t testing.TB, b verify.Bundle, key keys.Signer, root *smx509.Certificate) []byte {
	t.Helper()
	msg, err := b.SigningInput()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := key.Sign(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	b.Signature = &verify.BundleSignature{Alg: string(key.Algorithm()), Root: verify.Fingerprint(root.Raw), Value: sig}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func pemOf(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
