package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// t0 is the start of every test root's validity.
var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const (
	day  = 24 * time.Hour
	year = 365 * day
)

func fixedClock(t time.Time) Clock { return func() time.Time { return t } }

// fixture is a root CA made with one algorithm, valid t0 .. t0+10y, whose
// clock reads t0+1h.
type fixture struct {
	alg  keys.Algorithm
	key  *keys.SoftwareKey
	root *smx509.Certificate
	ca   *CA
}

func mustKey(t testing.TB, alg keys.Algorithm) *keys.SoftwareKey {
	t.Helper()
	k, err := keys.GenerateSoftware(alg, nil)
	if err != nil {
		t.Fatalf("GenerateSoftware(%s) error = %v", alg, err)
	}
	return k
}

func newFixture(t testing.TB, alg keys.Algorithm, cn string) *fixture {
	t.Helper()
	key := mustKey(t, alg)
	subject := pkix.Name{CommonName: cn, Organization: []string{"zhengzhao test"}, Country: []string{"CN"}}
	root, err := NewRoot(key.CryptoSigner(), subject, t0, t0.Add(10*year), rand.Reader)
	if err != nil {
		t.Fatalf("NewRoot(%s) error = %v", alg, err)
	}
	ca, err := New(root, key.CryptoSigner(), fixedClock(t0.Add(time.Hour)), rand.Reader)
	if err != nil {
		t.Fatalf("New(%s) error = %v", alg, err)
	}
	return &fixture{alg: alg, key: key, root: root, ca: ca}
}

// issue certifies a fresh key of leafAlg for purpose, valid nb .. na.
func (f *fixture) issue(t testing.TB, leafAlg keys.Algorithm, cn string, purpose Purpose, nb, na time.Time) *smx509.Certificate {
	t.Helper()
	cert, err := f.ca.Issue(IssueRequest{
		PublicKey: mustKey(t, leafAlg).Public(),
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"某市市场监督管理局"}},
		Purpose:   purpose,
		NotBefore: nb,
		NotAfter:  na,
	})
	if err != nil {
		t.Fatalf("Issue(%s %s) error = %v", leafAlg, purpose, err)
	}
	return cert
}

// reasonOf returns the ChainError reason of err, "" for nil and "other" for
// errors that are not ChainErrors.
func reasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var ce *ChainError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return "other"
}

func TestIssueVerifyValidityBoundaries(t *testing.T) {
	nb := t0.Add(day)
	na := nb.Add(year)
	tests := []struct {
		name string
		at   time.Time
		want Reason
	}{
		{"1s before NotBefore", nb.Add(-time.Second), ReasonNotYetValid},
		{"1ns before NotBefore", nb.Add(-time.Nanosecond), ReasonNotYetValid},
		{"at NotBefore", nb, ""},
		{"inside", nb.Add(100 * day), ""},
		{"1ns before NotAfter", na.Add(-time.Nanosecond), ""},
		{"at NotAfter", na, ""},
		{"1ns after NotAfter", na.Add(time.Nanosecond), ReasonExpired},
		{"1s after NotAfter", na.Add(time.Second), ReasonExpired},
		{"at NotAfter in UTC+8", na.In(time.FixedZone("CST", 8*3600)), ""},
	}
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg, "Root "+string(alg))
			seal := f.issue(t, alg, "Seal 1", Seal, nb, na)
			if !seal.NotBefore.Equal(nb) || !seal.NotAfter.Equal(na) {
				t.Fatalf("issued validity = %v .. %v, want %v .. %v", seal.NotBefore, seal.NotAfter, nb, na)
			}
			for _, tt := range tests {
				err := Verify([]*smx509.Certificate{seal}, []*smx509.Certificate{f.root}, tt.at, Seal)
				if got := reasonOf(err); got != tt.want {
					t.Errorf("%s: Verify() reason = %q (%v), want %q", tt.name, got, err, tt.want)
				}
			}
		})
	}
}

func TestVerifyReasons(t *testing.T) {
	nb, na := t0.Add(day), t0.Add(2*year)
	at := t0.Add(year)
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg, "Root A")
			sameName := newFixture(t, alg, "Root A")
			otherName := newFixture(t, alg, "Root B")
			seal := f.issue(t, alg, "Seal", Seal, nb, na)
			issuer := f.issue(t, alg, "Issuer", Issuer, nb, na)
			foreign := otherName.issue(t, alg, "Seal", Seal, nb, na)
			roots := []*smx509.Certificate{f.root}
			tests := []struct {
				name  string
				chain []*smx509.Certificate
				roots []*smx509.Certificate
				usage Purpose
				want  Reason
			}{
				{"seal as seal", []*smx509.Certificate{seal}, roots, Seal, ""},
				{"seal as issuer", []*smx509.Certificate{seal}, roots, Issuer, ""},
				{"issuer as issuer", []*smx509.Certificate{issuer}, roots, Issuer, ""},
				{"issuer as seal lacks contentCommitment", []*smx509.Certificate{issuer}, roots, Seal, ReasonKeyUsage},
				{"root as leaf", []*smx509.Certificate{f.root}, roots, Issuer, ReasonKeyUsage},
				{"root with same name, other key", []*smx509.Certificate{seal}, []*smx509.Certificate{sameName.root}, Seal, ReasonUntrusted},
				{"cert from another root", []*smx509.Certificate{foreign}, roots, Seal, ReasonUntrusted},
				{"no roots", []*smx509.Certificate{seal}, nil, Seal, ReasonUntrusted},
				{"both roots configured", []*smx509.Certificate{foreign}, []*smx509.Certificate{f.root, otherName.root}, Seal, ""},
				{"empty chain", nil, roots, Seal, ReasonMalformed},
				{"nil certificate", []*smx509.Certificate{nil}, roots, Seal, ReasonMalformed},
				{"unparsed certificate", []*smx509.Certificate{{}}, roots, Seal, ReasonMalformed},
				{"overlong chain", make([]*smx509.Certificate, MaxChainLength+1), roots, Seal, ReasonMalformed},
			}
			for _, tt := range tests {
				err := Verify(tt.chain, tt.roots, at, tt.usage)
				if got := reasonOf(err); got != tt.want {
					t.Errorf("%s: Verify() reason = %q (%v), want %q", tt.name, got, err, tt.want)
				}
			}
		})
	}
}

func TestVerifyInvalidArguments(t *testing.T) {
	f := newFixture(t, keys.Ed25519, "Root")
	seal := f.issue(t, keys.Ed25519, "Seal", Seal, t0, t0.Add(year))
	tests := []struct {
		name  string
		at    time.Time
		usage Purpose
	}{
		{"zero time", time.Time{}, Seal},
		{"zero purpose", t0, 0},
		{"unknown purpose", t0, 7},
	}
	for _, tt := range tests {
		err := Verify([]*smx509.Certificate{seal}, []*smx509.Certificate{f.root}, tt.at, tt.usage)
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: Verify() error = %v, want ErrInvalidRequest", tt.name, err)
		}
	}
}

func TestChainErrorMessage(t *testing.T) {
	f := newFixture(t, keys.Ed25519, "Root")
	seal := f.issue(t, keys.Ed25519, "Seal 7", Seal, t0, t0.Add(year))
	err := Verify([]*smx509.Certificate{seal}, []*smx509.Certificate{f.root}, t0.Add(2*year), Seal)
	var ce *ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("Verify() error = %v, want *ChainError", err)
	}
	if ce.Cert != seal {
		t.Errorf("ChainError.Cert = %v, want the seal certificate", ce.Cert)
	}
	want := `ca: certificate chain rejected (expired): certificate "Seal 7" serial `
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("Error() = %q, want prefix %q", got, want)
	}
}

func TestIssueMixedAlgorithms(t *testing.T) {
	for _, caAlg := range keys.Algorithms() {
		f := newFixture(t, caAlg, "Root")
		for _, leafAlg := range keys.Algorithms() {
			seal := f.issue(t, leafAlg, "Seal", Seal, t0, t0.Add(year))
			if err := Verify([]*smx509.Certificate{seal}, []*smx509.Certificate{f.root}, t0, Seal); err != nil {
				t.Errorf("CA %s, leaf %s: Verify() = %v, want nil", caAlg, leafAlg, err)
			}
		}
	}
}

func TestIssuedCertificateFields(t *testing.T) {
	tests := []struct {
		purpose Purpose
		want    smx509.KeyUsage
	}{
		{Seal, smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment},
		{Issuer, smx509.KeyUsageDigitalSignature},
	}
	f := newFixture(t, keys.SM2SM3, "Root")
	if !f.root.IsCA || !f.root.BasicConstraintsValid || f.root.KeyUsage != smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign || len(f.root.SubjectKeyId) != 20 {
		t.Errorf("root IsCA=%v BC=%v KeyUsage=%s SKI=%x, want CA, certSign|cRLSign, 20-byte SKI",
			f.root.IsCA, f.root.BasicConstraintsValid, usageString(f.root.KeyUsage), f.root.SubjectKeyId)
	}
	if err := f.root.CheckSignatureFrom(f.root); err != nil {
		t.Errorf("root self-signature: %v", err)
	}
	for _, tt := range tests {
		c := f.issue(t, keys.SM2SM3, "Leaf", tt.purpose, t0, t0.Add(year))
		if c.KeyUsage != tt.want {
			t.Errorf("%s: KeyUsage = %s, want %s", tt.purpose, usageString(c.KeyUsage), usageString(tt.want))
		}
		if c.IsCA || !c.BasicConstraintsValid {
			t.Errorf("%s: IsCA=%v BasicConstraintsValid=%v, want false, true", tt.purpose, c.IsCA, c.BasicConstraintsValid)
		}
		if string(c.AuthorityKeyId) != string(f.root.SubjectKeyId) {
			t.Errorf("%s: AuthorityKeyId = %x, want root SubjectKeyId %x", tt.purpose, c.AuthorityKeyId, f.root.SubjectKeyId)
		}
		if len(c.SubjectKeyId) != 20 {
			t.Errorf("%s: SubjectKeyId = %x, want 20 bytes", tt.purpose, c.SubjectKeyId)
		}
	}
}

func TestSerialNumbersDistinct(t *testing.T) {
	f := newFixture(t, keys.Ed25519, "Root")
	pub := mustKey(t, keys.Ed25519).Public()
	seen := make(map[string]bool, 1000)
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for i := range 1000 {
		c, err := f.ca.Issue(IssueRequest{PublicKey: pub, Subject: pkix.Name{CommonName: "Seal"}, Purpose: Seal, NotBefore: t0, NotAfter: t0.Add(year)})
		if err != nil {
			t.Fatalf("Issue #%d error = %v", i, err)
		}
		s := c.SerialNumber
		if s.Sign() <= 0 || s.Cmp(limit) >= 0 {
			t.Fatalf("Issue #%d serial = %x, want in [1, 2^128)", i, s)
		}
		if seen[s.String()] {
			t.Fatalf("Issue #%d serial %x reused", i, s)
		}
		seen[s.String()] = true
	}
	if got := len(seen); got != 1000 {
		t.Errorf("distinct serials = %d, want 1000", got)
	}
}

func TestIssueRequestErrors(t *testing.T) {
	f := newFixture(t, keys.SM2SM3, "Root")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := IssueRequest{
		PublicKey: mustKey(t, keys.SM2SM3).Public(),
		Subject:   pkix.Name{CommonName: "Seal"},
		Purpose:   Seal,
		NotBefore: t0.Add(day),
		NotAfter:  t0.Add(year),
	}
	tests := []struct {
		name   string
		modify func(r *IssueRequest)
		want   error
	}{
		{"NotBefore equals NotAfter", func(r *IssueRequest) { r.NotAfter = r.NotBefore }, ErrInvalidRequest},
		{"NotBefore after NotAfter", func(r *IssueRequest) { r.NotBefore, r.NotAfter = r.NotAfter, r.NotBefore }, ErrInvalidRequest},
		{"zero NotBefore", func(r *IssueRequest) { r.NotBefore = time.Time{} }, ErrInvalidRequest},
		{"fractional NotAfter", func(r *IssueRequest) { r.NotAfter = r.NotAfter.Add(time.Millisecond) }, ErrInvalidRequest},
		{"before CA validity", func(r *IssueRequest) { r.NotBefore = t0.Add(-time.Second) }, ErrInvalidRequest},
		{"after CA validity", func(r *IssueRequest) { r.NotAfter = f.root.NotAfter.Add(time.Second) }, ErrInvalidRequest},
		{"empty subject", func(r *IssueRequest) { r.Subject = pkix.Name{} }, ErrInvalidRequest},
		{"subject equals CA", func(r *IssueRequest) { r.Subject = f.root.Subject }, ErrInvalidRequest},
		{"zero purpose", func(r *IssueRequest) { r.Purpose = 0 }, ErrInvalidRequest},
		{"nil key", func(r *IssueRequest) { r.PublicKey = nil }, ErrUnsupportedKey},
		{"P-384 key", func(r *IssueRequest) { r.PublicKey = &p384.PublicKey }, ErrUnsupportedKey},
		{"short Ed25519 key", func(r *IssueRequest) { r.PublicKey = make([]byte, 31) }, ErrUnsupportedKey},
		{"point not on curve", func(r *IssueRequest) {
			pub := *good.PublicKey.(*ecdsa.PublicKey)
			pub.X = new(big.Int).Add(pub.X, big.NewInt(1)) //nolint:staticcheck // SA1019: an off-curve point on purpose, which only the raw coordinates can make
			r.PublicKey = &pub
		}, ErrUnsupportedKey},
	}
	for _, tt := range tests {
		req := good
		tt.modify(&req)
		c, err := f.ca.Issue(req)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Issue() = %v, %v; want error wrapping %v", tt.name, c, err, tt.want)
		}
	}
	if _, err := f.ca.Issue(good); err != nil {
		t.Errorf("Issue(good) error = %v, want nil", err)
	}
	// Validity exactly equal to the CA's is allowed.
	req := good
	req.NotBefore, req.NotAfter = f.root.NotBefore, f.root.NotAfter
	if _, err := f.ca.Issue(req); err != nil {
		t.Errorf("Issue(CA validity) error = %v, want nil", err)
	}
}

func TestIssueCAOutsideValidity(t *testing.T) {
	f := newFixture(t, keys.Ed25519, "Root")
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"before CA NotBefore", t0.Add(-time.Second), ErrCAUnusable},
		{"at CA NotBefore", t0, nil},
		{"at CA NotAfter", f.root.NotAfter, nil},
		{"after CA NotAfter", f.root.NotAfter.Add(time.Nanosecond), ErrCAUnusable},
	}
	for _, tt := range tests {
		ca, err := New(f.root, f.key.CryptoSigner(), fixedClock(tt.now), rand.Reader)
		if err != nil {
			t.Fatalf("New() error = %v", err)
		}
		_, err = ca.Issue(IssueRequest{PublicKey: mustKey(t, keys.Ed25519).Public(), Subject: pkix.Name{CommonName: "S"},
			Purpose: Seal, NotBefore: t0, NotAfter: t0.Add(year)})
		if !errors.Is(err, tt.want) { // errors.Is(nil, nil) holds
			t.Errorf("%s: Issue() error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy source failed") }

func TestIssueRandomFailure(t *testing.T) {
	f := newFixture(t, keys.Ed25519, "Root")
	ca, err := New(f.root, f.key.CryptoSigner(), fixedClock(t0), errReader{})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	_, err = ca.Issue(IssueRequest{PublicKey: mustKey(t, keys.Ed25519).Public(), Subject: pkix.Name{CommonName: "S"},
		Purpose: Seal, NotBefore: t0, NotAfter: t0.Add(year)})
	if err == nil {
		t.Fatal("Issue() with failing random source succeeded, want error")
	}
	if _, err := NewRoot(f.key.CryptoSigner(), pkix.Name{CommonName: "R"}, t0, t0.Add(year), io.LimitReader(rand.Reader, 0)); err == nil {
		t.Error("NewRoot() with empty random source succeeded, want error")
	}
}

func TestNewErrors(t *testing.T) {
	f := newFixture(t, keys.SM2SM3, "Root")
	other := mustKey(t, keys.SM2SM3)
	leafKey := mustKey(t, keys.SM2SM3)
	leaf, err := f.ca.Issue(IssueRequest{PublicKey: leafKey.Public(), Subject: pkix.Name{CommonName: "Leaf"},
		Purpose: Issuer, NotBefore: t0, NotAfter: t0.Add(year)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cert   *smx509.Certificate
		signer crypto.Signer
	}{
		{"nil certificate", nil, f.key.CryptoSigner()},
		{"unparsed certificate", &smx509.Certificate{}, f.key.CryptoSigner()},
		{"nil signer", f.root, nil},
		{"other key", f.root, other.CryptoSigner()},
		{"end-entity certificate", leaf, leafKey.CryptoSigner()},
	}
	for _, tt := range tests {
		if _, err := New(tt.cert, tt.signer, nil, nil); !errors.Is(err, ErrCAUnusable) {
			t.Errorf("%s: New() error = %v, want ErrCAUnusable", tt.name, err)
		}
	}
}

func TestNewRootErrors(t *testing.T) {
	sm2Key := mustKey(t, keys.SM2SM3).CryptoSigner()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := pkix.Name{CommonName: "Root"}
	tests := []struct {
		name    string
		signer  crypto.Signer
		subject pkix.Name
		nb, na  time.Time
		want    error
	}{
		{"nil signer", nil, name, t0, t0.Add(year), ErrInvalidRequest},
		{"P-384 signer", p384, name, t0, t0.Add(year), ErrUnsupportedKey},
		{"empty subject", sm2Key, pkix.Name{}, t0, t0.Add(year), ErrInvalidRequest},
		{"empty validity", sm2Key, name, t0, t0, ErrInvalidRequest},
		{"fractional NotBefore", sm2Key, name, t0.Add(time.Microsecond), t0.Add(year), ErrInvalidRequest},
	}
	for _, tt := range tests {
		if _, err := NewRoot(tt.signer, tt.subject, tt.nb, tt.na, nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: NewRoot() error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestCrossCheckSM2 checks an SM2 certificate against smx509's own
// primitives, independently of Verify.
func TestCrossCheckSM2(t *testing.T) {
	f := newFixture(t, keys.SM2SM3, "SM2 Root")
	seal := f.issue(t, keys.SM2SM3, "SM2 Seal", Seal, t0, t0.Add(year))
	reparsed, err := smx509.ParseCertificate(seal.Raw)
	if err != nil {
		t.Fatalf("smx509.ParseCertificate() error = %v", err)
	}
	for _, c := range []*smx509.Certificate{f.root, reparsed} {
		if c.SignatureAlgorithm != smx509.SM2WithSM3 {
			t.Errorf("%q SignatureAlgorithm = %v, want SM2-SM3", c.Subject.CommonName, c.SignatureAlgorithm)
		}
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok || !sm2.IsSM2PublicKey(pub) {
			t.Errorf("%q PublicKey = %T, want SM2 *ecdsa.PublicKey", c.Subject.CommonName, c.PublicKey)
		}
	}
	if err := reparsed.CheckSignatureFrom(f.root); err != nil {
		t.Errorf("CheckSignatureFrom(root) = %v, want nil", err)
	}
	other := newFixture(t, keys.SM2SM3, "SM2 Root")
	if err := reparsed.CheckSignatureFrom(other.root); err == nil {
		t.Error("CheckSignatureFrom(other root) = nil, want error")
	}
	// The signature is SM2 over the TBS bytes with the default UID, as
	// package keys verifies it.
	if err := keys.Verify(keys.SM2SM3, f.root.PublicKey, reparsed.RawTBSCertificate, reparsed.Signature); err != nil {
		t.Errorf("keys.Verify(SM2, TBS, signature) = %v, want nil", err)
	}
}

// TestCrossCheckStandardLibrary checks that ECDSA and Ed25519 certificates
// verify with crypto/x509.
func TestCrossCheckStandardLibrary(t *testing.T) {
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.Ed25519} {
		f := newFixture(t, alg, "Root")
		seal := f.issue(t, alg, "Seal", Seal, t0, t0.Add(year))
		root, err := x509.ParseCertificate(f.root.Raw)
		if err != nil {
			t.Fatalf("%s: x509.ParseCertificate(root) error = %v", alg, err)
		}
		leaf, err := x509.ParseCertificate(seal.Raw)
		if err != nil {
			t.Fatalf("%s: x509.ParseCertificate(seal) error = %v", alg, err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(root)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: crypto/x509 Verify() = %v, want nil", alg, err)
		}
	}
}
