package license

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// PresentedAction is the audit action of a QR presentation.
const PresentedAction = "license.presented"

// The lifetime of a presentation payload: a minute unless asked
// otherwise, at most ten, so that a screenshot is soon useless (R-HOL-2).
const (
	DefaultPresentTTL = qr.DefaultLifetime
	MaxPresentTTL     = 10 * time.Minute
)

// PresentationKey is the platform's presentation key as one presentation
// uses it: the signer and its kid (qr.KeyID).
type PresentationKey struct {
	Signer keys.Signer
	KID    []byte
}

// PresentationKeyFunc returns the platform's presentation key, making it
// on first use (keyring.Service.PresentationSigner).
type PresentationKeyFunc func(ctx context.Context) (PresentationKey, error)

// PresentRequest is what a presentation shows: the face fields disclosed
// besides the masked holder name, and how long the payload is valid (zero:
// DefaultPresentTTL).
type PresentRequest struct {
	Disclose []string
	TTL      time.Duration
}

// Presentation is a signed QR payload and the claims it carries.
type Presentation struct {
	Payload string
	KID     []byte
	Claims  qr.Claims
}

// presenterOf returns the organization whose licenses actor may present.
// Until holders have accounts, that is the issuer's own: the holder's
// endpoint will change this one function.
func presenterOf(actor *authz.Actor) (string, error) { return issuerOf(actor) }

// Present signs a QR payload (docs/qr-format.md) of the current version of
// a license: its identifier, type, issuer, the holder's name masked, the
// face fields req discloses, its status list entries, and a validity of
// req.TTL. A field may be disclosed when the type's template has it and it
// is not sensitive (public and personal fields are the holder's to show;
// sensitive ones, the identity number or the photo, never are): any other
// is a field problem on disclose[i]. A license that has ended or expired
// is not presented. The payload hands license data out, so the license is
// re-read, the license.presented audit entry appended and the payload
// signed after it, in one transaction, as an export is.
func (s *Service) Present(ctx context.Context, actor *authz.Actor, id string, req PresentRequest) (Presentation, error) {
	owner, err := presenterOf(actor)
	if err != nil {
		return Presentation{}, err
	}
	ttl := req.TTL
	switch {
	case ttl == 0:
		ttl = DefaultPresentTTL
	case ttl < time.Second || ttl > MaxPresentTTL:
		return Presentation{}, fieldErr(apperr.Invalid, "ttl", "range", fmt.Sprintf("the lifetime is 1 s to %s", MaxPresentTTL))
	}
	if s.presenter == nil || s.baseURL == "" {
		return Presentation{}, apperr.New(apperr.Unavailable, "this platform presents no licenses: it has no presentation key")
	}
	// Taken before the transaction: on first use it makes the platform's
	// key in a transaction of its own, which SQLite could not open beside
	// this one.
	key, err := s.presenter(ctx)
	if err != nil {
		return Presentation{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	var out Presentation
	err = s.tx(ctx, func(st Tx) error {
		signed, err := s.presentIn(ctx, st, actor, owner, id, key, presentation{at: now, disclose: req.Disclose, action: PresentedAction,
			expires: func(License) time.Time { return now.Add(ttl) },
			details: map[string]string{"disclosed": strings.Join(req.Disclose, ",")}})
		out = signed.Presentation
		return err
	})
	if err != nil {
		return Presentation{}, err
	}
	return out, nil
}

// presentation is what presentIn signs: at when, which fields, until
// when (from the license read in the transaction), and the audit entry's
// action and details besides the version, kid and expiry.
type presentation struct {
	at       time.Time
	disclose []string
	expires  func(License) time.Time
	action   string
	details  map[string]string
}

// signedPresentation is a presentation signed in a transaction and what
// it was made from: the license and its signed document.
type signedPresentation struct {
	Presentation
	License  License
	Document []byte
	Signed   codec.License // the license as its document reads
}

// presentIn re-reads license id of owner in st, refuses one no longer in
// force, appends p's audit entry and signs the presentation after it:
// the one step of Present and Printout, so that both decide inside their
// transaction and record what they hand out.
func (s *Service) presentIn(ctx context.Context, st Tx, actor *authz.Actor, owner, id string, key PresentationKey, p presentation) (signedPresentation, error) {
	l, err := ownLicense(ctx, st, owner, id)
	if err != nil {
		return signedPresentation{}, err
	}
	if err := presentable(l, p.at); err != nil {
		return signedPresentation{}, err
	}
	raw, err := st.LicenseDocument(ctx, l.ID, l.Version)
	if err != nil {
		return signedPresentation{}, err
	}
	d, err := codec.Decode(raw)
	if err != nil {
		return signedPresentation{}, apperr.Wrap(apperr.Internal, err, "license %s version %d: %v", l.ID, l.Version, err)
	}
	claims, err := s.claims(ctx, d.License, p.disclose)
	if err != nil {
		return signedPresentation{}, err
	}
	claims.IssuedAt, claims.Expires = p.at, p.expires(l).UTC().Truncate(time.Second)
	// Drawn here rather than by qr.Encode, so the claims returned are
	// those signed.
	if _, err := rand.Read(claims.Nonce[:]); err != nil {
		return signedPresentation{}, fmt.Errorf("presentation nonce: %w", err)
	}
	who := actor.AccountID
	if who == "" {
		who = auditlog.Operator
	}
	details := map[string]string{"version": strconv.FormatInt(l.Version, 10), "kid": fmt.Sprintf("%x", key.KID),
		"expires": claims.Expires.Format(time.RFC3339)}
	maps.Copy(details, p.details)
	if err := auditlog.Append(ctx, st, auditlog.Entry{At: p.at, Actor: who, Org: owner, Action: p.action, Subject: l.ID,
		Details: details}); err != nil {
		return signedPresentation{}, err
	}
	payload, err := qr.Encode(ctx, claims, key.Signer, key.KID)
	if err != nil {
		return signedPresentation{}, apperr.Wrap(apperr.Internal, err, "license %s cannot be presented: %v", l.ID, err)
	}
	return signedPresentation{Presentation: Presentation{Payload: payload, KID: key.KID, Claims: claims}, License: l, Document: raw,
		Signed: d.License}, nil
}

// presentable refuses a license no longer in force: a payload carries
// neither its state nor its validity, only its status list entries, so a
// verifier could not tell that it ended or expired.
func presentable(l License, now time.Time) error {
	if l.State.Terminal() || l.State == Expired || (l.ValidUntil != nil && !now.Before(*l.ValidUntil)) {
		return &apperr.Error{Kind: apperr.Conflict, Detail: fmt.Sprintf("license %s is %s and is not presented", l.ID, l.State),
			Fields: []apperr.FieldError{{Field: "state", Rule: "in-force"}}}
	}
	return nil
}

// claims builds the claims of a presentation of the signed license d
// without the validity window.
func (s *Service) claims(ctx context.Context, d codec.License, disclose []string) (qr.Claims, error) {
	v, err := s.catalog.GetVersion(ctx, d.Type.Code, int(d.Type.Version))
	if err != nil {
		return qr.Claims{}, err
	}
	face, err := v.Template.ValidateFace(d.Face)
	if err != nil {
		return qr.Claims{}, apperr.Wrap(apperr.Internal, err, "license %s: its face no longer reads under its template: %v", d.ID, err)
	}
	fields, err := disclosed(v.Template, face, disclose)
	if err != nil {
		return qr.Claims{}, err
	}
	c := qr.Claims{Issuer: s.baseURL, LicenseID: d.ID, TypeCode: d.Type.Code, TypeVersion: uint64(d.Type.Version), //nolint:gosec // G115: Validate keeps versions in 1..2^53
		IssuerCode: d.Issuer.CreditCode, Holder: maskedHolder(v.Template, face, d.Holder.Name), Fields: fields}
	for _, e := range d.Status {
		switch e.Purpose {
		case codec.PurposeRevocation:
			c.RevocationList = e.ListURL
		case codec.PurposeSuspension:
			c.SuspensionList = e.ListURL
		}
		c.StatusIndex = uint64(e.Index) //nolint:gosec // G115: Validate keeps indexes non-negative
	}
	return c, nil
}

// disclosed returns the face fields keys name, each a field of t that is
// not sensitive; a field the face leaves out is disclosed as null.
func disclosed(t catalog.Template, face catalog.Face, keys []string) (map[string]any, error) {
	var fs apperr.Fields
	out := make(map[string]any, len(keys))
	for i, k := range keys {
		path := "disclose[" + strconv.Itoa(i) + "]"
		f, ok := t.Field(k)
		switch {
		case !ok:
			fs.Add(path, "unknown-field", fmt.Sprintf("the license type has no field %q", k))
		case f.Sensitivity == catalog.SensitivitySensitive:
			fs.Add(path, "sensitive", fmt.Sprintf("field %q is sensitive and is never disclosed", k))
		case slices.Contains(keys[:i], k):
			fs.Add(path, "duplicate", fmt.Sprintf("field %q is disclosed twice", k))
		default:
			out[k] = face[k]
		}
	}
	return out, fs.Err()
}

// maskedHolder is the holder's name as a presentation shows it: masked
// under the rule of the face field that holds it (the residence permit's
// name, keep-first 1), else fully.
func maskedHolder(t catalog.Template, face catalog.Face, name string) string {
	for _, f := range t.Fields {
		if v, ok := face[f.Key].(string); ok && v == name && !f.Holder {
			return catalog.Mask(f, name) // a public name (an organization's) is not masked

		}
	}
	return catalog.Mask(catalog.Field{Masking: catalog.Masking{Rule: catalog.MaskFull}}, name)
}
