// Package pki runs the platform's certificate authority over the key ring:
// one internal root (SM2 by default) that certifies seal and issuer keys, a
// CRL of what it revoked, and external CAs whose chains are imported after
// validation to a trusted root. A seal is valid exactly while its
// certificate is (R-SEAL-3), so every time here comes from the injected
// clock, and certificates are kept forever (R-SEAL-8).
package pki

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
)

// Kind says what a certificate is on this platform.
type Kind string

// The kinds.
const (
	Root         Kind = "root"          // the internal root
	Seal         Kind = "seal"          // an electronic seal's key
	Issuer       Kind = "issuer"        // a license issuer's signing key
	ExternalRoot Kind = "external-root" // a trusted root of an external CA
)

// Source says who issued a certificate.
type Source string

// The sources.
const (
	Internal Source = "internal"
	External Source = "external"
)

// Cert is a stored certificate.
type Cert struct {
	Fingerprint      string // SHA-256 of the DER, hex
	Serial           string // hex
	KeyID            string // the key it certifies; "" for external roots
	Kind             Kind
	Source           Source
	Issuer           string // fingerprint of the issuing root; "" for roots
	Subject          string
	NotBefore        time.Time
	NotAfter         time.Time
	DER              []byte
	CreatedAt        time.Time
	RevokedAt        *time.Time
	RevocationReason int
}

// X509 parses the certificate.
func (c Cert) X509() (*smx509.Certificate, error) { return ca.ParseDER(c.DER) }

// PEM encodes the certificate.
func (c Cert) PEM() ([]byte, error) {
	x, err := c.X509()
	if err != nil {
		return nil, err
	}
	return ca.EncodePEM(x), nil
}

// Reader reads certificates.
type Reader interface {
	// GetCert finds a certificate by fingerprint, or by serial among those
	// the internal root issued.
	GetCert(ctx context.Context, ref string) (Cert, error)
	ListCerts(ctx context.Context, f Filter) ([]Cert, error)
}

// Store is what the service holds outside a transaction: the reads, and
// the CRL counter.
type Store interface {
	Reader
	// NextCRLNumber returns the next CRL number, counting in the database
	// so that several processes never reuse one. It commits by itself: a
	// number is spent whether or not the CRL that takes it is published, and
	// counting apart keeps every CRL from conflicting with every other.
	NextCRLNumber(ctx context.Context) (int64, error)
}

// Writer is the part of a transaction that records certificates and their
// revocations, each with its audit entry.
type Writer interface {
	InsertCert(ctx context.Context, c Cert) error
	RevokeCert(ctx context.Context, fingerprint string, at time.Time, reason int) error
	auditlog.Appender
}

// Tx is what a change of a certificate gets: the transaction it runs in.
type Tx interface {
	Reader
	Writer
}

// Insert stores c and its audit entry through st; org is the organization
// of the certified key ("" for an external root).
func Insert(ctx context.Context, st Writer, c Cert, org string) error {
	if err := st.InsertCert(ctx, c); err != nil {
		return err
	}
	action := map[Kind]string{Root: "cert.root-created", ExternalRoot: "cert.root-trusted"}[c.Kind]
	switch {
	case action != "":
	case c.Source == External:
		action = "cert.imported"
	default:
		action = "cert.issued"
	}
	return auditlog.Record(ctx, st, auditlog.Entry{At: c.CreatedAt, Org: org, Action: action, Subject: c.Fingerprint,
		Details: map[string]string{"serial": c.Serial, "kind": string(c.Kind), "key": c.KeyID, "subject": c.Subject,
			"not_after": c.NotAfter.Format(time.RFC3339)}})
}

// RevokeIn revokes the certificate with the given fingerprint through st,
// with its audit entry; org is the organization of the certified key. A
// certificate revoked already gives apperr.Conflict.
func RevokeIn(ctx context.Context, st Writer, fingerprint, org string, at time.Time, reason int) error {
	if err := st.RevokeCert(ctx, fingerprint, at, reason); err != nil {
		return err
	}
	return auditlog.Record(ctx, st, auditlog.Entry{At: at, Org: org, Action: "cert.revoked", Subject: fingerprint,
		Details: map[string]string{"reason": strconv.Itoa(reason)}})
}

// Filter selects certificates; zero fields do not filter.
type Filter struct {
	KeyID   string
	Kind    Kind
	Issuer  string
	Revoked bool // only revoked ones
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// Keys is what the certificate authority asks of the key ring: CA keys
// and the signers of the keys it certifies.
type Keys interface {
	Create(ctx context.Context, n keyring.NewKey) (keyring.Key, error)
	Get(ctx context.Context, id string) (keyring.Key, error)
	Signer(ctx context.Context, id string) (keys.Signer, keyring.Key, error)
}

// Deps are what the CA service is built from; every field is required.
type Deps struct {
	Store Store
	Tx    TxFunc
	Keys  Keys
	Now   func() time.Time
	Rand  io.Reader
}

// Service is the certificate authority.
type Service struct {
	store Store
	tx    TxFunc
	keys  Keys
	now   func() time.Time
	rand  io.Reader
}

// New returns the CA service.
func New(d Deps) *Service {
	return &Service{store: d.Store, tx: d.Tx, keys: d.Keys, now: func() time.Time { return d.Now().UTC().Truncate(time.Second) }, rand: d.Rand}
}

// fingerprint is the SHA-256 of a certificate's DER, hex.
func fingerprint(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

func record(x *smx509.Certificate, keyID string, kind Kind, src Source, issuer string, now time.Time) Cert {
	return Cert{
		Fingerprint: fingerprint(x.Raw), Serial: x.SerialNumber.Text(16), KeyID: keyID, Kind: kind, Source: src,
		Issuer: issuer, Subject: x.Subject.String(), NotBefore: x.NotBefore.UTC(), NotAfter: x.NotAfter.UTC(),
		DER: x.Raw, CreatedAt: now,
	}
}

// cryptoSigner is what a key ring signer offers to X.509 code.
type cryptoSigner interface{ CryptoSigner() crypto.Signer }

// InitRoot makes the internal root: a CA key named name in org and a
// self-signed certificate valid for years. There is one internal root.
func (s *Service) InitRoot(ctx context.Context, org, name, commonName string, alg keys.Algorithm, years int) (Cert, error) {
	if years < 1 || years > 50 {
		return Cert{}, fieldErr("years", "range", "a root lives 1 to 50 years")
	}
	var fs apperr.Fields
	if !fs.Name("common_name", commonName, 64, true) {
		return Cert{}, fs.Err()
	}
	if roots, err := s.store.ListCerts(ctx, Filter{Kind: Root}); err != nil {
		return Cert{}, err
	} else if len(roots) > 0 {
		return Cert{}, apperr.New(apperr.Conflict, "the internal root exists already (%s)", roots[0].Fingerprint)
	}
	k, err := s.keys.Create(ctx, keyring.NewKey{Org: org, Name: name, Purpose: keyring.CA, Algorithm: alg})
	if err != nil {
		return Cert{}, err
	}
	signer, err := s.cryptoSigner(ctx, k.ID)
	if err != nil {
		return Cert{}, err
	}
	now := s.now()
	x, err := ca.NewRoot(signer, pkix.Name{CommonName: commonName, Country: []string{"CN"}, Organization: []string{org}},
		now, now.AddDate(years, 0, 0), s.rand)
	if err != nil {
		return Cert{}, err
	}
	c := record(x, k.ID, Root, Internal, "", now)
	if err := s.tx(ctx, func(st Tx) error { return Insert(ctx, st, c, org) }); err != nil {
		return Cert{}, err
	}
	return c, nil
}

func (s *Service) cryptoSigner(ctx context.Context, keyID string) (crypto.Signer, error) {
	signer, _, err := s.keys.Signer(ctx, keyID)
	if err != nil {
		return nil, err
	}
	cs, ok := signer.(cryptoSigner)
	if !ok {
		return nil, apperr.New(apperr.Invalid, "key %s cannot sign X.509 structures", keyID)
	}
	return cs.CryptoSigner(), nil
}

// Root returns the internal root's record and certificate.
func (s *Service) Root(ctx context.Context) (Cert, *smx509.Certificate, error) {
	roots, err := s.store.ListCerts(ctx, Filter{Kind: Root})
	if err != nil {
		return Cert{}, nil, err
	}
	if len(roots) == 0 {
		return Cert{}, nil, apperr.New(apperr.NotFound, "there is no internal root yet: run `zhengzhao ca init`")
	}
	x, err := roots[0].X509()
	return roots[0], x, err
}

// IssueRequest asks for a certificate for a key of the key ring.
type IssueRequest struct {
	KeyID      string
	Kind       Kind // Seal or Issuer
	CommonName string
	NotBefore  time.Time // zero: now
	NotAfter   time.Time // zero: NotBefore plus two years, within the root's validity
}

// Issue certifies a key with the internal root and stores the certificate.
func (s *Service) Issue(ctx context.Context, r IssueRequest) (Cert, error) {
	k, err := s.keys.Get(ctx, r.KeyID)
	if err != nil {
		return Cert{}, err
	}
	a, err := s.Authority(ctx)
	if err != nil {
		return Cert{}, err
	}
	c, err := a.Issue(k, r)
	if err != nil {
		return Cert{}, err
	}
	if err := s.tx(ctx, func(st Tx) error { return Insert(ctx, st, c, k.Org) }); err != nil {
		return Cert{}, err
	}
	return c, nil
}

// Authority signs certificates with the internal root and stores nothing:
// an operation that certifies a key it makes (a seal) stores key and
// certificate in its own transaction, so no certificate is ever kept
// without the record it was made for.
type Authority struct {
	root  Cert
	rootX *smx509.Certificate
	ca    *ca.CA
	now   func() time.Time
}

// Authority loads the internal root and its signer.
func (s *Service) Authority(ctx context.Context) (*Authority, error) {
	rootRec, rootX, err := s.Root(ctx)
	if err != nil {
		return nil, err
	}
	signer, err := s.cryptoSigner(ctx, rootRec.KeyID)
	if err != nil {
		return nil, err
	}
	authority, err := ca.New(rootX, signer, s.now, s.rand)
	if err != nil {
		return nil, err
	}
	return &Authority{root: rootRec, rootX: rootX, ca: authority, now: s.now}, nil
}

// Issue certifies the active key k as r asks; r.KeyID is ignored.
func (a *Authority) Issue(k keyring.Key, r IssueRequest) (Cert, error) {
	var purpose ca.Purpose
	switch r.Kind {
	case Seal:
		purpose = ca.Seal
	case Issuer:
		purpose = ca.Issuer
	default:
		return Cert{}, fieldErr("kind", "enum", "a certificate is for a seal or an issuer")
	}
	if k.State != keyring.Active {
		return Cert{}, apperr.New(apperr.Conflict, "key %s is %s: only active keys are certified", k.ID, k.State)
	}
	pub, err := k.Public()
	if err != nil {
		return Cert{}, err
	}
	nb, na := r.NotBefore.UTC().Truncate(time.Second), r.NotAfter.UTC().Truncate(time.Second)
	if nb.IsZero() {
		nb = a.now()
	}
	if na.IsZero() {
		na = nb.AddDate(2, 0, 0)
		if na.After(a.rootX.NotAfter) {
			na = a.rootX.NotAfter.UTC()
		}
	}
	cn := r.CommonName
	if cn == "" {
		cn = k.Name
	} else if fs := (apperr.Fields{}); !fs.Name("common_name", cn, 100, true) {
		return Cert{}, fs.Err()
	}
	x, err := a.ca.Issue(ca.IssueRequest{PublicKey: pub, Purpose: purpose, NotBefore: nb, NotAfter: na,
		Subject: pkix.Name{CommonName: cn, Country: []string{"CN"}, Organization: []string{k.Org}}})
	if errors.Is(err, ca.ErrInvalidRequest) || errors.Is(err, ca.ErrUnsupportedKey) {
		return Cert{}, apperr.Wrap(apperr.Invalid, err, "%v", err)
	}
	if err != nil {
		return Cert{}, err
	}
	return record(x, k.ID, r.Kind, Internal, a.root.Fingerprint, a.now()), nil
}

// TrustExternalRoot adds a root of an external CA to the trusted roots.
func (s *Service) TrustExternalRoot(ctx context.Context, pemBytes []byte) (Cert, error) {
	xs, err := ca.ParsePEM(pemBytes)
	if err != nil || len(xs) != 1 {
		return Cert{}, fieldErr("root", "pem", "one PEM certificate is expected")
	}
	x := xs[0]
	if !x.IsCA || x.CheckSignatureFrom(x) != nil {
		return Cert{}, fieldErr("root", "self-signed-ca", "the certificate is not a self-signed CA certificate")
	}
	c := record(x, "", ExternalRoot, External, "", s.now())
	err = s.tx(ctx, func(st Tx) error {
		// Trusting a root twice returns the first record and logs nothing.
		if had, err := st.GetCert(ctx, c.Fingerprint); err == nil {
			c = had
			return nil
		} else if !errors.Is(err, apperr.NotFound) {
			return err
		}
		return Insert(ctx, st, c, "")
	})
	if err != nil {
		return Cert{}, err
	}
	return c, nil
}

// roots returns every trusted root: the internal one and external ones.
func (s *Service) roots(ctx context.Context) (map[string]*smx509.Certificate, error) {
	out := map[string]*smx509.Certificate{}
	for _, k := range []Kind{Root, ExternalRoot} {
		cs, err := s.store.ListCerts(ctx, Filter{Kind: k})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			x, err := c.X509()
			if err != nil {
				return nil, err
			}
			out[c.Fingerprint] = x
		}
	}
	return out, nil
}

// Import stores a certificate for a key from an external CA: the PEM chain
// (leaf first) must validate now to a trusted root for kind, and the leaf
// must certify the key's public key.
func (s *Service) Import(ctx context.Context, keyID string, kind Kind, chainPEM []byte) (Cert, error) {
	purpose := map[Kind]ca.Purpose{Seal: ca.Seal, Issuer: ca.Issuer}[kind]
	if purpose == 0 {
		return Cert{}, fieldErr("kind", "enum", "a certificate is for a seal or an issuer")
	}
	k, err := s.keys.Get(ctx, keyID)
	if err != nil {
		return Cert{}, err
	}
	roots, err := s.roots(ctx)
	if err != nil {
		return Cert{}, err
	}
	list := make([]*smx509.Certificate, 0, len(roots))
	for _, r := range roots {
		list = append(list, r)
	}
	chain, err := ca.ImportChain(chainPEM, list, s.now(), purpose)
	if err != nil {
		return Cert{}, chainErr(err)
	}
	leaf := chain[0]
	pub, err := k.Public()
	if err != nil {
		return Cert{}, err
	}
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(leaf.PublicKey) {
		return Cert{}, fieldErr("chain", "key-match", "the certificate does not certify this key's public key")
	}
	issuer := ""
	for fp, r := range roots {
		if leaf.CheckSignatureFrom(r) == nil || (len(chain) > 1 && chain[len(chain)-1].CheckSignatureFrom(r) == nil) {
			issuer = fp
		}
	}
	c := record(leaf, k.ID, kind, External, issuer, s.now())
	if err := s.tx(ctx, func(st Tx) error { return Insert(ctx, st, c, k.Org) }); err != nil {
		return Cert{}, err
	}
	return c, nil
}

// chainErr turns a chain validation failure into an Invalid error naming
// the reason.
func chainErr(err error) error {
	var ce *ca.ChainError
	if errors.As(err, &ce) {
		return &apperr.Error{Kind: apperr.Invalid, Detail: ce.Error(), Err: err,
			Fields: []apperr.FieldError{{Field: "chain", Rule: "chain-" + string(ce.Reason), Detail: ce.Error()}}}
	}
	return apperr.Wrap(apperr.Invalid, err, "%v", err)
}

// Get returns a certificate by fingerprint or internal serial.
func (s *Service) Get(ctx context.Context, ref string) (Cert, error) {
	c, err := s.store.GetCert(ctx, ref)
	if errors.Is(err, apperr.NotFound) {
		return Cert{}, apperr.New(apperr.NotFound, "no certificate has fingerprint or serial %s", ref)
	}
	return c, err
}

// List returns certificates.
func (s *Service) List(ctx context.Context, f Filter) ([]Cert, error) {
	return s.store.ListCerts(ctx, f)
}

// Revoke revokes a certificate the internal root issued, from now on.
func (s *Service) Revoke(ctx context.Context, ref string, reason int) (Cert, error) {
	if reason < ca.ReasonUnspecified || reason > ca.ReasonAACompromise || reason == 7 || reason == 8 {
		return Cert{}, fieldErr("reason", "enum", "an RFC 5280 reason code other than 7 and 8")
	}
	var out Cert
	err := s.tx(ctx, func(st Tx) error {
		c, err := st.GetCert(ctx, ref)
		if errors.Is(err, apperr.NotFound) {
			return apperr.New(apperr.NotFound, "no certificate has fingerprint or serial %s", ref)
		}
		if err != nil {
			return err
		}
		if c.Source != Internal || c.Kind == Root {
			return apperr.New(apperr.Conflict, "only certificates the internal root issued can be revoked here")
		}
		if c.RevokedAt != nil {
			out = c
			return nil
		}
		now := s.now()
		if err := RevokeIn(ctx, st, c.Fingerprint, issuedTo(c), now, reason); err != nil {
			return err
		}
		c.RevokedAt, c.RevocationReason = &now, reason
		out = c
		return nil
	})
	return out, err
}

// issuedTo is the organization the internal root certified c for: Issue
// names the key's organization as the subject's.
func issuedTo(c Cert) string {
	x, err := c.X509()
	if err != nil || len(x.Subject.Organization) == 0 {
		return ""
	}
	return x.Subject.Organization[0]
}

// CRLValidity is how long a CRL is current.
const CRLValidity = 7 * 24 * time.Hour

// CRL signs a fresh CRL of the internal root: every certificate it revoked.
func (s *Service) CRL(ctx context.Context) ([]byte, error) {
	rootRec, rootX, err := s.Root(ctx)
	if err != nil {
		return nil, err
	}
	revoked, err := s.store.ListCerts(ctx, Filter{Issuer: rootRec.Fingerprint, Revoked: true})
	if err != nil {
		return nil, err
	}
	entries := make([]ca.Revoked, 0, len(revoked))
	for _, c := range revoked {
		serial, ok := new(big.Int).SetString(c.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("certificate %s: bad serial %q", c.Fingerprint, c.Serial)
		}
		entries = append(entries, ca.Revoked{Serial: serial, At: c.RevokedAt.UTC(), Reason: c.RevocationReason})
	}
	signer, err := s.cryptoSigner(ctx, rootRec.KeyID)
	if err != nil {
		return nil, err
	}
	authority, err := ca.New(rootX, signer, s.now, s.rand)
	if err != nil {
		return nil, err
	}
	n, err := s.store.NextCRLNumber(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return authority.CRL(entries, big.NewInt(n), now, now.Add(CRLValidity))
}

// Verify checks a stored certificate at instant at: chain to a trusted
// root, validity, key usage for its kind, and revocation by the internal
// root. It returns nil or an Invalid error whose field rule names the reason.
func (s *Service) Verify(ctx context.Context, ref string, at time.Time) (Cert, error) {
	c, err := s.Get(ctx, ref)
	if err != nil {
		return Cert{}, err
	}
	x, err := c.X509()
	if err != nil {
		return c, err
	}
	list, err := s.TrustedRoots(ctx)
	if err != nil {
		return c, err
	}
	purpose := map[Kind]ca.Purpose{Seal: ca.Seal, Issuer: ca.Issuer}[c.Kind]
	if purpose == 0 {
		return c, apperr.New(apperr.Invalid, "%s certificates are roots, not verified against a usage", c.Kind)
	}
	if err := ca.Verify([]*smx509.Certificate{x}, list, at.UTC(), purpose); err != nil {
		return c, chainErr(err)
	}
	// The store knows every revocation of the internal root at once; the
	// signed CRL is what others outside the platform consult.
	if c.RevokedAt != nil && !at.Before(*c.RevokedAt) {
		return c, chainErr(&ca.ChainError{Reason: ca.ReasonRevoked, Cert: x,
			Detail: fmt.Sprintf("revoked at %s (reason %d)", c.RevokedAt.Format(time.RFC3339), c.RevocationReason)})
	}
	return c, nil
}

func fieldErr(field, rule, detail string) error {
	return &apperr.Error{Kind: apperr.Invalid, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}

// TrustedRoots returns every trusted root certificate: the internal root
// and the roots of external CAs.
func (s *Service) TrustedRoots(ctx context.Context) ([]*smx509.Certificate, error) {
	roots, err := s.roots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*smx509.Certificate, 0, len(roots))
	for _, r := range roots {
		out = append(out, r)
	}
	return out, nil
}
