package ca

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Reason says why a certificate chain was rejected. Its string value is
// stable and may be stored or returned to API clients.
type Reason string

const (
	// ReasonExpired means a certificate of the chain (leaf, intermediate or
	// the root it chains to) has NotAfter before the verification time.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid means a certificate of the chain has NotBefore after
	// the verification time.
	ReasonNotYetValid Reason = "not-yet-valid"
	// ReasonKeyUsage means the leaf may not be used for the requested
	// purpose: it lacks a required key usage bit or is a CA certificate.
	ReasonKeyUsage Reason = "key-usage"
	// ReasonUntrusted means no valid path leads from the leaf to one of the
	// configured roots: unknown issuer, bad signature, an intermediate that
	// is not a CA, a path length or name constraint violation, an unhandled
	// critical extension.
	ReasonUntrusted Reason = "untrusted"
	// ReasonMalformed means the input could not be parsed or is not a usable
	// chain (empty, too long, unparsed certificates).
	ReasonMalformed Reason = "malformed"
	// ReasonRevoked means a certificate of the chain is listed, with a
	// revocation time at or before the verification time, in a CRL signed by
	// its issuer.
	ReasonRevoked Reason = "revoked"
)

// ChainError reports why Verify, VerifyWithOptions or ImportChain rejected a
// chain. Callers switch on Reason; Cert and Err add detail for logs.
type ChainError struct {
	// Reason is the category of the failure.
	Reason Reason
	// Cert is the offending certificate when one can be named, else nil.
	Cert *smx509.Certificate
	// Detail is a human-readable explanation.
	Detail string
	// Err is the underlying error, if any.
	Err error
}

// Error returns a message naming the reason, the certificate and the detail.
func (e *ChainError) Error() string {
	msg := "ca: certificate chain rejected (" + string(e.Reason) + ")"
	if e.Cert != nil {
		msg += fmt.Sprintf(": certificate %q serial %x", e.Cert.Subject.CommonName, e.Cert.SerialNumber)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *ChainError) Unwrap() error { return e.Err }

// MaxChainLength is the longest chain (leaf plus intermediates, root not
// counted) Verify accepts; longer input is rejected as malformed.
const MaxChainLength = 8

// VerifyOptions configures VerifyWithOptions.
type VerifyOptions struct {
	// Roots are the trusted root certificates. With none, every chain is
	// untrusted.
	Roots []*smx509.Certificate
	// At is the instant the chain must be valid at. It must not be zero:
	// there is no implicit "now".
	At time.Time
	// Usage is the purpose the leaf must be certified for.
	Usage Purpose
	// CRLs are consulted for every certificate of the verified path except
	// the root. A CRL applies to a certificate when it names the
	// certificate's issuer and its signature verifies with the issuer's key;
	// other CRLs are ignored. CRL freshness (NextUpdate) is not checked: the
	// caller chooses which CRLs are current.
	CRLs []*CRL
}

// Verify validates chain (leaf first, then any intermediates, in any order)
// to one of roots at instant at, and checks that the leaf may be used for
// usage. It returns nil or a *ChainError; see VerifyWithOptions.
func Verify(chain []*smx509.Certificate, roots []*smx509.Certificate, at time.Time, usage Purpose) error {
	return VerifyWithOptions(chain, VerifyOptions{Roots: roots, At: at, Usage: usage})
}

// VerifyWithOptions validates chain (leaf first, then any intermediates) to
// one of opts.Roots at opts.At, checks the leaf's key usage against
// opts.Usage and consults opts.CRLs. It returns nil when the chain is valid,
// and otherwise a *ChainError whose Reason is, in order of checking:
//
//   - ReasonMalformed: empty or overlong chain, nil or unparsed certificate;
//   - ReasonNotYetValid or ReasonExpired: a certificate in chain, or the root
//     it is signed by, is not valid at opts.At (NotBefore <= At <= NotAfter,
//     both inclusive);
//   - ReasonUntrusted: no path to a root (see smx509.Certificate.Verify;
//     extended key usages are not restricted);
//   - ReasonKeyUsage: the leaf is a CA certificate or lacks a key usage bit
//     of opts.Usage (a Seal certificate also satisfies Issuer);
//   - ReasonRevoked: a certificate of the path is revoked at opts.At.
//
// Every certificate passed in chain must be valid at opts.At, even one not
// needed for the path. A zero opts.At or an unknown opts.Usage is a
// programming error and gives an error wrapping ErrInvalidRequest instead.
func VerifyWithOptions(chain []*smx509.Certificate, opts VerifyOptions) error {
	if opts.At.IsZero() {
		return fmt.Errorf("verify chain: %w: zero verification time", ErrInvalidRequest)
	}
	want := opts.Usage.KeyUsage()
	if want == 0 {
		return fmt.Errorf("verify chain: %w: unknown purpose %s", ErrInvalidRequest, opts.Usage)
	}
	if len(chain) == 0 {
		return &ChainError{Reason: ReasonMalformed, Detail: "empty chain"}
	}
	if len(chain) > MaxChainLength {
		return &ChainError{Reason: ReasonMalformed, Detail: fmt.Sprintf("%d certificates, at most %d allowed", len(chain), MaxChainLength)}
	}
	for i, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return &ChainError{Reason: ReasonMalformed, Detail: fmt.Sprintf("certificate %d is nil or was not parsed", i)}
		}
	}
	for _, c := range chain {
		if err := timeError(c, opts.At); err != nil {
			return err
		}
	}

	rootPool := smx509.NewCertPool()
	for _, r := range opts.Roots {
		if r != nil && len(r.Raw) > 0 {
			rootPool.AddCert(r)
		}
	}
	inter := smx509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	paths, err := leaf.Verify(smx509.VerifyOptions{
		Roots:         rootPool,
		Intermediates: inter,
		CurrentTime:   opts.At,
		KeyUsages:     []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
	})
	if err != nil {
		return pathError(chain, opts, err)
	}

	// Report the first path's problem if no path passes the remaining checks.
	var first error
	for _, path := range paths {
		err := checkPath(path, want, opts)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// checkPath checks the leaf's key usage and the revocation status of a
// path built by smx509 (leaf first, root last).
func checkPath(path []*smx509.Certificate, want smx509.KeyUsage, opts VerifyOptions) error {
	leaf := path[0]
	if leaf.IsCA {
		return &ChainError{Reason: ReasonKeyUsage, Cert: leaf,
			Detail: fmt.Sprintf("a CA certificate cannot be used as a %s certificate", opts.Usage)}
	}
	if leaf.KeyUsage&want != want {
		return &ChainError{Reason: ReasonKeyUsage, Cert: leaf,
			Detail: fmt.Sprintf("key usage %s lacks %s required for %s", usageString(leaf.KeyUsage), usageString(want&^leaf.KeyUsage), opts.Usage)}
	}
	for i := 0; i+1 < len(path); i++ {
		c, issuer := path[i], path[i+1]
		for _, crl := range opts.CRLs {
			if crl == nil || !bytes.Equal(crl.RawIssuer, c.RawIssuer) || crl.CheckSignatureFrom(issuer) != nil {
				continue
			}
			if revoked, since := crl.IsRevoked(c.SerialNumber); revoked && !opts.At.Before(since) {
				return &ChainError{Reason: ReasonRevoked, Cert: c,
					Detail: fmt.Sprintf("revoked since %s (CRL %v of %s)", since.UTC().Format(time.RFC3339), crl.Number, crl.ThisUpdate.UTC().Format(time.RFC3339))}
			}
		}
	}
	return nil
}

// timeError returns a not-yet-valid or expired ChainError when c is not
// valid at at, else nil.
func timeError(c *smx509.Certificate, at time.Time) error {
	switch {
	case at.Before(c.NotBefore):
		return &ChainError{Reason: ReasonNotYetValid, Cert: c,
			Detail: fmt.Sprintf("valid from %s, checked at %s", c.NotBefore.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339Nano))}
	case at.After(c.NotAfter):
		return &ChainError{Reason: ReasonExpired, Cert: c,
			Detail: fmt.Sprintf("valid until %s, checked at %s", c.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339Nano))}
	}
	return nil
}

// pathError turns a smx509 path-building error into a ChainError. smx509
// reports a root that is out of its validity only as an unknown authority,
// so a root that names and signs the last certificate of chain but is not
// valid at opts.At is reported as expired or not yet valid.
func pathError(chain []*smx509.Certificate, opts VerifyOptions, err error) error {
	var invalid smx509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == smx509.Expired && invalid.Cert != nil {
		if terr := timeError(invalid.Cert, opts.At); terr != nil {
			terr.(*ChainError).Err = err
			return terr
		}
	}
	var unknown smx509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		for _, c := range chain {
			for _, r := range opts.Roots {
				if r == nil || len(r.Raw) == 0 || !bytes.Equal(r.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(r) != nil {
					continue
				}
				if terr := timeError(r, opts.At); terr != nil {
					terr.(*ChainError).Err = err
					return terr
				}
			}
		}
	}
	return &ChainError{Reason: ReasonUntrusted, Cert: chain[0], Detail: "no valid path to a configured root", Err: err}
}

// usageNames is the constant table of key usage bit names (RFC 5280).
var usageNames = [...]struct {
	bit  smx509.KeyUsage
	name string
}{
	{smx509.KeyUsageDigitalSignature, "digitalSignature"},
	{smx509.KeyUsageContentCommitment, "contentCommitment"},
	{smx509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{smx509.KeyUsageDataEncipherment, "dataEncipherment"},
	{smx509.KeyUsageKeyAgreement, "keyAgreement"},
	{smx509.KeyUsageCertSign, "keyCertSign"},
	{smx509.KeyUsageCRLSign, "cRLSign"},
	{smx509.KeyUsageEncipherOnly, "encipherOnly"},
	{smx509.KeyUsageDecipherOnly, "decipherOnly"},
}

// usageString names the bits of u, "none" when empty.
func usageString(u smx509.KeyUsage) string {
	var b []byte
	for _, n := range usageNames {
		if u&n.bit != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, n.name...)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// ImportChain parses a PEM chain from an external CA (leaf first, then
// intermediates), validates it with Verify against roots at at for usage,
// and returns the parsed certificates. A copy of the root may be included;
// it is treated like an intermediate, so trust still comes only from roots. Parse failures give a *ChainError with
// ReasonMalformed wrapping ErrMalformed; validation failures give the
// *ChainError of Verify.
func ImportChain(pemBytes []byte, roots []*smx509.Certificate, at time.Time, usage Purpose) ([]*smx509.Certificate, error) {
	certs, err := ParsePEM(pemBytes)
	if err != nil {
		return nil, &ChainError{Reason: ReasonMalformed, Detail: "parse PEM chain", Err: err}
	}
	if err := Verify(certs, roots, at, usage); err != nil {
		return nil, fmt.Errorf("import chain: %w", err)
	}
	return certs, nil
}
