package license

import (
	"context"
	"crypto/rand"
	"errors"
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
	"github.com/zhengzhao/zhengzhao/internal/status"
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

// presenter is who presents a license: staff of its issuer (Present,
// Printout) or its signed-in holder (HolderPresent, HolderPrintout).
type presenter struct {
	issuer string        // the staff's organization, when staff
	holder *authz.Holder // the holder, when a holder
	who    string        // the audit entry's actor
}

// issuerPresenter is actor presenting the licenses its organization
// issued; Forbidden without the issuer role.
func issuerPresenter(actor *authz.Actor) (presenter, error) {
	org, err := issuerOf(actor)
	if err != nil {
		return presenter{}, err
	}
	who := actor.AccountID
	if who == "" {
		who = auditlog.Operator
	}
	return presenter{issuer: org, who: who}, nil
}

// holderPresenter is actor presenting the licenses it holds; Forbidden
// for staff.
func holderPresenter(actor *authz.Actor) (presenter, error) {
	h, err := holderOf(actor)
	if err != nil {
		return presenter{}, err
	}
	return presenter{holder: h, who: h.ID}, nil
}

// license reads license id as p may present it: one its organization
// issued, or one it holds (by its blind index, as the holder's reads
// find them). Any other is NotFound, as one that does not exist.
func (p presenter) license(ctx context.Context, r Reader, id string) (License, error) {
	if p.holder == nil {
		return ownLicense(ctx, r, p.issuer, id)
	}
	l, err := r.GetLicense(ctx, strings.TrimSpace(id))
	if errors.Is(err, apperr.NotFound) || (err == nil && !holds(p.holder, l)) {
		return License{}, apperr.New(apperr.NotFound, "you hold no license of id %s", id)
	}
	return l, err
}

// details returns the audit details that name the presenter: a holder
// and the representative it acts through.
func (p presenter) details() map[string]string {
	if p.holder == nil {
		return nil
	}
	d := map[string]string{"by": "holder"}
	if p.holder.Representative != "" {
		d["representative"] = p.holder.Representative
	}
	return d
}

// presentRefused returns err, having logged it when a holder asked for a
// license it does not hold (license.refused, as the holder's reads do).
func (s *Service) presentRefused(ctx context.Context, p presenter, what, id string, err error) error {
	if p.holder == nil || apperr.KindOf(err) != apperr.NotFound {
		return err
	}
	return s.holderRefused(ctx, p.holder, what, id, err)
}

// Present signs a QR payload (docs/qr-format.md) of the current version of
// a license: its identifier, type, issuer, the holder's name masked, the
// face fields req discloses, its status list entries, and a validity of
// req.TTL. A field may be disclosed when the type's template has it and it
// is not sensitive (public and personal fields are the holder's to show;
// sensitive ones, the identity number or the photo, never are): any other
// is a field problem on disclose[i]. A license not in force (suspended,
// reported lost, ended or expired) is not presented. The payload hands license data out, so the license is
// re-read, the license.presented audit entry appended and the payload
// signed after it, in one transaction, as an export is.
func (s *Service) Present(ctx context.Context, actor *authz.Actor, id string, req PresentRequest) (Presentation, error) {
	p, err := issuerPresenter(actor)
	if err != nil {
		return Presentation{}, err
	}
	return s.present(ctx, p, id, req)
}

// HolderPresent is Present by the license's holder (R-HOL-2): only a
// license the actor holds; another's, or none, is NotFound and the
// refusal is logged. The audit entry names the holder as actor.
func (s *Service) HolderPresent(ctx context.Context, actor *authz.Actor, id string, req PresentRequest) (Presentation, error) {
	p, err := holderPresenter(actor)
	if err != nil {
		return Presentation{}, err
	}
	return s.present(ctx, p, id, req)
}

// present is Present by p.
func (s *Service) present(ctx context.Context, p presenter, id string, req PresentRequest) (Presentation, error) {
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
		signed, err := s.presentIn(ctx, st, p, id, key, presentation{at: now, disclose: req.Disclose, action: PresentedAction,
			expires: func(License) time.Time { return now.Add(ttl) },
			details: map[string]string{"disclosed": strings.Join(req.Disclose, ",")}})
		out = signed.Presentation
		return err
	})
	if err != nil {
		return Presentation{}, s.presentRefused(ctx, p, "qr", id, err)
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

// presentIn re-reads license id as p may present it in st, refuses one no longer in
// force, appends p's audit entry and signs the presentation after it:
// the one step of Present and Printout, so that both decide inside their
// transaction and record what they hand out.
func (s *Service) presentIn(ctx context.Context, st Tx, by presenter, id string, key PresentationKey, p presentation) (signedPresentation, error) {
	l, err := by.license(ctx, st, id)
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
	details := map[string]string{"version": strconv.FormatInt(l.Version, 10), "kid": fmt.Sprintf("%x", key.KID),
		"expires": claims.Expires.Format(time.RFC3339)}
	maps.Copy(details, p.details)
	maps.Copy(details, by.details())
	if err := auditlog.Append(ctx, st, auditlog.Entry{At: p.at, Actor: by.who, Org: l.Issuer, Action: p.action, Subject: l.ID,
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

// presentable refuses a license not in force: a payload carries neither
// its state nor its validity, only its status list entries, so a verifier
// could not tell that it ended or expired; and one whose status bits are
// set (suspended, reported lost) would only fail its check.
func presentable(l License, now time.Time) error {
	bits, err := status.BitsOf(l.State.StatusState())
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "license %s: %v", l.ID, err)
	}
	if bits.Revocation || bits.Suspension || l.State == Expired || (l.ValidUntil != nil && !now.Before(*l.ValidUntil)) {
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
