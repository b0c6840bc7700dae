package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Clock returns the current time. Production code passes time.Now; tests pass
// a function returning a fixed instant.
type Clock func() time.Time

// Purpose is what an end-entity certificate's key may be used for. It fixes
// the key usage bits Issue writes and Verify requires.
type Purpose int

const (
	// Seal certifies an electronic seal key (GB/T 38540). Seal certificates
	// carry KeyUsageDigitalSignature and KeyUsageContentCommitment
	// (non-repudiation), and Verify requires both.
	Seal Purpose = iota + 1
	// Issuer certifies the signing key of a licence issuer. Issuer
	// certificates carry KeyUsageDigitalSignature, and Verify requires it.
	Issuer
)

// String returns "seal", "issuer" or "Purpose(n)".
func (p Purpose) String() string {
	switch p {
	case Seal:
		return "seal"
	case Issuer:
		return "issuer"
	}
	return fmt.Sprintf("Purpose(%d)", int(p))
}

// KeyUsage returns the key usage bits a certificate for p carries; Verify
// requires at least these bits. It returns 0 for an unknown purpose.
func (p Purpose) KeyUsage() smx509.KeyUsage {
	switch p {
	case Seal:
		return smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment
	case Issuer:
		return smx509.KeyUsageDigitalSignature
	}
	return 0
}

// ErrInvalidRequest is returned (wrapped) when the arguments of NewRoot,
// Issue, CRL or Verify are unusable: an empty subject, a validity window that
// is empty, not in whole seconds or outside the CA's own, an unknown purpose,
// a bad revocation entry. Callers report it as a client or configuration
// error; retrying the same request cannot help.
var ErrInvalidRequest = errors.New("ca: invalid request")

// ErrUnsupportedKey is returned (wrapped) when a public key is not an SM2,
// ECDSA P-256 or Ed25519 key, or is not a valid point or length. Callers
// report it as a client error.
var ErrUnsupportedKey = errors.New("ca: unsupported or invalid public key")

// ErrCAUnusable is returned (wrapped) by New when the certificate is not a CA
// certificate or does not match the signer, and by Issue when the CA
// certificate is not valid at the current time. It is an operator error: the
// CA must be reconfigured or renewed.
var ErrCAUnusable = errors.New("ca: CA certificate cannot issue")

// ErrMalformed is returned (wrapped) when PEM or DER input cannot be parsed
// as certificates or a CRL. The input must be rejected.
var ErrMalformed = errors.New("ca: malformed certificate data")

// serialBytes is the size of random serial numbers: 128 bits.
const serialBytes = 16

// NewRoot creates a self-signed root CA certificate for the key of signer,
// valid from notBefore to notAfter inclusive (whole seconds). It has
// BasicConstraints CA:TRUE without a path length limit, key usage
// KeyUsageCertSign|KeyUsageCRLSign, a random positive 128-bit serial number
// and a SubjectKeyId derived from the public key (RFC 7093 method 1: the
// leftmost 160 bits of the SHA-256 of the subjectPublicKey bits). rand (or
// crypto/rand.Reader when nil) supplies the serial number and the signing
// randomness.
func NewRoot(signer crypto.Signer, subject pkix.Name, notBefore, notAfter time.Time, rand io.Reader) (*smx509.Certificate, error) {
	if signer == nil {
		return nil, fmt.Errorf("new root: %w: nil signer", ErrInvalidRequest)
	}
	r := orDefault(rand)
	ski, err := subjectKeyID(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("new root: signer key: %w", err)
	}
	if err := checkSubject(subject); err != nil {
		return nil, fmt.Errorf("new root: %w", err)
	}
	if err := checkValidity(notBefore, notAfter); err != nil {
		return nil, fmt.Errorf("new root: %w", err)
	}
	serial, err := newSerial(r)
	if err != nil {
		return nil, fmt.Errorf("new root: %w", err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
	}
	der, err := smx509.CreateCertificate(r, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("new root %q: create certificate: %w", subject.CommonName, err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new root %q: parse created certificate: %w", subject.CommonName, err)
	}
	return cert, nil
}

// CA issues end-entity certificates and CRLs with a CA certificate and its
// signing key. It is safe for concurrent use when its signer and random
// source are (software keys and crypto/rand.Reader are).
type CA struct {
	cert   *smx509.Certificate
	signer crypto.Signer
	clock  Clock
	rand   io.Reader
}

// New returns a CA that signs with signer on behalf of cert. cert must be a
// parsed CA certificate (BasicConstraints CA:TRUE, KeyUsageCertSign, a
// SubjectKeyId) whose public key is signer's; otherwise the error wraps
// ErrCAUnusable. clock supplies the current time (time.Now when nil) and
// rand the serial numbers and signing randomness (crypto/rand.Reader when
// nil).
func New(cert *smx509.Certificate, signer crypto.Signer, clock Clock, rand io.Reader) (*CA, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return nil, fmt.Errorf("new CA: %w: nil or unparsed certificate", ErrCAUnusable)
	}
	if signer == nil {
		return nil, fmt.Errorf("new CA: %w: nil signer", ErrCAUnusable)
	}
	name := cert.Subject.CommonName
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("new CA %q: %w: not a CA certificate (BasicConstraints CA:TRUE missing)", name, ErrCAUnusable)
	}
	if cert.KeyUsage&smx509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("new CA %q: %w: key usage lacks certSign", name, ErrCAUnusable)
	}
	if len(cert.SubjectKeyId) == 0 {
		return nil, fmt.Errorf("new CA %q: %w: no SubjectKeyId", name, ErrCAUnusable)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("new CA %q: %w: signer key does not match certificate key", name, ErrCAUnusable)
	}
	if clock == nil {
		clock = time.Now
	}
	return &CA{cert: cert, signer: signer, clock: clock, rand: orDefault(rand)}, nil
}

// Certificate returns the CA certificate. Callers must not modify it.
func (ca *CA) Certificate() *smx509.Certificate { return ca.cert }

// IssueRequest describes an end-entity certificate to issue.
type IssueRequest struct {
	// PublicKey is the key to certify: an *ecdsa.PublicKey on the SM2 curve
	// or P-256, or an ed25519.PublicKey (as returned by keys.Signer.Public).
	PublicKey crypto.PublicKey
	// Subject names the seal or issuer. It must not be empty and must differ
	// from the CA's subject.
	Subject pkix.Name
	// Purpose selects the key usage bits.
	Purpose Purpose
	// NotBefore and NotAfter bound the validity, both inclusive. They must be
	// whole seconds, NotBefore must be before NotAfter, and the window must
	// lie within the CA certificate's own validity.
	NotBefore, NotAfter time.Time
}

// Issue signs an end-entity certificate for req. The certificate has a
// random positive 128-bit serial number, BasicConstraints CA:FALSE, the key
// usage of req.Purpose, a SubjectKeyId derived from the public key and an
// AuthorityKeyId equal to the CA's SubjectKeyId. Invalid requests give an
// error wrapping ErrInvalidRequest or ErrUnsupportedKey; a CA whose own
// certificate is not valid at the clock's current time gives ErrCAUnusable.
//
// Serial numbers are drawn from the CA's random source; with 128 random bits
// a collision is not a practical concern, but the store that records issued
// certificates should still enforce uniqueness per CA.
func (ca *CA) Issue(req IssueRequest) (*smx509.Certificate, error) {
	now := ca.clock()
	if !validAt(ca.cert, now) {
		return nil, fmt.Errorf("issue: %w: CA certificate valid %s to %s, now %s", ErrCAUnusable,
			ca.cert.NotBefore.Format(time.RFC3339), ca.cert.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339Nano))
	}
	usage := req.Purpose.KeyUsage()
	if usage == 0 {
		return nil, fmt.Errorf("issue: %w: unknown purpose %s", ErrInvalidRequest, req.Purpose)
	}
	if err := checkSubject(req.Subject); err != nil {
		return nil, fmt.Errorf("issue %s certificate: %w", req.Purpose, err)
	}
	name := req.Subject.CommonName
	subj, err := asn1.Marshal(req.Subject.ToRDNSequence())
	if err != nil {
		return nil, fmt.Errorf("issue %s certificate %q: %w: encode subject: %v", req.Purpose, name, ErrInvalidRequest, err)
	}
	if bytes.Equal(subj, ca.cert.RawSubject) {
		return nil, fmt.Errorf("issue %s certificate %q: %w: subject equals the CA's subject", req.Purpose, name, ErrInvalidRequest)
	}
	if err := checkValidity(req.NotBefore, req.NotAfter); err != nil {
		return nil, fmt.Errorf("issue %s certificate %q: %w", req.Purpose, name, err)
	}
	if req.NotBefore.Before(ca.cert.NotBefore) || req.NotAfter.After(ca.cert.NotAfter) {
		return nil, fmt.Errorf("issue %s certificate %q: %w: validity %s to %s is outside the CA's %s to %s",
			req.Purpose, name, ErrInvalidRequest,
			req.NotBefore.UTC().Format(time.RFC3339), req.NotAfter.UTC().Format(time.RFC3339),
			ca.cert.NotBefore.Format(time.RFC3339), ca.cert.NotAfter.Format(time.RFC3339))
	}
	ski, err := subjectKeyID(req.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("issue %s certificate %q: %w", req.Purpose, name, err)
	}
	serial, err := newSerial(ca.rand)
	if err != nil {
		return nil, fmt.Errorf("issue %s certificate %q: %w", req.Purpose, name, err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject,
		NotBefore:             req.NotBefore,
		NotAfter:              req.NotAfter,
		KeyUsage:              usage,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ca.cert.SubjectKeyId,
	}
	der, err := smx509.CreateCertificate(ca.rand, tmpl, ca.cert, req.PublicKey, ca.signer)
	if err != nil {
		return nil, fmt.Errorf("issue %s certificate %q: create: %w", req.Purpose, name, err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue %s certificate %q: parse created certificate: %w", req.Purpose, name, err)
	}
	return cert, nil
}

// checkSubject rejects an empty distinguished name.
func checkSubject(subject pkix.Name) error {
	if len(subject.ToRDNSequence()) == 0 {
		return fmt.Errorf("%w: empty subject", ErrInvalidRequest)
	}
	return nil
}

// checkValidity requires non-zero whole-second times with notBefore before
// notAfter.
func checkValidity(notBefore, notAfter time.Time) error {
	if err := wholeSecond("NotBefore", notBefore); err != nil {
		return err
	}
	if err := wholeSecond("NotAfter", notAfter); err != nil {
		return err
	}
	if !notBefore.Before(notAfter) {
		return fmt.Errorf("%w: NotBefore %s is not before NotAfter %s", ErrInvalidRequest,
			notBefore.UTC().Format(time.RFC3339), notAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// wholeSecond rejects a zero time or one with a fractional second, which
// X.509 cannot encode.
func wholeSecond(field string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%w: %s is zero", ErrInvalidRequest, field)
	}
	if t.Nanosecond() != 0 {
		return fmt.Errorf("%w: %s %s has a fractional second; X.509 times are whole seconds", ErrInvalidRequest,
			field, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// validAt reports whether NotBefore <= at <= NotAfter, the rule smx509 uses.
func validAt(c *smx509.Certificate, at time.Time) bool {
	return !at.Before(c.NotBefore) && !at.After(c.NotAfter)
}

// subjectKeyID checks that pub is a supported, valid public key and returns
// its key identifier per RFC 7093 section 2 method 1: the leftmost 160 bits
// of the SHA-256 hash of the subjectPublicKey BIT STRING value.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil || k.X == nil || k.Y == nil { //nolint:staticcheck // SA1019: gmsm has SM2 keys only as *ecdsa.PublicKey and reads X and Y itself; a nil coordinate is refused here, read only, before it panics there
			return nil, fmt.Errorf("%w: nil or incomplete ECDSA key", ErrUnsupportedKey)
		}
		if k.Curve != sm2.P256() && k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA curve %s (want SM2 or P-256)", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key is %d bytes, want %d", ErrUnsupportedKey, len(k), ed25519.PublicKeySize)
		}
	default:
		return nil, fmt.Errorf("%w: %T (want SM2, ECDSA P-256 or Ed25519)", ErrUnsupportedKey, pub)
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	// Parsing back checks that an EC point lies on its curve.
	if _, err := smx509.ParsePKIXPublicKey(der); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &spki); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: cannot re-read SubjectPublicKeyInfo", ErrUnsupportedKey)
	}
	h := sha256.Sum256(spki.PublicKey.Bytes)
	return h[:20], nil
}

// newSerial returns a random positive serial number of at most 128 bits.
func newSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, serialBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read random serial number: %w", err)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, errors.New("read random serial number: random source returned all zero bytes")
	}
	return n, nil
}

// orDefault returns r, or crypto/rand.Reader when r is nil.
func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
