package seal

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// A license-issuing seal (证照专用章) signs every license its organization
// issues. Nobody types a PIN for thousands of licenses a day: an approved
// bind application binds the seal to the issuing service instead, and from
// then on issuance signs with it through SignBound, each signature a
// recorded use. Suspending or cancelling the seal, unbinding it or the
// binding's end date stops that at once: SignBound decides in the
// transaction of the issuance it signs for.

// licenseTypeCode is the shape of a license type code a binding may name.
var licenseTypeCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// maxBoundTypes is how many license types one binding may name.
const maxBoundTypes = 50

// checkBindTerms validates what a bind or unbind application asks for and
// returns it normalized: the service defaults to license issuance, type
// codes are trimmed and deduplicated.
func (s *Service) checkBindTerms(action Action, t BindTerms) (BindTerms, error) {
	var fs apperr.Fields
	if t.Service == "" {
		t.Service = LicenseIssuance
	}
	if t.Service != LicenseIssuance {
		fs.Add("service", "enum", "a seal is bound to license-issuance only")
	}
	if action == Unbind {
		if len(t.LicenseTypes) > 0 || t.Until != nil {
			fs.Add("license_types", "bind-only", "license types and an end date belong to a bind application")
		}
		return BindTerms{Service: t.Service}, fs.Err()
	}
	var types []string
	for i, c := range t.LicenseTypes {
		c = strings.TrimSpace(c)
		if !licenseTypeCode.MatchString(c) {
			fs.Add(fmt.Sprintf("license_types[%d]", i), "pattern", "a license type code: letters, digits, '.', '_' or '-', at most 64")
			continue
		}
		if !slices.Contains(types, c) {
			types = append(types, c)
		}
	}
	if len(types) > maxBoundTypes {
		fs.Add("license_types", "max-items", fmt.Sprintf("at most %d license types", maxBoundTypes))
	}
	if t.Until != nil {
		until := t.Until.UTC().Truncate(time.Second)
		if !until.After(s.now()) {
			fs.Add("until", "future", "the end date of a binding lies in the future")
		}
		t.Until = &until
	}
	t.LicenseTypes = types
	return t, fs.Err()
}

// checkBindable refuses a bind or unbind application for a seal that is
// not a license-issuing seal, or (bind) that is bound already, or (unbind)
// that is not bound.
func checkBindable(ctx context.Context, st Reader, x Seal, a Application, now time.Time) error {
	if x.Kind != LicenseIssuing {
		return fieldErr(apperr.Invalid, "seal_id", "license-issuing",
			fmt.Sprintf("only a license-issuing seal is bound to a service; seal %s is a %s seal", x.ID, x.Kind))
	}
	b, err := st.ActiveBinding(ctx, x.ID, a.Binding.Service)
	switch {
	case errors.Is(err, apperr.NotFound) && a.Action == Unbind:
		return fieldErr(apperr.Conflict, "seal_id", "seal-not-bound", fmt.Sprintf("seal %s is not bound to %s", x.ID, a.Binding.Service))
	case errors.Is(err, apperr.NotFound):
		return nil
	case err != nil:
		return err
	case a.Action == Bind && !b.lapsed(now):
		return fieldErr(apperr.Conflict, "seal_id", "seal-bound", fmt.Sprintf("seal %s is bound to %s already; unbind it first", x.ID, a.Binding.Service))
	}
	return nil
}

// lapsed reports whether the binding's end date has passed at now.
func (b Binding) lapsed(now time.Time) bool { return b.Until != nil && now.After(*b.Until) }

// bind binds a seal for an approved bind application: in one transaction
// the seal is re-read, a lapsed binding ended, the binding recorded with
// its seal event and audit entries, and the application decided.
func (s *Service) bind(ctx context.Context, a Application) error {
	return s.tx(ctx, func(st Tx) error {
		now := s.now()
		x, err := sealOf(ctx, st, a.Org, a.SealID, "seal_id", applyStates[Bind]...)
		if err != nil {
			return err
		}
		if a.Binding.Until != nil && !a.Binding.Until.After(now) {
			return fieldErr(apperr.Conflict, "until", "future", "the end date of the binding has passed; apply again")
		}
		if err := checkBindable(ctx, st, x, a, now); err != nil {
			return err
		}
		// A lapsed binding is still the one in force in the store; it ends
		// now, replaced.
		if old, err := st.ActiveBinding(ctx, x.ID, a.Binding.Service); err == nil {
			if err := s.endBinding(ctx, st, x, old, a.Approver, "lapsed; replaced", a.ID); err != nil {
				return err
			}
		} else if !errors.Is(err, apperr.NotFound) {
			return err
		}
		id, err := s.newID("sbd")
		if err != nil {
			return err
		}
		b := Binding{ID: id, SealID: x.ID, Org: x.Org, BindTerms: a.Binding, ApplicationID: a.ID, BoundBy: a.Approver, BoundAt: now}
		if err := st.InsertBinding(ctx, b); err != nil {
			return err
		}
		details := map[string]string{"seal": x.ID, "service": string(b.Service), "license_types": strings.Join(b.LicenseTypes, ","),
			"application": a.ID}
		if b.Until != nil {
			details["until"] = b.Until.Format(time.RFC3339)
		}
		if err := s.record(ctx, st, a.Approver, x.Org, "seal.binding.created", b.ID, details); err != nil {
			return err
		}
		if err := s.event(ctx, st, x, a.Approver, "bound", a.Reason, a.ID); err != nil {
			return err
		}
		return st.DecideApplication(ctx, a)
	})
}

// unbind ends the binding in force for an approved unbind application.
func (s *Service) unbind(ctx context.Context, a Application) error {
	return s.tx(ctx, func(st Tx) error {
		x, err := sealOf(ctx, st, a.Org, a.SealID, "seal_id", applyStates[Unbind]...)
		if err != nil {
			return err
		}
		if err := checkBindable(ctx, st, x, a, s.now()); err != nil {
			return err
		}
		b, err := st.ActiveBinding(ctx, x.ID, a.Binding.Service)
		if err != nil {
			return err
		}
		if err := s.endBinding(ctx, st, x, b, a.Approver, a.Reason, a.ID); err != nil {
			return err
		}
		if err := s.event(ctx, st, x, a.Approver, "unbound", a.Reason, a.ID); err != nil {
			return err
		}
		return st.DecideApplication(ctx, a)
	})
}

// endBinding ends binding b of seal x in the caller's transaction, with
// its audit entry.
func (s *Service) endBinding(ctx context.Context, st Tx, x Seal, b Binding, actor, reason, appID string) error {
	now := s.now()
	b.EndedAt, b.EndedBy, b.EndReason, b.EndApplicationID = &now, actor, reason, appID
	if err := st.EndBinding(ctx, b); err != nil {
		return err
	}
	return s.record(ctx, st, actor, x.Org, "seal.binding.ended", b.ID, map[string]string{
		"seal": x.ID, "service": string(b.Service), "reason": reason, "application": appID})
}

// endBindings ends every binding in force of seal x, in the caller's
// transaction: a cancelled or replaced seal signs for no service.
func (s *Service) endBindings(ctx context.Context, st Tx, x Seal, actor, reason, appID string) error {
	b, err := st.ActiveBinding(ctx, x.ID, LicenseIssuance)
	if errors.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.endBinding(ctx, st, x, b, actor, reason, appID)
}

// Binding returns the binding of a seal to license issuance that has not
// been ended (it may have lapsed: see InForce); NotFound when there is none.
func (s *Service) Binding(ctx context.Context, sealID string) (Binding, error) {
	x, err := s.GetSeal(ctx, sealID)
	if err != nil {
		return Binding{}, err
	}
	b, err := s.store.ActiveBinding(ctx, x.ID, LicenseIssuance)
	if errors.Is(err, apperr.NotFound) {
		return Binding{}, apperr.New(apperr.NotFound, "seal %s is not bound to %s", x.ID, LicenseIssuance)
	}
	return b, err
}

// InForce reports whether the binding allows signing now.
func (s *Service) InForce(b Binding) bool { return b.EndedAt == nil && !b.lapsed(s.now()) }

// BoundSign is what signing with a bound seal takes.
type BoundSign struct {
	Org          string // the issuing organization: the seal must be its own
	SealID       string
	Service      BoundService // default LicenseIssuance
	LicenseType  string       // the type code of the license signed; the binding must allow it
	Digest       []byte       // SM3 digest of the signed document
	Title        string       // the document, for the use record
	PropertyInfo string       // GB/T 38540 propertyInfo; default "zhengzhao"
	Actor        string       // who issues, for the audit log; default "system"
}

// SignBound signs an SM3 digest with a bound seal, without a PIN, inside
// the caller's transaction st: it re-reads the seal and its binding there,
// refuses a seal that is suspended, cancelled, expired or not bound, or a
// license type the binding does not name, and otherwise records the use
// (kind "bound") and its audit entry through st and returns the GB/T 38540
// SES_Signature, made as Sign makes one. Since the decision and the record
// are in st, the signature counts only if st commits: a caller that does
// not commit must not release it. A refusal writes nothing.
func (s *Service) SignBound(ctx context.Context, st BoundTx, req BoundSign) ([]byte, Use, error) {
	var fs apperr.Fields
	if len(req.Digest) != sm3.Size {
		fs.Add("digest", "sm3", "an SM3 digest is 32 bytes")
	}
	checkName(&fs, "title", req.Title, 200)
	if err := fs.Err(); err != nil {
		return nil, Use{}, err
	}
	now := s.now()
	x, b, err := s.bound(ctx, st, &req, now)
	if err != nil {
		return nil, Use{}, err
	}
	sg, err := s.stamp(ctx, st, x, req.Digest, now, req.PropertyInfo)
	if err != nil {
		return nil, Use{}, err
	}
	id, err := s.newID("use")
	if err != nil {
		return nil, Use{}, err
	}
	actor := req.Actor
	if actor == "" {
		actor = "system"
	}
	use := Use{ID: id, SealID: x.ID, Kind: UseBound, BindingID: b.ID, Title: strings.TrimSpace(req.Title),
		DocHash: hex.EncodeToString(req.Digest), Signer: actor, SignedAt: now, CertFingerprint: sg.cert.Fingerprint, Signature: sg.signature}
	if err := st.InsertUse(ctx, use); err != nil {
		return nil, Use{}, err
	}
	details := map[string]string{"use": use.ID, "binding": b.ID, "service": string(b.Service), "doc_hash": use.DocHash,
		"certificate": use.CertFingerprint}
	if req.LicenseType != "" {
		details["license_type"] = req.LicenseType
	}
	if err := s.record(ctx, st, actor, x.Org, "seal.sign.bound", x.ID, details); err != nil {
		return nil, Use{}, err
	}
	return use.Signature, use, nil
}

// CheckBound gives the refusal SignBound would give req now (the seal and
// its binding as they are), so that a caller refuses before it spends
// anything, such as a sequence number; nil when the seal may sign.
// SignBound decides again in its transaction.
func (s *Service) CheckBound(ctx context.Context, req BoundSign) error {
	_, _, err := s.bound(ctx, s.store, &req, s.now())
	return err
}

// boundReader is what deciding on a bound signature reads: the store's
// plain handle for CheckBound, the signing transaction for SignBound.
type boundReader interface {
	GetSeal(ctx context.Context, id string) (Seal, error)
	ActiveBinding(ctx context.Context, sealID string, svc BoundService) (Binding, error)
}

// bound reads the seal req names through st and decides whether it may
// sign req at now, returning it and the binding that allows it. It fills
// in req's default service.
func (s *Service) bound(ctx context.Context, st boundReader, req *BoundSign, now time.Time) (Seal, Binding, error) {
	if req.Org == "" {
		return Seal{}, Binding{}, fieldErr(apperr.Invalid, "org", "required", "the issuing organization is required")
	}
	if req.Service == "" {
		req.Service = LicenseIssuance
	}
	x, err := st.GetSeal(ctx, strings.ToUpper(strings.TrimSpace(req.SealID)))
	if errors.Is(err, apperr.NotFound) || (err == nil && x.Org != req.Org) {
		// Another organization's seal is not found, as sealOf says.
		return Seal{}, Binding{}, fieldErr(apperr.NotFound, "seal_id", "exists", "no such seal in this organization")
	}
	if err != nil {
		return Seal{}, Binding{}, err
	}
	b, err := s.boundNow(ctx, st, x, *req, now)
	return x, b, err
}

// boundNow decides, on the seal and binding as st reads them, whether the
// seal may sign req now, and returns the binding that allows it.
func (s *Service) boundNow(ctx context.Context, st boundReader, x Seal, req BoundSign, now time.Time) (Binding, error) {
	switch {
	case x.State == Suspended:
		return Binding{}, fieldErr(apperr.Conflict, "seal_id", "seal-suspended", fmt.Sprintf("seal %s is suspended and cannot sign", x.ID))
	case x.State == Cancelled:
		return Binding{}, fieldErr(apperr.Conflict, "seal_id", "seal-cancelled", fmt.Sprintf("seal %s is cancelled and cannot sign", x.ID))
	case !s.ValidNow(x):
		return Binding{}, fieldErr(apperr.Conflict, "seal_id", "seal-expired", fmt.Sprintf("seal %s is valid from %s to %s",
			x.ID, x.ValidFrom.Format(time.RFC3339), x.ValidTo.Format(time.RFC3339)))
	case x.Kind != LicenseIssuing:
		return Binding{}, fieldErr(apperr.Conflict, "seal_id", "seal-not-bound", fmt.Sprintf("seal %s is a %s seal; only a license-issuing seal is bound", x.ID, x.Kind))
	}
	b, err := st.ActiveBinding(ctx, x.ID, req.Service)
	switch {
	case errors.Is(err, apperr.NotFound):
		return Binding{}, fieldErr(apperr.Conflict, "seal_id", "seal-not-bound", fmt.Sprintf("seal %s is not bound to %s", x.ID, req.Service))
	case err != nil:
		return Binding{}, err
	case b.lapsed(now):
		return Binding{}, fieldErr(apperr.Conflict, "seal_id", "seal-not-bound", fmt.Sprintf("the binding of seal %s to %s ended at %s",
			x.ID, req.Service, b.Until.Format(time.RFC3339)))
	case !b.Allows(req.LicenseType):
		return Binding{}, fieldErr(apperr.Conflict, "license_type", "type-not-bound", fmt.Sprintf("the binding of seal %s allows the license types %s, not %q",
			x.ID, strings.Join(b.LicenseTypes, ", "), req.LicenseType))
	}
	return b, nil
}
