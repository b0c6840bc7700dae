package ca

import (
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// CRL reason codes (RFC 5280 section 5.3.1) accepted in Revoked.Reason.
// Code 7 is unassigned and RemoveFromCRL (8) belongs to delta CRLs, which
// this CA does not issue; both are rejected by (*CA).CRL.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonPrivilegeWithdrawn   = 9
	ReasonAACompromise         = 10
)

// Revoked is one entry of a CRL: the certificate with serial number Serial is
// revoked from instant At on, for the RFC 5280 reason code Reason
// (ReasonUnspecified is written without a reason code extension).
type Revoked struct {
	Serial *big.Int
	At     time.Time
	Reason int
}

// validReason reports whether r is a reason code (*CA).CRL accepts.
func validReason(r int) bool {
	return (r >= ReasonUnspecified && r <= ReasonCertificateHold) || r == ReasonPrivilegeWithdrawn || r == ReasonAACompromise
}

// CRL signs a certificate revocation list listing revoked, with CRL number
// number (non-negative, increasing per CA) and the given thisUpdate and
// nextUpdate (whole seconds, thisUpdate before nextUpdate). It returns the
// DER encoding. Entries must have a positive serial number, a whole-second
// revocation time and an accepted reason code, and serials must be distinct;
// otherwise the error wraps ErrInvalidRequest. The CA certificate must carry
// KeyUsageCRLSign (NewRoot sets it).
func (ca *CA) CRL(revoked []Revoked, number *big.Int, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	if number == nil || number.Sign() < 0 {
		return nil, fmt.Errorf("create CRL: %w: CRL number must be non-negative, got %v", ErrInvalidRequest, number)
	}
	if err := wholeSecond("ThisUpdate", thisUpdate); err != nil {
		return nil, fmt.Errorf("create CRL %s: %w", number, err)
	}
	if err := wholeSecond("NextUpdate", nextUpdate); err != nil {
		return nil, fmt.Errorf("create CRL %s: %w", number, err)
	}
	if !thisUpdate.Before(nextUpdate) {
		return nil, fmt.Errorf("create CRL %s: %w: ThisUpdate %s is not before NextUpdate %s", number, ErrInvalidRequest,
			thisUpdate.UTC().Format(time.RFC3339), nextUpdate.UTC().Format(time.RFC3339))
	}
	entries := make([]smx509.RevocationListEntry, len(revoked))
	seen := make(map[string]bool, len(revoked))
	for i, r := range revoked {
		if r.Serial == nil || r.Serial.Sign() <= 0 {
			return nil, fmt.Errorf("create CRL %s: entry %d: %w: serial must be positive, got %v", number, i, ErrInvalidRequest, r.Serial)
		}
		key := r.Serial.Text(16)
		if seen[key] {
			return nil, fmt.Errorf("create CRL %s: entry %d: %w: serial %s listed twice", number, i, ErrInvalidRequest, key)
		}
		seen[key] = true
		if err := wholeSecond("revocation time", r.At); err != nil {
			return nil, fmt.Errorf("create CRL %s: entry %d (serial %s): %w", number, i, key, err)
		}
		if !validReason(r.Reason) {
			return nil, fmt.Errorf("create CRL %s: entry %d (serial %s): %w: reason code %d", number, i, key, ErrInvalidRequest, r.Reason)
		}
		entries[i] = smx509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At, ReasonCode: r.Reason}
	}
	tmpl := &smx509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    number,
		ThisUpdate:                thisUpdate,
		NextUpdate:                nextUpdate,
	}
	der, err := smx509.CreateRevocationList(ca.rand, tmpl, ca.cert, ca.signer)
	if err != nil {
		return nil, fmt.Errorf("create CRL %s: %w", number, err)
	}
	return der, nil
}

// CRL is a parsed certificate revocation list. Parsing does not check the
// signature; CheckSignatureFrom does, and VerifyWithOptions only applies CRLs
// whose signature verifies with the issuer in the chain.
type CRL struct {
	// Raw is the complete DER encoding.
	Raw []byte
	// Issuer and RawIssuer name the CA that issued the CRL.
	Issuer    pkix.Name
	RawIssuer []byte
	// AuthorityKeyId identifies the CA key, when present.
	AuthorityKeyId []byte
	// Number is the cRLNumber extension, or nil when absent.
	Number *big.Int
	// ThisUpdate is when the CRL was issued; NextUpdate when the next one is
	// due (zero when absent).
	ThisUpdate, NextUpdate time.Time

	rl      *smx509.RevocationList
	entries []Revoked
	index   map[string]int
}

// ParseCRL parses a DER-encoded X.509 v2 CRL. Malformed input, including
// trailing bytes, gives an error wrapping ErrMalformed; it never panics. If a
// serial number is listed more than once, the earliest revocation time wins.
func ParseCRL(der []byte) (*CRL, error) {
	rl, err := smx509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("parse CRL: %w: %v", ErrMalformed, err)
	}
	if len(rl.Raw) != len(der) {
		return nil, fmt.Errorf("parse CRL: %w: %d trailing bytes", ErrMalformed, len(der)-len(rl.Raw))
	}
	c := &CRL{
		Raw:            rl.Raw,
		Issuer:         rl.Issuer,
		RawIssuer:      rl.RawIssuer,
		AuthorityKeyId: rl.AuthorityKeyId,
		Number:         rl.Number,
		ThisUpdate:     rl.ThisUpdate,
		NextUpdate:     rl.NextUpdate,
		rl:             rl,
		index:          make(map[string]int, len(rl.RevokedCertificateEntries)),
	}
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber == nil {
			return nil, fmt.Errorf("parse CRL: %w: entry without serial number", ErrMalformed)
		}
		key := e.SerialNumber.Text(16)
		if i, dup := c.index[key]; dup {
			if e.RevocationTime.Before(c.entries[i].At) {
				c.entries[i].At = e.RevocationTime
				c.entries[i].Reason = e.ReasonCode
			}
			continue
		}
		c.index[key] = len(c.entries)
		c.entries = append(c.entries, Revoked{Serial: e.SerialNumber, At: e.RevocationTime, Reason: e.ReasonCode})
	}
	return c, nil
}

// IsRevoked reports whether the certificate with serial number serial is
// listed, and if so from when it is revoked.
func (c *CRL) IsRevoked(serial *big.Int) (bool, time.Time) {
	if serial == nil {
		return false, time.Time{}
	}
	i, ok := c.index[serial.Text(16)]
	if !ok {
		return false, time.Time{}
	}
	return true, c.entries[i].At
}

// Entries returns a copy of the revocation entries, in CRL order.
func (c *CRL) Entries() []Revoked {
	out := make([]Revoked, len(c.entries))
	copy(out, c.entries)
	return out
}

// CheckSignatureFrom verifies that issuer signed the CRL: issuer must be a CA
// certificate allowed to sign CRLs and its key must verify the signature.
func (c *CRL) CheckSignatureFrom(issuer *smx509.Certificate) error {
	if issuer == nil {
		return fmt.Errorf("check CRL signature: %w: nil issuer", ErrInvalidRequest)
	}
	if err := c.rl.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("check CRL signature from %q: %w", issuer.Subject.CommonName, err)
	}
	return nil
}
