package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/codec/license"
)

// The checks License adds to those of Seal. Its structure check covers
// the document as well as the SES_Signature, and its signature check
// covers both the signer's signature and the signed digest: a license
// changed after signing fails "signature".
const (
	CheckIssuerSeal  = "issuer-seal"  // the signing seal is the license-issuing seal (证照专用章) of the license's issuer
	CheckValidity    = "validity"     // valid_from <= at < valid_until
	CheckStatus      = "status"       // neither the revocation nor the suspension bit is set in the status lists
	CheckTypeVersion = "type-version" // the license type version is one the platform approved
	// CheckBatchInclusion is listed, after signature, only for a
	// batch-signed document: the license is the leaf its proof leads
	// from to the root of the batch header the seal signed.
	CheckBatchInclusion = "batch-inclusion"
)

// licenseSealKind is the seal kind code of the license-issuing seal
// (docs/seals.md, "Seal codes").
const licenseSealKind = "09"

// LicenseTrust is what license verification relies on: the seal Trust,
// the status lists and the approved license type versions. The platform's
// store backs it online; a Bundle backs it offline.
type LicenseTrust interface {
	Trust
	StatusSource
	// ApprovedVersions returns the approved template versions of a
	// license type. listed is false when the trust carries no list of
	// approved versions at all; the type-version check is then only
	// informational.
	ApprovedVersions(ctx context.Context, typeCode string) (versions []int64, listed bool, err error)
}

// TypeVersions are the approved versions of one license type in a trust
// bundle, ascending.
type TypeVersions struct {
	Type     string  `json:"type"`
	Approved []int64 `json:"approved"`
}

// SetTypeVersions sets the approved versions of a license type, keeping
// TypeVersions in order.
func (b *Bundle) SetTypeVersions(typeCode string, approved []int64) {
	i, found := slices.BinarySearchFunc(b.TypeVersions, typeCode, func(e TypeVersions, c string) int { return strings.Compare(e.Type, c) })
	if found {
		b.TypeVersions[i].Approved = approved
		return
	}
	b.TypeVersions = slices.Insert(b.TypeVersions, i, TypeVersions{Type: typeCode, Approved: approved})
}

// ApprovedVersions implements LicenseTrust: a bundle without
// type_versions lists none.
func (b *Bundle) ApprovedVersions(_ context.Context, typeCode string) ([]int64, bool, error) {
	if b.TypeVersions == nil {
		return nil, false, nil
	}
	i, found := slices.BinarySearchFunc(b.TypeVersions, typeCode, func(e TypeVersions, c string) int { return strings.Compare(e.Type, c) })
	if !found {
		return nil, true, nil
	}
	return b.TypeVersions[i].Approved, true, nil
}

// DefaultMaxStatusAge is how old the status lists a License verdict relies
// on may be, unless MaxStatusAge says otherwise: the validity period of
// the platform's signed status lists (docs/status-lists.md), after which
// W3C Bitstring Status List v1.0 has a verifier stop using a list. A
// trust bundle older than that cannot say a license is in force.
const DefaultMaxStatusAge = 24 * time.Hour

// A LicenseOption changes how License and Presentation judge.
type LicenseOption func(*licenseOptions)

type licenseOptions struct {
	maxStatusAge time.Duration
	skew         time.Duration
}

// MaxStatusAge sets how old, at the verdict's instant, the status lists
// may be (DefaultMaxStatusAge when not given). A license whose lists are
// older, and set none of its bits, has an unknown status — the verdict is
// not valid, and its reason says how old the lists were: get a fresh
// trust bundle. A set bit fails the check whatever its age. d <= 0 sets
// no limit, for a relying party that decides on the age itself (Check.AsOf).
func MaxStatusAge(d time.Duration) LicenseOption {
	return func(o *licenseOptions) { o.maxStatusAge = d }
}

// options applies opts to the defaults.
func options(opts []LicenseOption) licenseOptions {
	o := licenseOptions{maxStatusAge: DefaultMaxStatusAge, skew: DefaultClockSkew}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// License verifies a signed license document (docs/license-format.md)
// offline or online, and lists every check with its reason. at is the
// instant the license is judged at: its validity window, the seal-now
// note and the age of the status lists; the seal checks are decided at
// the signing time, as for any sealed document. License never fails: what
// cannot be checked is a failed check, and a status that cannot be known
// — no list, or lists older than MaxStatusAge — is an unknown one, which
// makes the verdict not valid.
func License(ctx context.Context, doc []byte, trust LicenseTrust, at time.Time, opts ...LicenseOption) Verdict {
	o := options(opts)
	d, err := license.Decode(doc)
	if err != nil {
		return unreadable(ctx, trust, doc, err, at)
	}
	l := d.License
	in, err := d.SignedData()
	if err != nil { // Decode validated the license and batch; kept for safety
		return Verdict{LicenseID: l.ID, Checks: []Check{{Name: CheckStructure, Reason: err.Error()}}}
	}
	v := Seal(ctx, trust, d.Signature, in, nil, at)
	v.LicenseID = l.ID
	v.Checks = foldSignature(v.Checks, d.Batch != nil)
	if !v.Checks[0].OK { // the SES_Signature does not parse: nothing else can be said
		v.settle()
		return v
	}
	if d.Batch != nil {
		in, err := d.SigningInput()
		if err != nil { // as above
			return Verdict{LicenseID: l.ID, Checks: []Check{{Name: CheckStructure, Reason: err.Error()}}}
		}
		v.Checks = withInclusion(v.Checks, batchInclusion(d.Batch, in))
	}
	v.Checks = append(v.Checks,
		issuerSeal(v.SealCode, l.Issuer.CreditCode),
		validity(l, at),
		status(ctx, trust, l.Status, at, o.maxStatusAge),
		typeVersion(ctx, trust, l.Type))
	v.settle()
	return v
}

// unreadable is the verdict on a document Decode refused: structure
// fails, and when the document still has a license member and a
// signature, the seal checks say whether the seal signed that member — a
// license changed after signing fails "signature" even when the change
// also breaks a rule of the format (a check character, a time).
func unreadable(ctx context.Context, trust Trust, doc []byte, decodeErr error, at time.Time) Verdict {
	structure := Check{Name: CheckStructure, Reason: fmt.Sprintf("not a signed license document: %v", decodeErr)}
	f, err := license.Split(doc)
	if err != nil {
		return Verdict{Checks: []Check{structure}}
	}
	signed, err := f.SignedData()
	if err != nil { // Split read the batch strictly; kept for safety
		return Verdict{Checks: []Check{structure}}
	}
	v := Seal(ctx, trust, f.Signature, signed, nil, at)
	v.Checks = foldSignature(v.Checks, f.Batch != nil)
	if !v.Checks[0].OK {
		structure.Reason += "; " + v.Checks[0].Reason
	}
	v.Checks[0] = structure
	if f.Batch != nil && len(v.Checks) > 1 {
		v.Checks = withInclusion(v.Checks, batchInclusion(f.Batch, f.SigningInput))
	}
	v.settle()
	return v
}

// foldSignature makes one signature check of the signer's signature over
// TBS_Sign and of the signed digest being the license's (or, batch-signed,
// its batch header's): for a license, either failing means the same —
// this is not what the issuer signed.
func foldSignature(checks []Check, batch bool) []Check {
	i := slices.IndexFunc(checks, func(c Check) bool { return c.Name == CheckSignature })
	j := slices.IndexFunc(checks, func(c Check) bool { return c.Name == CheckDocumentHash })
	if i < 0 || j < 0 {
		return checks
	}
	sig, hash := &checks[i], checks[j]
	if sig.OK && !hash.OK {
		sig.OK = false
		if batch {
			sig.Reason = "the signed digest is not the SM3 of this batch header: the header was changed, or the signature is another batch's (" + hash.Reason + ")"
		} else {
			sig.Reason = "the signed digest is not the SM3 of this license: the license was changed after it was signed (" + hash.Reason + ")"
		}
	}
	return slices.Delete(checks, j, j+1)
}

// withInclusion places the batch-inclusion check right after signature:
// together they say whether the seal signed this license.
func withInclusion(checks []Check, c Check) []Check {
	i := slices.IndexFunc(checks, func(c Check) bool { return c.Name == CheckSignature })
	return slices.Insert(checks, i+1, c)
}

// batchInclusion checks that the license whose signing input is in is the
// leaf its proof leads from to the root the signed header names. A
// license changed after signing fails here alone: the header and the
// signature, shared by the whole batch, still verify.
func batchInclusion(b *license.Batch, in []byte) Check {
	c := Check{Name: CheckBatchInclusion}
	digest := sm3.Sum(in)
	if err := b.Verify(digest[:]); err != nil {
		c.Reason = fmt.Sprintf("license is not leaf %d of batch %s (%d licenses): the license was changed after it was signed, or its index or proof are not its own: %v",
			b.Index, b.Header.ID, b.Header.Size, err)
		return c
	}
	c.OK = true
	return c
}

// issuerSeal checks that the seal is a license-issuing seal of the
// license's issuer, by its code: positions 7-24 are the organization's
// credit code and 25-26 the seal kind. Any other seal of the platform —
// a contract seal, or another organization's license seal — signs no
// license.
func issuerSeal(code, issuer string) Check {
	c := Check{Name: CheckIssuerSeal}
	switch {
	case len(code) != 30:
		c.Reason = fmt.Sprintf("seal code %q is not a seal code of this platform", code)
	case code[6:24] != issuer:
		c.Reason = fmt.Sprintf("seal %s belongs to %s, not to the issuer %s", code, code[6:24], issuer)
	case code[24:26] != licenseSealKind:
		c.Reason = fmt.Sprintf("seal %s is of kind %s, not a license-issuing seal (%s)", code, code[24:26], licenseSealKind)
	default:
		c.OK = true
	}
	return c
}

// validity checks valid_from <= at < valid_until.
func validity(l license.License, at time.Time) Check {
	c := Check{Name: CheckValidity}
	switch {
	case at.Before(l.ValidFrom):
		c.Reason = fmt.Sprintf("not valid before %s", l.ValidFrom.Format(time.RFC3339))
	case l.ValidUntil != nil && !at.Before(*l.ValidUntil):
		c.Reason = fmt.Sprintf("expired at %s", l.ValidUntil.Format(time.RFC3339))
	default:
		c.OK = true
	}
	return c
}

// status looks a license's bits up in the status lists entries name. A set bit
// fails the check; a list the source does not have, or cannot read, makes
// it unknown, and so do lists older than maxAge (when positive) at the
// instant of the verdict. AsOf is the oldest list consulted, and the
// reason says how old it was.
func status(ctx context.Context, src StatusSource, entries []license.StatusEntry, at time.Time, maxAge time.Duration) Check {
	c := Check{Name: CheckStatus}
	var unknown []string
	for _, e := range entries {
		set, asOf, err := src.Status(ctx, e.ListURL, string(e.Purpose), e.Index)
		if err != nil {
			unknown = append(unknown, err.Error())
			continue
		}
		if c.AsOf.IsZero() || asOf.Before(c.AsOf) {
			c.AsOf = asOf
		}
		if set {
			state := "revoked"
			if e.Purpose == license.PurposeSuspension {
				state = "suspended"
			}
			c.Reason = fmt.Sprintf("%s according to the %s list; %s", state, e.Purpose, statusAge(asOf, at))
			return c
		}
	}
	switch {
	case len(unknown) > 0:
		c.Unknown = true
		c.Reason = "status unknown: " + strings.Join(unknown, "; ")
	case maxAge > 0 && at.Sub(c.AsOf) > maxAge:
		c.Unknown = true
		c.Reason = fmt.Sprintf("status unknown: %s, older than the maximum age of %s; get a fresh trust bundle", statusAge(c.AsOf, at), maxAge)
	default:
		c.OK = true
		c.Reason = "neither revoked nor suspended; " + statusAge(c.AsOf, at)
	}
	return c
}

// statusAge says when status lists were read and how old that was at the
// instant of the verdict, in whole seconds: "status as of
// 2026-11-23T20:00:00Z (5400 s old)".
func statusAge(asOf, at time.Time) string {
	age := int64(at.Sub(asOf) / time.Second)
	when := asOf.UTC().Format(time.RFC3339)
	if age < 0 {
		return fmt.Sprintf("status as of %s (%d s after the instant judged)", when, -age)
	}
	return fmt.Sprintf("status as of %s (%d s old)", when, age)
}

// typeVersion checks that the license was issued under an approved
// version of its type, when the trust lists them.
func typeVersion(ctx context.Context, trust LicenseTrust, t license.Type) Check {
	c := Check{Name: CheckTypeVersion}
	versions, listed, err := trust.ApprovedVersions(ctx, t.Code)
	switch {
	case err != nil:
		c.Unknown, c.Reason = true, fmt.Sprintf("approved versions of %s: %v", t.Code, err)
	case !listed:
		c.Unknown, c.Informational = true, true
		c.Reason = "the trust lists no approved license type versions"
	case !slices.Contains(versions, t.Version):
		c.Reason = fmt.Sprintf("version %d of license type %s is not an approved version", t.Version, t.Code)
	default:
		c.OK = true
	}
	return c
}

// A Bundle answers offline what the platform answers online.
var _ LicenseTrust = (*Bundle)(nil)
