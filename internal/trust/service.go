package trust

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/verify"
)

// Seals is what the trust needs of the seal service: its online trust,
// and the seal facts of a trust bundle and the root's signature on one.
type Seals interface {
	Trust() verify.Caching
	TrustFacts(ctx context.Context) (verify.Bundle, error)
	SignTrustBundle(ctx context.Context, b *verify.Bundle) error
}

// Catalog is what the trust reads of the license catalog: the types with
// an approved version, and their approved versions.
type Catalog interface {
	ListTypes(ctx context.Context, f catalog.TypeFilter, cursor string) (page.Page[catalog.Entry], error)
	ListVersions(ctx context.Context, f catalog.VersionFilter, cursor string) (page.Page[catalog.Version], error)
}

// Status is what the trust reads of the status lists: one bit as
// committed, and every list for a bundle.
type Status interface {
	Bit(ctx context.Context, listURL string, purpose statuslist.Purpose, index int) (bool, time.Time, error)
	Snapshots(ctx context.Context) ([]status.Snapshot, error)
}

// Keys is what the trust reads of the key ring: the platform's
// presentation keys.
type Keys interface {
	Page(ctx context.Context, f keyring.Filter, limit int, cursor string) (page.Page[keyring.Key], error)
}

// TxFunc runs fn in one transaction of the store that appends audit
// entries.
type TxFunc func(ctx context.Context, fn func(auditlog.Tx) error) error

// Deps are what the service is built from; every field but Now, Keys
// and Platform is required.
type Deps struct {
	Seals   Seals
	Catalog Catalog
	Status  Status
	Tx      TxFunc
	Now     func() time.Time // time.Now when nil
	// Keys and Platform (the platform organization's credit code) give
	// the presentation keys a bundle lists; without them it lists none.
	Keys     Keys
	Platform func(ctx context.Context) (string, error)
}

// Action is the audit action of a license verification.
const Action = "license.verify"

// BundleMaxAge is how long the published trust bundle is served again
// before it is built anew: a public endpoint must not read every seal and
// every status list on each request. Relying parties see the age of what
// they verify with (generated_at, the status lists' fetched_at).
const BundleMaxAge = 5 * time.Second

// Service verifies licenses online and composes the trust bundle. It is
// safe for concurrent use.
type Service struct {
	d Deps

	// mu serializes building the published bundle, so that concurrent
	// requests for a stale one build it once.
	mu        sync.Mutex
	published Published
	builtAt   time.Time
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// Verify verifies a signed license document against the platform's own
// records, as of now, and records the verification in the audit log (the
// actor, the license, the outcome and the checks that failed): every
// access to license data is logged (R-SEC-2). actor is the caller; nil is
// the operator on the platform host. The verdict is the answer even when
// the document is not valid; an error means the verification could not be
// recorded, and then no verdict is given.
func (s *Service) Verify(ctx context.Context, actor *authz.Actor, doc []byte) (verify.Verdict, error) {
	now := s.d.Now()
	v := verify.License(ctx, doc, online{Caching: s.d.Seals.Trust(), s: s}, now)
	who := auditlog.Operator
	if actor != nil {
		who = actor.AccountID
	}
	e := auditlog.Entry{At: now, Actor: who, Action: Action, Subject: v.LicenseID, Details: outcome(v)}
	// The entry belongs to the issuer the document names (a license moved
	// to another issuer keeps its identifier), else to the one the
	// identifier names.
	if d, err := license.Decode(doc); err == nil && d.License.Issuer.CreditCode != "" {
		e.Org = d.License.Issuer.CreditCode
	} else if id, err := ids.ParseLicenseID(v.LicenseID); err == nil {
		e.Org = id.Issuer
	}
	if err := s.d.Tx(ctx, func(tx auditlog.Tx) error { return auditlog.Append(ctx, tx, e) }); err != nil {
		return verify.Verdict{}, err
	}
	return v, nil
}

// outcome is what the audit entry says of a verdict: valid or not, the
// checks that failed and the seal, never the holder's data.
func outcome(v verify.Verdict) map[string]string {
	var failed []string
	for _, c := range v.Checks {
		if !c.OK && !c.Informational {
			failed = append(failed, c.Name)
		}
	}
	d := map[string]string{"valid": strconv.FormatBool(v.Valid)}
	if len(failed) > 0 {
		d["failed"] = strings.Join(failed, ",")
	}
	if v.SealCode != "" {
		d["seal"] = v.SealCode
	}
	return d
}

// online is the LicenseTrust of the platform's records: the seal trust
// (facts at most seal.TrustTTL old), the catalog's approved versions and
// the status bits as committed.
type online struct {
	verify.Caching
	s *Service
}

// Status implements verify.StatusSource with the bits as committed now:
// a license suspended or revoked a moment ago fails at once. A list the
// platform does not publish is no status (verify.ErrNoStatus).
func (o online) Status(ctx context.Context, listURL, purpose string, index int64) (bool, time.Time, error) {
	set, at, err := o.s.d.Status.Bit(ctx, listURL, statuslist.Purpose(purpose), int(index))
	if errors.Is(err, apperr.NotFound) {
		return false, time.Time{}, fmt.Errorf("%w: %s list %s: %w", verify.ErrNoStatus, purpose, listURL, err)
	}
	return set, at, err
}

// ApprovedVersions implements verify.LicenseTrust from the catalog: a
// type the catalog does not have has no approved version.
func (o online) ApprovedVersions(ctx context.Context, typeCode string) ([]int64, bool, error) {
	v, err := o.s.approved(ctx, typeCode)
	switch {
	case errors.Is(err, apperr.NotFound):
		return nil, true, nil
	case err != nil:
		return nil, false, err
	}
	return v, true, nil
}

// approved lists the approved versions of a type, ascending.
func (s *Service) approved(ctx context.Context, typeCode string) ([]int64, error) {
	versions, err := all(func(cursor string) (page.Page[catalog.Version], error) {
		return s.d.Catalog.ListVersions(ctx, catalog.VersionFilter{TypeCode: typeCode, State: catalog.Approved, Limit: page.MaxLimit}, cursor)
	})
	out := make([]int64, len(versions))
	for i, v := range versions {
		out[i] = int64(v.Number)
	}
	return out, err
}

// all reads every page of a list.
func all[T any](fetch func(cursor string) (page.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		p, err := fetch(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		cursor = p.Next
	}
}

// Bundle builds the signed trust bundle of license verification as of
// now: the seal facts (seal.Service.TrustFacts), the approved versions of
// every type that has one, a snapshot of every purpose of every status
// list with the instant it was read, and the platform's presentation keys,
// signed once by the platform root.
func (s *Service) Bundle(ctx context.Context) (verify.Bundle, error) {
	b, err := s.d.Seals.TrustFacts(ctx)
	if err != nil {
		return verify.Bundle{}, err
	}
	types, err := all(func(cursor string) (page.Page[catalog.Entry], error) {
		return s.d.Catalog.ListTypes(ctx, catalog.TypeFilter{Usable: true, Limit: page.MaxLimit}, cursor)
	})
	if err != nil {
		return verify.Bundle{}, err
	}
	for _, e := range types {
		versions, err := s.approved(ctx, e.Code)
		if err != nil {
			return verify.Bundle{}, err
		}
		b.SetTypeVersions(e.Code, versions)
	}
	snaps, err := s.d.Status.Snapshots(ctx)
	if err != nil {
		return verify.Bundle{}, err
	}
	for _, sn := range snaps {
		enc, err := sn.Bits.Encode()
		if err != nil {
			return verify.Bundle{}, fmt.Errorf("status list %s: %w", sn.URL, err)
		}
		b.SetStatusList(verify.StatusSnapshot{ListURL: sn.URL, Purpose: string(sn.Purpose), EncodedList: enc, FetchedAt: sn.At.UTC()})
	}
	if err := s.presentationKeys(ctx, &b); err != nil {
		return verify.Bundle{}, err
	}
	if err := s.d.Seals.SignTrustBundle(ctx, &b); err != nil {
		return verify.Bundle{}, err
	}
	return b, nil
}

// presentationKeys adds the platform's presentation keys to b: the one
// that signs and those a rotation retired, whose payloads issued before
// it a verifier still meets for a few minutes; a disabled key is left
// out, so that payloads it signed are refused.
func (s *Service) presentationKeys(ctx context.Context, b *verify.Bundle) error {
	if s.d.Keys == nil || s.d.Platform == nil {
		return nil
	}
	plat, err := s.d.Platform(ctx)
	if err != nil {
		return err
	}
	ks, err := all(func(cursor string) (page.Page[keyring.Key], error) {
		return s.d.Keys.Page(ctx, keyring.Filter{Org: plat, Purpose: keyring.Presentation}, page.MaxLimit, cursor)
	})
	if err != nil {
		return err
	}
	for _, k := range ks {
		if k.State == keyring.Disabled {
			continue
		}
		pub, err := k.Public()
		if err != nil {
			return fmt.Errorf("presentation key %s: %w", k.ID, err)
		}
		pk, err := verify.NewPresentationKey(pub, k.CreatedAt, k.RotatedAt)
		if err != nil {
			return fmt.Errorf("presentation key %s: %w", k.ID, err)
		}
		b.SetPresentationKey(pk)
	}
	return nil
}

// Published is the signed trust bundle as it is served.
type Published struct {
	Doc         []byte // JSON
	ETag        string // a strong entity tag of Doc, quoted
	GeneratedAt time.Time
}

// Publish returns the signed trust bundle, built at most BundleMaxAge ago.
func (s *Service) Publish(ctx context.Context) (Published, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.d.Now()
	if s.published.Doc != nil && !now.Before(s.builtAt) && now.Sub(s.builtAt) < BundleMaxAge {
		return s.published, nil
	}
	b, err := s.Bundle(ctx)
	if err != nil {
		return Published{}, err
	}
	doc, err := json.Marshal(b)
	if err != nil {
		return Published{}, fmt.Errorf("trust bundle: %w", err)
	}
	s.published, s.builtAt = Published{Doc: doc, ETag: etag(doc), GeneratedAt: b.GeneratedAt}, now
	return s.published, nil
}

// etag is a strong entity tag of doc: a hash of its bytes, quoted.
func etag(doc []byte) string {
	sum := sha256.Sum256(doc)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
