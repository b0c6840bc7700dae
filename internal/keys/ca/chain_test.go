package ca

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// external is a three-level hierarchy as an external CA would hand it over:
// root (t0 .. t0+1y), intermediate, and a leaf issued by the intermediate.
type external struct {
	root, inter, leaf *smx509.Certificate
	rootCA            *CA
}

// createCert signs a certificate with smx509 directly, bypassing the checks
// of Issue, to build chains Issue would refuse (for example a child that
// outlives its parent).
func createCert(t testing.TB, tmpl, parent *smx509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *smx509.Certificate {
	t.Helper()
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("CreateCertificate(%q) error = %v", tmpl.Subject.CommonName, err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate(%q) error = %v", tmpl.Subject.CommonName, err)
	}
	return c
}

func newExternal(t testing.TB, alg keys.Algorithm, interNotAfter, leafNotAfter time.Time) *external {
	t.Helper()
	rootKey := mustKey(t, alg)
	root, err := NewRoot(rootKey.CryptoSigner(), pkix.Name{CommonName: "External Root", Organization: []string{"Other CA"}}, t0, t0.Add(year), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootCA, err := New(root, rootKey.CryptoSigner(), fixedClock(t0), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	interKey := mustKey(t, alg)
	inter := createCert(t, &smx509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "External Intermediate", Organization: []string{"Other CA"}},
		NotBefore:             t0,
		NotAfter:              interNotAfter,
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, root, interKey.Public(), rootKey.CryptoSigner())
	leaf := createCert(t, &smx509.Certificate{
		SerialNumber:          big.NewInt(3),
		Subject:               pkix.Name{CommonName: "External Seal"},
		NotBefore:             t0,
		NotAfter:              leafNotAfter,
		KeyUsage:              Seal.KeyUsage(),
		BasicConstraintsValid: true,
	}, inter, mustKey(t, alg).Public(), interKey.CryptoSigner())
	return &external{root: root, inter: inter, leaf: leaf, rootCA: rootCA}
}

func TestVerifyChainWithIntermediate(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			// The intermediate outlives the root and the leaf outlives both,
			// which only an external CA would do.
			e := newExternal(t, alg, t0.Add(2*year), t0.Add(3*year))
			roots := []*smx509.Certificate{e.root}
			revokeInter := mustCRL(t, e.rootCA, []Revoked{{Serial: e.inter.SerialNumber, At: t0.Add(day), Reason: ReasonCACompromise}})
			tests := []struct {
				name     string
				chain    []*smx509.Certificate
				at       time.Time
				crls     []*CRL
				want     Reason
				wantCert *smx509.Certificate
			}{
				{"valid", []*smx509.Certificate{e.leaf, e.inter}, t0.Add(day), nil, "", nil},
				{"valid with root included", []*smx509.Certificate{e.leaf, e.inter, e.root}, t0.Add(day), nil, "", nil},
				{"missing intermediate", []*smx509.Certificate{e.leaf}, t0.Add(day), nil, ReasonUntrusted, e.leaf},
				{"root expired", []*smx509.Certificate{e.leaf, e.inter}, t0.Add(year + time.Second), nil, ReasonExpired, e.root},
				{"intermediate expired", []*smx509.Certificate{e.leaf, e.inter}, t0.Add(2*year + time.Second), nil, ReasonExpired, e.inter},
				{"before validity (leaf checked first)", []*smx509.Certificate{e.leaf, e.inter}, t0.Add(-time.Second), nil, ReasonNotYetValid, e.leaf},
				{"intermediate revoked by root CRL", []*smx509.Certificate{e.leaf, e.inter}, t0.Add(day), []*CRL{revokeInter}, ReasonRevoked, e.inter},
				{"intermediate as leaf", []*smx509.Certificate{e.inter}, t0.Add(day), nil, ReasonKeyUsage, e.inter},
			}
			for _, tt := range tests {
				err := VerifyWithOptions(tt.chain, VerifyOptions{Roots: roots, At: tt.at, Usage: Seal, CRLs: tt.crls})
				if got := reasonOf(err); got != tt.want {
					t.Errorf("%s: reason = %q (%v), want %q", tt.name, got, err, tt.want)
					continue
				}
				var ce *ChainError
				if errors.As(err, &ce) && ce.Cert != tt.wantCert {
					t.Errorf("%s: ChainError.Cert = %q, want %q", tt.name, certName(ce.Cert), certName(tt.wantCert))
				}
			}
		})
	}
}

func certName(c *smx509.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	return c.Subject.CommonName
}

func TestImportChain(t *testing.T) {
	e := newExternal(t, keys.SM2SM3, t0.Add(year), t0.Add(year))
	ours := newFixture(t, keys.SM2SM3, "Platform Root")
	full := EncodePEM(e.leaf, e.inter)
	tests := []struct {
		name   string
		pem    []byte
		roots  []*smx509.Certificate
		usage  Purpose
		want   Reason
		wantN  int
		wantIs error
	}{
		{"leaf and intermediate", full, []*smx509.Certificate{e.root}, Seal, "", 2, nil},
		{"with explanatory text", append([]byte("subject=CN = External Seal\n"), full...), []*smx509.Certificate{e.root}, Seal, "", 2, nil},
		{"root configured among others", full, []*smx509.Certificate{ours.root, e.root}, Issuer, "", 2, nil},
		{"only our root", full, []*smx509.Certificate{ours.root}, Seal, ReasonUntrusted, 0, nil},
		{"leaf only", EncodePEM(e.leaf), []*smx509.Certificate{e.root}, Seal, ReasonUntrusted, 0, nil},
		{"root presented as chain", EncodePEM(e.leaf, e.inter, ours.root), []*smx509.Certificate{e.root}, Seal, "", 3, nil},
		{"truncated", full[:len(full)-40], []*smx509.Certificate{e.root}, Seal, ReasonMalformed, 0, ErrMalformed},
		{"empty", nil, []*smx509.Certificate{e.root}, Seal, ReasonMalformed, 0, ErrMalformed},
	}
	for _, tt := range tests {
		got, err := ImportChain(tt.pem, tt.roots, t0.Add(day), tt.usage)
		if r := reasonOf(err); r != tt.want {
			t.Errorf("%s: ImportChain() reason = %q (%v), want %q", tt.name, r, err, tt.want)
		}
		if len(got) != tt.wantN {
			t.Errorf("%s: ImportChain() returned %d certificates, want %d", tt.name, len(got), tt.wantN)
		}
		if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
			t.Errorf("%s: ImportChain() error = %v, want it to wrap %v", tt.name, err, tt.wantIs)
		}
		if err != nil && !strings.Contains(err.Error(), "("+string(tt.want)+")") {
			t.Errorf("%s: error %q does not name reason %q", tt.name, err, tt.want)
		}
	}
}

func TestPEMRoundTrip(t *testing.T) {
	f := newFixture(t, keys.SM2SM3, "Root")
	seal := f.issue(t, keys.SM2SM3, "Seal", Seal, t0, t0.Add(year))
	data := EncodePEM(seal, nil, &smx509.Certificate{}, f.root)
	if n := bytes.Count(data, []byte("-----BEGIN CERTIFICATE-----")); n != 2 {
		t.Errorf("EncodePEM() wrote %d blocks, want 2 (nil and unparsed skipped)", n)
	}
	got, err := ParsePEM(data)
	if err != nil {
		t.Fatalf("ParsePEM() error = %v", err)
	}
	if len(got) != 2 || !got[0].Equal(seal) || !got[1].Equal(f.root) {
		t.Errorf("ParsePEM() = %d certificates, want seal then root", len(got))
	}
	if len(EncodePEM()) != 0 {
		t.Error("EncodePEM() of nothing is not empty")
	}
	one, err := ParseDER(seal.Raw)
	if err != nil || !one.Equal(seal) {
		t.Errorf("ParseDER(seal) = %v, %v; want the seal", one, err)
	}
}

func TestParseMalformed(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256, "Root")
	der := f.root.Raw
	good := EncodePEM(f.root)
	block := func(typ string, b []byte, headers map[string]string) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b, Headers: headers})
	}
	badBase64 := bytes.Replace(good, []byte(base64.StdEncoding.EncodeToString(der)[:8]), []byte("!!!!!!!!"), 1)
	pemTests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"text only", []byte("hello\n")},
		{"truncated PEM", good[:len(good)/2]},
		{"missing END line", bytes.TrimSuffix(bytes.TrimSpace(good), []byte("-----END CERTIFICATE-----"))},
		{"truncated second block", append(append([]byte{}, good...), good[:len(good)-30]...)},
		{"corrupted first block", append(append([]byte{}, badBase64...), good...)},
		{"private key block", block("PRIVATE KEY", der, nil)},
		{"headers", block("CERTIFICATE", der, map[string]string{"Proc-Type": "4,ENCRYPTED"})},
		{"truncated DER", block("CERTIFICATE", der[:len(der)-1], nil)},
		{"DER with trailing byte", block("CERTIFICATE", append(append([]byte{}, der...), 0), nil)},
		{"two certificates in one block", block("CERTIFICATE", append(append([]byte{}, der...), der...), nil)},
		{"empty block", block("CERTIFICATE", nil, nil)},
	}
	for _, tt := range pemTests {
		if got, err := ParsePEM(tt.in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParsePEM() = %d certificates, %v; want ErrMalformed", tt.name, len(got), err)
		}
	}
	derTests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"one byte", der[:1]},
		{"truncated", der[:len(der)-1]},
		{"trailing byte", append(append([]byte{}, der...), 0)},
		{"PEM instead of DER", good},
		{"flipped length", append([]byte{der[0], der[1] ^ 0x01}, der[2:]...)},
	}
	for _, tt := range derTests {
		if got, err := ParseDER(tt.in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseDER() = %v, %v; want ErrMalformed", tt.name, got, err)
		}
	}
}
