package license

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

// NewLicense is what an issuer asks to issue.
type NewLicense struct {
	// Type is the license type code.
	Type string
	// TypeVersion is the approved template version to issue under; 0 for
	// the newest approved one.
	TypeVersion int
	// HolderID is the holder's citizen ID number (a person) or credit code
	// (an organization), as the type's holder kind wants; checked with its
	// check characters.
	HolderID   string
	HolderName string
	// ValidFrom is when the license starts to be valid, the time of issue
	// when nil. ValidUntil is the end an issuer-set validity rule needs;
	// the other rules compute it (fixed) or have none (open-ended).
	ValidFrom  *time.Time
	ValidUntil *time.Time
	// Face is the face data, a JSON object of the template's fields.
	Face json.RawMessage
	// Materials are archived with the license, in its issuing
	// transaction (R-ISS-7); see Material for their rules.
	Materials []Material
}

// Topic is the outbox topic of an issued license.
const Topic = "license.issued"

// chinaTime is the time zone whose calendar year a license number prints
// (UTC+8 has no daylight saving time).
var chinaTime = time.FixedZone("CST", 8*3600)

// maxHolderName bounds the holder's name, as the document format does.
const maxHolderName = 200

// Issued is a license as issuance returns it: the row and its signed
// document.
type Issued struct {
	License   License
	Document  []byte
	Materials []MaterialInfo
}

// Issue issues a license for the actor's organization (docs/licenses.md).
//
// It checks, before anything is written: the actor is an issuer of the
// organization; the type exists and the organization issues it; the
// version is approved; the face data passes the template; the holder's
// identifier passes its check characters; the validity window follows the
// type's rule. Then it draws the identifier and number sequences (each
// committed by itself: a failed issuance leaves a gap, never a duplicate)
// and, in ONE transaction, claims the status slot, records the license
// (the intent) with the document linted against the format, has the bound
// license-issuing seal sign the document's digest (the seal use is
// recorded in the same transaction), stores the signed version and the
// issuance materials, and appends the audit entry (with the materials'
// digests) and the outbox event. A refusal writes nothing.
//
// A refusal of an issuer is recorded in the audit log (refused).
func (s *Service) Issue(ctx context.Context, actor *authz.Actor, n NewLicense) (Issued, error) {
	out, err := s.issueLicense(ctx, actor, n)
	return out, s.refused(ctx, actor, "issue", n.Type, err)
}

// issueLicense is Issue without the record of a refusal.
func (s *Service) issueLicense(ctx context.Context, actor *authz.Actor, n NewLicense) (Issued, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return Issued{}, err
	}
	e, v, err := s.usableType(ctx, issuer, n)
	if err != nil {
		return Issued{}, err
	}
	o, err := s.orgs.GetOrg(ctx, issuer)
	if err != nil {
		return Issued{}, fmt.Errorf("issuing organization %s: %w", issuer, err)
	}
	now := s.now().UTC().Truncate(time.Second)
	face, holderID, from, until, err := s.check(e, v, n, now)
	if err != nil {
		return Issued{}, err
	}
	sealID, err := s.sealOf(ctx, issuer)
	if err != nil {
		return Issued{}, err
	}
	// A seal that cannot sign is refused before the sequences are drawn, so
	// that the refusal spends no number; the issuing transaction decides
	// again.
	if err := s.seals.CheckBound(ctx, seal.BoundSign{Org: issuer, SealID: sealID, LicenseType: e.Code}); err != nil {
		return Issued{}, err
	}
	id, number, err := s.identifiers(ctx, e, o, now)
	if err != nil {
		return Issued{}, err
	}
	l := License{ID: id, Number: number, TypeCode: e.Code, TypeVersion: v.Number, Issuer: issuer, HolderKind: e.HolderKind,
		HolderID: holderID, HolderName: strings.TrimSpace(n.HolderName), ValidFrom: from, ValidUntil: until, State: Active, Version: 1,
		SealID: sealID, IssuedBy: actor.AccountID, IssuedAt: now, UpdatedAt: now}
	var out Issued
	err = s.tx(ctx, func(st Tx) error {
		doc, err := s.sign(ctx, st, &l, o, face, l.IssuedBy, l.IssuedAt, st.InsertLicense)
		if err != nil {
			return err
		}
		ms, err := storeMaterials(ctx, st, l, n.Materials)
		if err != nil {
			return err
		}
		out = Issued{License: l, Document: doc, Materials: ms}
		return s.recordIssued(ctx, st, l, ms)
	})
	if err != nil {
		return Issued{}, err
	}
	return out, nil
}

// usableType returns the type and the version to issue under, refusing
// an unknown type or version, a type the issuer does not issue and a
// version not approved.
func (s *Service) usableType(ctx context.Context, issuer string, n NewLicense) (catalog.Entry, catalog.Version, error) {
	code := strings.TrimSpace(n.Type)
	if code == "" {
		return catalog.Entry{}, catalog.Version{}, fieldErr(apperr.Invalid, "type", "required", "the license type is required")
	}
	e, err := s.catalog.GetType(ctx, code)
	if errors.Is(err, apperr.NotFound) {
		return catalog.Entry{}, catalog.Version{}, fieldErr(apperr.Invalid, "type", "exists", "no license type has code "+code)
	}
	if err != nil {
		return catalog.Entry{}, catalog.Version{}, err
	}
	if !e.AnyIssuer && !slices.Contains(e.Issuers, issuer) {
		return catalog.Entry{}, catalog.Version{}, fieldErr(apperr.Forbidden, "type", "own-org",
			fmt.Sprintf("organization %s does not issue license type %s", issuer, e.Code))
	}
	var v catalog.Version
	switch {
	case n.TypeVersion < 0:
		return catalog.Entry{}, catalog.Version{}, fieldErr(apperr.Invalid, "type_version", "range", "a version counts from 1; 0 takes the newest approved")
	case n.TypeVersion == 0:
		v, err = s.catalog.Latest(ctx, e.Code)
	default:
		v, err = s.catalog.GetVersion(ctx, e.Code, n.TypeVersion)
		if errors.Is(err, apperr.NotFound) {
			return catalog.Entry{}, catalog.Version{}, fieldErr(apperr.Invalid, "type_version", "exists",
				fmt.Sprintf("license type %s has no version %d", e.Code, n.TypeVersion))
		}
		if err == nil && v.State != catalog.Approved {
			return catalog.Entry{}, catalog.Version{}, fieldErr(apperr.Conflict, "type_version", "approved",
				fmt.Sprintf("version %d of license type %s is %s, not approved", v.Number, e.Code, v.State))
		}
	}
	if err != nil {
		return catalog.Entry{}, catalog.Version{}, err
	}
	return e, v, nil
}

// Checked is an issuance request that passed Check: the normalized face
// data (canonical JSON of the template's fields), holder identifier and
// validity window.
type Checked struct {
	Face       []byte
	HolderID   string
	ValidFrom  time.Time
	ValidUntil *time.Time
}

// Check validates an issuance request against the type and the template
// of the version to issue under, every broken rule at once, without
// reading or writing anything: the face data passes the template, the
// holder's identifier its check characters and equals the face's holder
// field, the holder's name is a name, the validity window follows the
// type's rule (valid_from defaults to now) and the materials are
// acceptable. It returns an *apperr.Error of kind Invalid naming each
// field and rule. Issuance and the bulk importer call it, so that a row of
// an import is refused exactly as the same license issued alone would be.
func Check(e catalog.Entry, t catalog.Template, n NewLicense, now time.Time) (Checked, error) {
	var fs apperr.Fields
	f, ferr := t.ValidateFace(n.Face)
	var ae *apperr.Error
	switch {
	case errors.As(ferr, &ae):
		fs = append(fs, ae.Fields...)
	case ferr != nil:
		return Checked{}, ferr
	}
	before := len(fs)
	holderID := checkHolder(&fs, e.HolderKind, n.HolderID)
	// The face's holder field names the holder: once both are well formed,
	// they must agree.
	if hf, ok := t.HolderField(); ok && ferr == nil && len(fs) == before {
		if got, _ := f[hf.Key].(string); got != holderID {
			fs.Add("face."+hf.Key, "holder-id", fmt.Sprintf("%s is the holder's identifier: it must equal holder_id", hf.Key))
		}
	}
	fs.Name("holder_name", strings.TrimSpace(n.HolderName), maxHolderName, true)
	from, until := validity(&fs, e.Validity, n, now)
	checkMaterials(&fs, n.Materials)
	if err := fs.Err(); err != nil {
		return Checked{}, err
	}
	face, err := json.Marshal(f)
	if err != nil {
		return Checked{}, fmt.Errorf("face data: %w", err)
	}
	return Checked{Face: face, HolderID: holderID, ValidFrom: from, ValidUntil: until}, nil
}

// check is Check under the version's template.
func (s *Service) check(e catalog.Entry, v catalog.Version, n NewLicense, now time.Time) (face []byte, holderID string, from time.Time, until *time.Time, err error) {
	c, err := Check(e, v.Template, n, now)
	if err != nil {
		return nil, "", time.Time{}, nil, err
	}
	return c.Face, c.HolderID, c.ValidFrom, c.ValidUntil, nil
}

// checkHolder normalizes and checks the holder's identifier with its check
// characters: a citizen ID number for a person, a credit code for an
// organization.
func checkHolder(fs *apperr.Fields, kind catalog.HolderKind, raw string) string {
	var id string
	var err error
	switch kind {
	case catalog.HolderPerson:
		id = ids.NormalizeCitizenID(raw)
		err = ids.ValidateCitizenID(id)
	default:
		id = ids.NormalizeCreditCode(raw)
		err = ids.ValidateCreditCode(id)
	}
	var ie *ids.Error
	switch {
	case err == nil:
	case errors.As(err, &ie):
		fs.Add("holder_id", ie.Rule, ie.Detail)
	default:
		fs.Add("holder_id", "invalid", err.Error())
	}
	return id
}

// validity returns the validity window the type's rule gives: fixed years
// from valid_from, no end, or the issuer's end within the rule's bound.
func validity(fs *apperr.Fields, rule catalog.ValidityRule, n NewLicense, now time.Time) (time.Time, *time.Time) {
	from := now
	if n.ValidFrom != nil {
		from = n.ValidFrom.UTC().Truncate(time.Second)
	}
	var until *time.Time
	if n.ValidUntil != nil {
		u := n.ValidUntil.UTC().Truncate(time.Second)
		until = &u
		if !u.After(from) {
			fs.Add("valid_until", "after-valid-from", "valid_until lies after valid_from")
			return from, until
		}
	}
	switch rule.Kind {
	case catalog.ValidityFixed:
		end := from.AddDate(rule.Years, 0, 0)
		if until != nil && !until.Equal(end) {
			fs.Add("valid_until", "fixed", fmt.Sprintf("licenses of this type are valid for %d years; leave valid_until out", rule.Years))
		}
		until = &end
	case catalog.ValidityOpenEnded:
		if until != nil {
			fs.Add("valid_until", "open-ended", "licenses of this type have no end date")
		}
	case catalog.ValidityIssuerSet:
		switch {
		case until == nil:
			fs.Add("valid_until", "required", "the issuer sets the end date of licenses of this type")
		case rule.MaxYears > 0 && until.After(from.AddDate(rule.MaxYears, 0, 0)):
			fs.Add("valid_until", "max-years", fmt.Sprintf("at most %d years after valid_from", rule.MaxYears))
		}
	}
	return from, until
}

// sealOf chooses the issuer's license-issuing seal to sign with: one with
// a binding in force, else one not cancelled, so that SignBound, which
// decides in the issuing transaction, names what is wrong with it
// (suspended, expired, not bound).
func (s *Service) sealOf(ctx context.Context, issuer string) (string, error) {
	p, err := s.seals.ListSeals(ctx, seal.Filter{Org: issuer, Kind: seal.LicenseIssuing, Limit: 100}, "")
	if err != nil {
		return "", fmt.Errorf("license-issuing seals of %s: %w", issuer, err)
	}
	var fallback string
	cancelled := false
	for _, x := range p.Items {
		if x.State == seal.Active {
			b, err := s.seals.Binding(ctx, x.ID)
			if err == nil && s.seals.InForce(b) {
				return x.ID, nil
			}
			if err != nil && !errors.Is(err, apperr.NotFound) {
				return "", err
			}
		}
		if fallback == "" || (x.State != seal.Cancelled && cancelled) {
			fallback, cancelled = x.ID, x.State == seal.Cancelled
		}
	}
	if fallback == "" {
		return "", fieldErr(apperr.Conflict, "seal_id", "seal-not-bound", fmt.Sprintf("organization %s has no license-issuing seal", issuer))
	}
	return fallback, nil
}

// identifiers draws the identifier and the face number. Each sequence
// commits by itself: an issuance that fails later leaves a gap.
func (s *Service) identifiers(ctx context.Context, e catalog.Entry, o org.Org, now time.Time) (id, number string, err error) {
	seq, err := s.store.NextLicenseSeq(ctx, e.Code, o.CreditCode)
	if err != nil {
		return "", "", err
	}
	if id, err = ids.NewLicenseID(e.Code, o.CreditCode, seq); err != nil {
		return "", "", apperr.Wrap(apperr.Conflict, err, "license identifiers of type %s and issuer %s are exhausted", e.Code, o.CreditCode)
	}
	year := now.In(chinaTime).Year()
	n, err := s.store.NextSeq(ctx, e.Numbering.Scope(e.Code, o.Region, year))
	if err != nil {
		return "", "", err
	}
	if number, err = ids.Format(e.Numbering, o.Region, year, n); err != nil {
		return "", "", &apperr.Error{Kind: apperr.Conflict, Detail: fmt.Sprintf("license number %d does not fit the numbering rule of %s", n, e.Code),
			Fields: []apperr.FieldError{{Field: "type", Rule: "numbering", Detail: err.Error()}}, Err: err}
	}
	return id, number, nil
}

// sign claims a status slot for version l.Version, lints the document,
// records the license through write (the intent: inserted on issuance,
// updated when a lifecycle operation re-signs), has the bound seal sign the
// document's digest in st for actor and stores the signed version, made
// at at. A version after the first names the one it supersedes. It returns
// the signed document.
func (s *Service) sign(ctx context.Context, st Tx, l *License, o org.Org, face []byte, actor string, at time.Time,
	write func(context.Context, License) error) ([]byte, error) {
	doc, in, digest, err := s.draft(ctx, st, l, o, face, write)
	if err != nil {
		return nil, err
	}
	sig, use, err := s.seals.SignBound(ctx, st, seal.BoundSign{Org: l.Issuer, SealID: l.SealID, LicenseType: l.TypeCode, Digest: digest,
		Title: "license " + l.ID, PropertyInfo: l.ID, Actor: actor})
	if err != nil {
		return nil, err
	}
	return s.keep(ctx, st, *l, codec.Document{License: doc, Signature: sig}, in, use.ID, at)
}

// draft claims a status slot for version l.Version, builds its document,
// lints it and records the license through write: everything before the
// seal signs. It returns the document, its signing input and its digest.
func (s *Service) draft(ctx context.Context, st Tx, l *License, o org.Org, face []byte,
	write func(context.Context, License) error) (doc codec.License, in, digest []byte, err error) {
	alloc, err := s.status.Allocate(ctx, st, l.Issuer)
	if err != nil {
		return codec.License{}, nil, nil, err
	}
	return s.draftIn(ctx, l, o, face, alloc, write)
}

// draftIn is draft in the status slot alloc, claimed already (a batch
// claims the slots of all its versions at once).
func (s *Service) draftIn(ctx context.Context, l *License, o org.Org, face []byte, alloc status.Allocation,
	write func(context.Context, License) error) (doc codec.License, in, digest []byte, err error) {
	l.Slot = alloc.Slot
	doc = codec.License{Format: codec.Format, ID: l.ID, Number: l.Number, Type: codec.Type{Code: l.TypeCode, Version: int64(l.TypeVersion)},
		Issuer:   codec.Issuer{CreditCode: l.Issuer, Name: o.Name},
		Holder:   codec.Holder{Kind: codec.HolderKind(l.HolderKind), Identifier: l.HolderID, Name: l.HolderName},
		IssuedAt: l.IssuedAt, ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil, Face: face, Version: l.Version}
	if l.Version > 1 {
		doc.Supersedes = &codec.Ref{ID: l.ID, Version: l.Version - 1}
	}
	for _, e := range alloc.Entries {
		doc.Status = append(doc.Status, codec.StatusEntry{Purpose: codec.Purpose(e.StatusPurpose), ListURL: e.StatusListCredential, Index: int64(alloc.Slot.Index)})
	}
	// Lint before signing: a document the format refuses is never signed.
	in, err = codec.SigningInput(doc)
	if err != nil {
		return codec.License{}, nil, nil, apperr.Wrap(apperr.Invalid, err, "the license does not fit the signed document format: %v", err)
	}
	if err := write(ctx, *l); err != nil {
		return codec.License{}, nil, nil, err
	}
	h := sm3.Sum(in)
	return doc, in, h[:], nil
}

// keep stores the signed version of l, made at at under the seal use
// useID, and returns its document; in is the signing input of its
// license, as draft made it.
func (s *Service) keep(ctx context.Context, st Tx, l License, d codec.Document, in []byte, useID string, at time.Time) ([]byte, error) {
	v, err := versionOf(l, d, in, useID, at)
	if err != nil {
		return nil, err
	}
	if err := st.InsertLicenseVersion(ctx, v); err != nil {
		return nil, err
	}
	return v.Document, nil
}

// versionOf is the signed version keep stores.
func versionOf(l License, d codec.Document, in []byte, useID string, at time.Time) (Version, error) {
	signed, err := codec.EncodeSigned(d, in)
	if err != nil {
		return Version{}, err
	}
	return Version{LicenseID: l.ID, Version: l.Version, Document: signed, SealID: l.SealID, UseID: useID, Slot: l.Slot, CreatedAt: at}, nil
}

// issuedEvent is the payload of the outbox event: identifiers only, never
// the holder's data.
type issuedEvent struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	Type        string `json:"type"`
	TypeVersion int    `json:"type_version"`
	Issuer      string `json:"issuer"`
	Version     int64  `json:"version"`
	IssuedAt    string `json:"issued_at"`
}

// recordIssued appends the audit entry and the outbox event of an issued
// license.
func (s *Service) recordIssued(ctx context.Context, st Tx, l License, ms []MaterialInfo) error {
	return s.recordIssuedIn(ctx, st, l, ms, "")
}

// recordIssuedIn is recordIssued for a license signed in batch (when not
// empty), which its audit entry names.
func (s *Service) recordIssuedIn(ctx context.Context, st Tx, l License, ms []MaterialInfo, batch string) error {
	details := map[string]string{"number": l.Number, "type": l.TypeCode, "type_version": strconv.Itoa(l.TypeVersion),
		"seal": l.SealID, "status_list": strconv.Itoa(l.Slot.List.Number), "status_index": strconv.Itoa(l.Slot.Index)}
	if batch != "" {
		details["batch"] = batch
	}
	if err := auditlog.Append(ctx, st, auditlog.Entry{At: l.IssuedAt, Actor: l.IssuedBy, Org: l.Issuer, Action: Topic, Subject: l.ID,
		Details: materialDetails(details, ms)}); err != nil {
		return err
	}
	return issuedOutbox(ctx, st, l)
}

// issuedOutbox writes the outbox event of an issued license.
func issuedOutbox(ctx context.Context, st Tx, l License) error {
	e, err := issuedOutboxEvent(l)
	if err != nil {
		return err
	}
	return st.InsertOutbox(ctx, e.ID, e.Topic, e.Payload, e.At)
}

// issuedOutboxEvent is the outbox event of an issued license.
func issuedOutboxEvent(l License) (OutboxEvent, error) {
	payload, err := json.Marshal(issuedEvent{ID: l.ID, Number: l.Number, Type: l.TypeCode, TypeVersion: l.TypeVersion, Issuer: l.Issuer,
		Version: l.Version, IssuedAt: l.IssuedAt.Format(time.RFC3339)})
	if err != nil {
		return OutboxEvent{}, err
	}
	// One event per license version: its identity is the version's.
	return OutboxEvent{ID: Topic + "/" + l.ID + "/" + strconv.FormatInt(l.Version, 10), Topic: Topic, Payload: payload, At: l.IssuedAt}, nil
}

// fieldErr is an error of kind naming field and rule.
func fieldErr(kind apperr.Kind, field, rule, detail string) error {
	return &apperr.Error{Kind: kind, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}
