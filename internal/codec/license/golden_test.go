package license

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
)

// updateEnv names the environment variable that rewrites the golden files.
const updateEnv = "ZHENGZHAO_UPDATE_LICENSE"

// The worked example of docs/license-format.md: the signed document, the
// root that certifies its seal, and the SM3 of its signing input.
var (
	goldenDoc    = filepath.Join("testdata", "business-license.json")
	goldenRoot   = filepath.Join("testdata", "root.cer")
	goldenDigest = filepath.Join("testdata", "business-license.sm3")
)

// seeded returns a deterministic reader, one stream per use, so that the
// golden files are reproducible.
func seeded(n byte) io.Reader {
	var seed [32]byte
	copy(seed[:], "zhengzhao license document seed")
	seed[31] = n
	return rand.NewChaCha8(seed)
}

func sm2Key(t testing.TB, n byte) *keys.SoftwareKey {
	t.Helper()
	k, err := keys.GenerateSoftware(keys.SM2SM3, seeded(n))
	if err != nil {
		t.Fatal(err)
	}
	return k.WithRand(seeded(n + 100))
}

// goldenSealer makes the worked example's seal deterministically: a root,
// a seal-maker certificate and the issuer's license-issuing seal
// (证照专用章, seal kind 09). It returns a signer that makes the seal's
// SES_Signature over a digest at the time of issue, and the root.
func goldenSealer(t testing.TB) (sign func(digest []byte, property string) []byte, root []byte) {
	t.Helper()
	rootKey := sm2Key(t, 1)
	rootCert, err := ca.NewRoot(rootKey.CryptoSigner(), pkix.Name{CommonName: "zhengzhao example root", Country: []string{"CN"}},
		issued.Add(-time.Hour), issued.AddDate(20, 0, 0), seeded(2))
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.New(rootCert, rootKey.CryptoSigner(), func() time.Time { return issued }, seeded(3))
	if err != nil {
		t.Fatal(err)
	}
	maker, signer := sm2Key(t, 4), sm2Key(t, 5)
	issue := func(k *keys.SoftwareKey, cn string, p ca.Purpose) []byte {
		c, err := authority.Issue(ca.IssueRequest{PublicKey: k.Public(), Subject: pkix.Name{CommonName: cn}, Purpose: p,
			NotBefore: issued.Add(-time.Hour), NotAfter: issued.AddDate(2, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		return c.Raw
	}
	makerCert, signerCert := issue(maker, "seal-maker", ca.Issuer), issue(signer, "福州市鼓楼区市场监督管理局证照专用章", ca.Seal)
	ctx := context.Background()
	seal, _, err := ses.MakeSeal(ctx, ses.SealInfo{Header: ses.Header{VendorID: "zhengzhao"}, ID: "35010211350102003603210T090013",
		Property: ses.PropertyInfo{Type: 1, Name: "福州市鼓楼区市场监督管理局证照专用章", CertListType: ses.CertListCerts, Certs: [][]byte{signerCert},
			Created: issued.Add(-time.Hour), ValidFrom: issued.Add(-time.Hour), ValidTo: issued.AddDate(2, 0, 0)},
		Picture: ses.Picture{Type: "SVG", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Width: 42, Height: 42}}, makerCert, maker)
	if err != nil {
		t.Fatal(err)
	}
	return func(digest []byte, property string) []byte {
		_, sig, err := ses.Sign(ctx, seal, digest, issued, property, signerCert, signer)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}, rootCert.Raw
}

// signGolden makes the worked example deterministically: the seal of
// goldenSealer and its SES_Signature over the sample license's digest.
func signGolden(t testing.TB) (doc, root []byte) {
	t.Helper()
	sign, root := goldenSealer(t)
	l := sample()
	digest, err := Digest(l)
	if err != nil {
		t.Fatal(err)
	}
	doc, err = Encode(Document{License: l, Signature: sign(digest, l.ID)})
	if err != nil {
		t.Fatal(err)
	}
	return doc, root
}

// checkGolden compares the golden files with what the format makes now,
// rewriting them first when updateEnv is set.
func checkGolden(t *testing.T, files map[string][]byte) {
	t.Helper()
	if os.Getenv(updateEnv) != "" {
		for name, b := range files {
			if err := os.WriteFile(name, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%v (set %s=1 to write the golden files)", err, updateEnv)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the format makes now; if the change is intended, set %s=1 and describe it in docs/license-format.md", name, updateEnv)
		}
	}
}

// TestGolden keeps the worked example reproducible and checks it as a
// GB/T 38540 reader would: the SES_Signature's dataHash is the SM3 of the
// canonical license member, and the signer and maker signatures verify.
func TestGolden(t *testing.T) {
	doc, root := signGolden(t)
	d, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := Digest(d.License)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{goldenDoc: doc, goldenRoot: root, goldenDigest: []byte(hex.EncodeToString(digest) + "\n")}
	checkGolden(t, files)

	sig, err := ses.ParseSignature(d.Signature)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"signer signature": sig.VerifySignature(),
		"digest":           sig.CheckDigest(digest),
		"maker signature":  sig.TBS.Seal.VerifyMaker(),
		"signer listed":    sig.CheckSignerCertificate(),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if sig.TBS.PropertyInfo != d.License.ID {
		t.Errorf("propertyInfo %q, want the license identifier", sig.TBS.PropertyInfo)
	}
	in, err := SigningInput(d.License)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(in, []byte("林晓峰"), []byte("林晓锋"), 1)
	if bytes.Equal(changed, in) {
		t.Fatal("fixture: the legal representative is not in the signing input")
	}
	if err := sig.CheckDocument(changed); err == nil {
		t.Error("the signature covers a changed license")
	}
}
