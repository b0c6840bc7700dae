package seal

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// NewApplication is what applying takes.
type NewApplication struct {
	Org           string
	Action        Action
	SealID        string
	SealKind      Kind
	Name          string
	Reason        string
	Justification string
	Attachments   []Attachment
	Image         []byte
	WidthMM       int
	HeightMM      int
	Keepers       []string
	Policy        Policy
	Binding       BindTerms // bind, unbind
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Apply files an application. The applicant must belong to the
// organization; nothing happens to any seal until an approver approves.
func (s *Service) Apply(ctx context.Context, actor *authz.Actor, n NewApplication) (Application, error) {
	if actor == nil || actor.Org != n.Org {
		return Application{}, apperr.New(apperr.Forbidden, "only the organization's own staff apply for its seals")
	}
	var fs apperr.Fields
	if !slices.Contains(Actions(), n.Action) {
		fs.Add("action", "enum", "action is make, renew, change, suspend, restore, cancel, pin-reset, bind or unbind")
	}
	checkText(&fs, "reason", n.Reason, 500, true)
	checkText(&fs, "justification", n.Justification, 500, false)
	for i, a := range n.Attachments {
		checkName(&fs, fmt.Sprintf("attachments[%d].name", i), a.Name, 200)
		if !sha256Hex.MatchString(a.SHA256) {
			fs.Add(fmt.Sprintf("attachments[%d].sha256", i), "pattern", "64 lower-case hex digits")
		}
	}
	if err := fs.Err(); err != nil {
		return Application{}, err
	}
	id, err := s.newID("sap")
	if err != nil {
		return Application{}, err
	}
	a := Application{ID: id, Org: n.Org, Action: n.Action, SealID: n.SealID, Reason: strings.TrimSpace(n.Reason),
		Justification: strings.TrimSpace(n.Justification), Attachments: n.Attachments, Status: Pending,
		Applicant: actor.AccountID, CreatedAt: s.now()}
	if n.Action == Change {
		old, err := sealOf(ctx, s.store, n.Org, n.SealID, "seal_id", applyStates[Change]...)
		if err != nil {
			return Application{}, err
		}
		n.SealKind, n.Org = old.Kind, old.Org
		if n.Keepers == nil {
			n.Keepers = old.Keepers
		}
		if n.Policy == "" {
			n.Policy = old.Policy
		}
		if n.Justification == "" {
			n.Justification = "change of seal " + old.ID
		}
	}
	if n.Action == Make || n.Action == Change {
		if err := s.checkMake(ctx, &a, n); err != nil {
			return Application{}, err
		}
	}
	binding := n.Action == Bind || n.Action == Unbind
	if binding {
		if a.Binding, err = s.checkBindTerms(n.Action, n.Binding); err != nil {
			return Application{}, err
		}
	}
	err = s.tx(ctx, func(st Tx) error {
		// The seal's state decides in the transaction that files.
		if n.Action != Make {
			x, err := sealOf(ctx, st, n.Org, n.SealID, "seal_id", applyStates[n.Action]...)
			if err != nil {
				return err
			}
			if binding {
				if err := checkBindable(ctx, st, x, a, s.now()); err != nil {
					return err
				}
			}
		}
		if err := st.InsertApplication(ctx, a); err != nil {
			return err
		}
		details := map[string]string{"action": string(a.Action)}
		if a.SealID != "" {
			details["seal"] = a.SealID
		}
		if a.SealKind != "" {
			details["seal_kind"] = string(a.SealKind)
		}
		if binding {
			details["service"] = string(a.Binding.Service)
			details["license_types"] = strings.Join(a.Binding.LicenseTypes, ",")
			if a.Binding.Until != nil {
				details["until"] = a.Binding.Until.Format(time.RFC3339)
			}
		}
		return s.record(ctx, st, actor.AccountID, a.Org, "seal.application.filed", a.ID, details)
	})
	if err != nil {
		return Application{}, err
	}
	return a, nil
}

// applyStates are the states a seal must be in for an application of each
// action to be filed or approved.
var applyStates = map[Action][]State{
	Renew: {Active}, Suspend: {Active}, Restore: {Suspended},
	Change: {Active, Suspended}, Cancel: {Active, Suspended}, PINReset: {Active, Suspended},
	Bind: {Active}, Unbind: {Active, Suspended},
}

// checkMake validates what making a seal needs and copies it into a.
func (s *Service) checkMake(ctx context.Context, a *Application, n NewApplication) error {
	var fs apperr.Fields
	if !slices.Contains(Kinds(), n.SealKind) {
		fs.Add("seal_kind", "enum", "unknown seal kind")
	}
	checkName(&fs, "name", n.Name, 100)
	if _, err := CheckImage(n.Image, n.WidthMM, n.HeightMM); err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			fs = append(fs, ae.Fields...)
		}
	}
	if n.Policy == "" {
		n.Policy = OneApprover
	}
	if !slices.Contains([]Policy{NoApproval, OneApprover, TwoApprovers}, n.Policy) {
		fs.Add("use_policy", "enum", "use_policy is none, one or two")
	}
	if len(n.Keepers) == 0 {
		fs.Add("keepers", "required", "a seal needs at least one keeper")
	}
	for i, id := range n.Keepers {
		acc, err := s.orgs.GetAccount(ctx, id)
		switch {
		case errors.Is(err, apperr.NotFound):
			fs.Add(fmt.Sprintf("keepers[%d]", i), "exists", "no such account")
		case err != nil:
			return err
		case acc.Org != n.Org || !slices.Contains(acc.Roles, authz.SealKeeper) || acc.Status != org.Active:
			fs.Add(fmt.Sprintf("keepers[%d]", i), "seal-keeper", "a keeper is an active seal-keeper account of the organization")
		}
	}
	if err := fs.Err(); err != nil {
		return err
	}
	if n.Action == Make {
		if err := secondSeal(ctx, s.store, n.Org, n.SealKind, n.Justification); err != nil {
			return err
		}
	}
	a.SealKind, a.Name, a.Image, a.WidthMM, a.HeightMM = n.SealKind, strings.TrimSpace(n.Name), n.Image, n.WidthMM, n.HeightMM
	a.Keepers, a.Policy = n.Keepers, n.Policy
	return nil
}

// secondSeal refuses a second seal of a kind without a justification.
func secondSeal(ctx context.Context, st Reader, orgCode string, k Kind, justification string) error {
	count, err := st.CountSeals(ctx, orgCode, k)
	if err != nil {
		return err
	}
	if count > 0 && strings.TrimSpace(justification) == "" {
		return &apperr.Error{Kind: apperr.Invalid, Detail: "the organization has a seal of this kind; a second one needs a justification",
			Fields: []apperr.FieldError{{Field: "justification", Rule: "second-seal", Detail: "explain why a second seal of this kind is needed"}}}
	}
	return nil
}

// sealOf loads through st a seal of org that is in one of states.
func sealOf(ctx context.Context, st Reader, orgCode, id, field string, states ...State) (Seal, error) {
	x, err := st.GetSeal(ctx, id)
	if errors.Is(err, apperr.NotFound) || (err == nil && x.Org != orgCode) {
		return Seal{}, &apperr.Error{Kind: apperr.NotFound, Detail: "no such seal in this organization",
			Fields: []apperr.FieldError{{Field: field, Rule: "exists", Detail: "no such seal in this organization"}}}
	}
	if err != nil {
		return Seal{}, err
	}
	if !slices.Contains(states, x.State) {
		return Seal{}, apperr.New(apperr.Conflict, "seal %s is %s", x.ID, x.State)
	}
	return x, nil
}

func checkText(fs *apperr.Fields, field, v string, max int, required bool) {
	fs.Text(field, strings.TrimSpace(v), max, required)
}

// checkName checks a required name people read, such as a seal's name or
// a document's title (apperr.Fields.Name).
func checkName(fs *apperr.Fields, field, v string, max int) {
	fs.Name(field, strings.TrimSpace(v), max, true)
}

// mayApprove reports whether the actor is a competent approver for org: a
// seal-approver of the platform organization or of org's parent.
func (s *Service) mayApprove(ctx context.Context, actor *authz.Actor, orgCode string) error {
	if actor == nil || !slices.Contains(actor.Roles, authz.SealApprover) {
		return apperr.New(apperr.Forbidden, "only a seal approver decides")
	}
	platform, err := s.orgs.Platform(ctx)
	if err != nil {
		return err
	}
	o, err := s.orgs.GetOrg(ctx, orgCode)
	if err != nil {
		return err
	}
	if actor.Org == platform.CreditCode || (o.Parent != "" && actor.Org == o.Parent) {
		return nil
	}
	return apperr.New(apperr.Forbidden, "the competent approver is the platform's or the parent organization's seal approver")
}

// GetApplication returns an application.
func (s *Service) GetApplication(ctx context.Context, id string) (Application, error) {
	a, err := s.store.GetApplication(ctx, id)
	if errors.Is(err, apperr.NotFound) {
		return Application{}, apperr.New(apperr.NotFound, "no seal application has id %s", id)
	}
	return a, err
}

// ListApplications returns one page of applications.
func (s *Service) ListApplications(ctx context.Context, f Filter, cursor string) (page.Page[Application], error) {
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]Application, error) {
		f.Limit, f.After = limit, after
		return s.store.ListApplications(ctx, f)
	}, func(a Application) string { return a.ID })
}

// Decide approves or rejects an application. Approval acts at once: the
// seal is made, renewed, changed, suspended, restored, cancelled or its PIN
// reset, and the decision and the act commit together.
func (s *Service) Decide(ctx context.Context, actor *authz.Actor, id string, approve bool, comment string) (Application, error) {
	a, err := s.GetApplication(ctx, id)
	if err != nil {
		return Application{}, err
	}
	if a.Status != Pending {
		return Application{}, apperr.New(apperr.Conflict, "application %s is %s already", a.ID, a.Status)
	}
	if err := s.mayApprove(ctx, actor, a.Org); err != nil {
		return Application{}, err
	}
	var fs apperr.Fields
	checkText(&fs, "comment", comment, 500, !approve)
	if err := fs.Err(); err != nil {
		return Application{}, err
	}
	now := s.now()
	a.Approver, a.Comment, a.DecidedAt = actor.AccountID, strings.TrimSpace(comment), &now
	if !approve {
		a.Status = Rejected
		err := s.tx(ctx, func(st Tx) error {
			if err := st.DecideApplication(ctx, a); err != nil {
				return err
			}
			return auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: actor.AccountID, Org: a.Org, Action: "seal.application.rejected",
				Subject: a.ID, Details: map[string]string{"action": string(a.Action), "seal": a.SealID}})
		})
		if err != nil {
			return Application{}, err
		}
		return a, nil
	}
	a.Status = Approved
	switch a.Action {
	case Make:
		_, err = s.make(ctx, a, "")
	case Change:
		_, err = s.make(ctx, a, a.SealID)
	case Renew:
		err = s.renew(ctx, a)
	case Bind:
		err = s.bind(ctx, a)
	case Unbind:
		err = s.unbind(ctx, a)
	default:
		err = s.transition(ctx, a)
	}
	if err != nil {
		return Application{}, err
	}
	return s.GetApplication(ctx, a.ID)
}

// transition applies suspend, restore, cancel and PIN reset.
func (s *Service) transition(ctx context.Context, a Application) error {
	return s.tx(ctx, func(st Tx) error {
		x, err := st.GetSeal(ctx, a.SealID)
		if err != nil {
			return err
		}
		if !slices.Contains(applyStates[a.Action], x.State) {
			return apperr.New(apperr.Conflict, "seal %s is %s; it cannot be %s now", x.ID, x.State, a.Action)
		}
		switch a.Action {
		case Suspend:
			x.State = Suspended
		case Restore:
			x.State = Active
		case Cancel:
			x.State = Cancelled
			if err := s.revoke(ctx, st, x, ca.ReasonCessationOfOperation); err != nil {
				return err
			}
			if err := s.endBindings(ctx, st, x, a.Approver, "seal cancelled", a.ID); err != nil {
				return err
			}
		case PINReset:
			x.PINHash, x.PINSetAt, x.PINFailures, x.Locked = "", nil, 0, false
		}
		return s.commitChange(ctx, st, a, x, string(a.Action))
	})
}

// commitChange writes a changed seal, its event and the decided
// application in the caller's transaction.
func (s *Service) commitChange(ctx context.Context, st Tx, a Application, x Seal, action string) error {
	x.Version++
	x.UpdatedAt = s.now()
	if err := st.UpdateSeal(ctx, x); err != nil {
		return err
	}
	if err := s.event(ctx, st, x, a.Approver, action, a.Reason, a.ID); err != nil {
		return err
	}
	return st.DecideApplication(ctx, a)
}

// event records a state change of a seal and appends it to the audit log,
// in the caller's transaction.
func (s *Service) event(ctx context.Context, st Tx, x Seal, actor, action, reason, appID string) error {
	id, err := s.newID("sev")
	if err != nil {
		return err
	}
	if err := st.InsertSealEvent(ctx, Event{ID: id, SealID: x.ID, At: s.clock(), Actor: actor, Action: action, State: x.State, Reason: reason, ApplicationID: appID}); err != nil {
		return err
	}
	details := map[string]string{"state": string(x.State)}
	if appID != "" {
		details["application"] = appID
	}
	return s.audit(ctx, st, actor, "seal."+action, x, details)
}

// audit appends an entry about a seal to the audit log.
func (s *Service) audit(ctx context.Context, st Tx, actor, action string, x Seal, details map[string]string) error {
	return s.record(ctx, st, actor, x.Org, action, x.ID, details)
}

// record appends an entry to the audit log in st's transaction.
func (s *Service) record(ctx context.Context, st auditlog.Appender, actor, orgCode, action, subject string, details map[string]string) error {
	if actor == "" {
		actor = "system"
	}
	return auditlog.Append(ctx, st, auditlog.Entry{At: s.clock(), Actor: actor, Org: orgCode, Action: action, Subject: subject, Details: details})
}
