package verify

import (
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
)

// The checks of Presentation, in this order; each runs only when the one
// before passed, but expiry and status, which are both decided.
const (
	CheckFormat = "format" // a ZZ1 payload: prefix, Base45, zlib, COSE_Sign1, claims (docs/qr-format.md)
	CheckKey    = "key"    // the kid names a presentation key of the trust, of the payload's algorithm, valid when the payload was issued
	CheckExpiry = "expiry" // iat - skew <= at < exp + skew
	// CheckSignature (the key's signature over the payload) and CheckStatus
	// (neither bit set) are those of License.
)

// DefaultClockSkew is how far apart the platform's clock and the
// verifier's may be when a presentation's validity window is checked: a
// second, so a payload of the default minute is refused a second after its
// minute. A verifier whose clock is not kept in time widens it with
// ClockSkew.
const DefaultClockSkew = time.Second

// ClockSkew sets the skew Presentation allows on both ends of a payload's
// validity window (DefaultClockSkew when not given); d < 0 counts as 0.
func ClockSkew(d time.Duration) LicenseOption {
	return func(o *licenseOptions) { o.skew = max(d, 0) }
}

// PresentationTrust is what verifying a presentation relies on: the
// platform's presentation keys and the status lists. A Bundle is one.
type PresentationTrust interface {
	StatusSource
	// PresentationKey returns the presentation key of kid and its public
	// key; found is false when the trust lists no such key.
	PresentationKey(ctx context.Context, kid []byte) (key PresentationKey, pub crypto.PublicKey, found bool, err error)
}

// PresentationKey implements PresentationTrust from the bundle's
// presentation keys.
func (b *Bundle) PresentationKey(_ context.Context, kid []byte) (PresentationKey, crypto.PublicKey, bool, error) {
	return b.presentationKey(hex.EncodeToString(kid))
}

// Presented is what a valid presentation shows: the license and the face
// fields its holder disclosed, as the platform signed them.
type Presented struct {
	LicenseID   string         `json:"license_id"`
	TypeCode    string         `json:"type_code"`
	TypeVersion uint64         `json:"type_version"`
	IssuerCode  string         `json:"issuer_code"`
	Holder      string         `json:"holder"` // masked
	Fields      map[string]any `json:"fields"`
	IssuedAt    time.Time      `json:"issued_at"`
	Expires     time.Time      `json:"expires"`
	// Issuer is the platform that signed (CWT iss), KID its key and Nonce
	// the payload's nonce, both in hex: a verifier that refuses replays
	// remembers the nonce until Expires.
	Issuer string `json:"issuer"`
	KID    string `json:"kid"`
	Nonce  string `json:"nonce"`
}

// PresentationVerdict is the verdict on a presentation: the checks, and
// what the payload claims once its signature verified.
type PresentationVerdict struct {
	Verdict
	Presented *Presented `json:"presented,omitempty"`
}

// Presentation verifies a holder's QR payload (docs/qr-format.md) offline
// or online at the instant at: its format, that its kid names a
// presentation key of trust, the signature under that key, the validity
// window (with ClockSkew) and the license's status in the lists trust
// carries, no older than MaxStatusAge. It never panics and never fails:
// what cannot be checked is a failed check. The verdict carries the
// claims (PresentationVerdict.Presented) once the signature verified, so a verifier
// can show what an expired or revoked payload claimed; only a valid
// verdict vouches for them. Replays are the caller's to refuse
// (Presented.Nonce).
func Presentation(ctx context.Context, payload string, trust PresentationTrust, at time.Time, opts ...LicenseOption) (v PresentationVerdict) {
	o := options(opts)
	defer v.settle()
	// The five checks in one allocation rather than a growing series.
	v.Checks = make([]Check, 0, 5)
	p, err := qr.Decode(payload)
	if err != nil {
		v.Checks = append(v.Checks, Check{Name: CheckFormat, Reason: err.Error()})
		return v
	}
	v.Checks = append(v.Checks, Check{Name: CheckFormat, OK: true})
	key, pub, check := presentationKey(ctx, trust, p)
	v.Checks = append(v.Checks, check)
	if !check.OK {
		return v
	}
	c, err := qr.Verify(p, pub, at, o.skew)
	switch {
	case errors.Is(err, qr.ErrExpired):
		v.Checks = append(v.Checks, Check{Name: CheckSignature, OK: true}, Check{Name: CheckExpiry, Reason: err.Error()})
		c = p.Claims // the signature verified: the claims are the platform's
	case err != nil:
		v.Checks = append(v.Checks, Check{Name: CheckSignature, Reason: err.Error()})
		return v
	default:
		v.Checks = append(v.Checks, Check{Name: CheckSignature, OK: true}, Check{Name: CheckExpiry, OK: true})
	}
	v.LicenseID = c.LicenseID
	v.Presented = &Presented{LicenseID: c.LicenseID, TypeCode: c.TypeCode, TypeVersion: c.TypeVersion, IssuerCode: c.IssuerCode,
		Holder: c.Holder, Fields: c.Fields, IssuedAt: c.IssuedAt, Expires: c.Expires, Issuer: c.Issuer, KID: key.KID,
		Nonce: hex.EncodeToString(c.Nonce[:])}
	if c.StatusIndex > math.MaxInt64 {
		v.Checks = append(v.Checks, Check{Name: CheckStatus, Unknown: true, Reason: fmt.Sprintf("status unknown: index %d is outside every list", c.StatusIndex)})
		return v
	}
	i := int64(c.StatusIndex)
	v.Checks = append(v.Checks, status(ctx, trust, []license.StatusEntry{
		{Purpose: license.PurposeRevocation, ListURL: c.RevocationList, Index: i},
		{Purpose: license.PurposeSuspension, ListURL: c.SuspensionList, Index: i},
	}, at, o.maxStatusAge))
	return v
}

// presentationKey finds the key p names in trust and checks that it may
// have signed p: of p's algorithm, made before p was issued and not
// retired before.
func presentationKey(ctx context.Context, trust PresentationTrust, p qr.Parsed) (PresentationKey, crypto.PublicKey, Check) {
	c := Check{Name: CheckKey}
	k, pub, found, err := trust.PresentationKey(ctx, p.KID)
	iat := p.Claims.IssuedAt
	switch {
	case err != nil:
		c.Reason = fmt.Sprintf("presentation key %x: %v", p.KID, err)
	case !found:
		c.Reason = fmt.Sprintf("%v: the trust lists no presentation key %x; get a fresh trust bundle", qr.ErrUnknownKey, p.KID)
	case k.Alg != string(p.Algorithm):
		c.Reason = fmt.Sprintf("%v: presentation key %s is %s, the payload is signed with %s", qr.ErrAlgorithm, k.KID, k.Alg, p.Algorithm)
	case iat.Before(k.ValidFrom.Truncate(time.Second)):
		c.Reason = fmt.Sprintf("the payload was issued at %s, before presentation key %s was made (%s)", iat.Format(time.RFC3339), k.KID, k.ValidFrom.Format(time.RFC3339))
	case k.ValidUntil != nil && iat.After(*k.ValidUntil):
		c.Reason = fmt.Sprintf("the payload was issued at %s, after presentation key %s was retired (%s)", iat.Format(time.RFC3339), k.KID, k.ValidUntil.Format(time.RFC3339))
	default:
		c.OK = true
	}
	return k, pub, c
}
