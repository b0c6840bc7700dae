package license

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

// TransitionRequest is what an issuer asks of a license's lifecycle.
type TransitionRequest struct {
	Operation Operation
	// Reason is required: the history, the audit log and the holder are
	// told why.
	Reason string
	// Face is the new face data of a change; nil keeps the current one.
	Face json.RawMessage
	// TypeVersion is the approved template version of a change; 0 keeps
	// the current one.
	TypeVersion int
	// ValidUntil is the new end of a renewal or change, for a type whose
	// validity rule lets the issuer set it.
	ValidUntil *time.Time
}

// Transitioned is a license after a transition, with the record of the
// transition, and for a re-signing operation the new signed document.
type Transitioned struct {
	License  License
	Record   Record
	Document []byte // nil when the operation changed the state only
}

// maxReason bounds a transition's reason.
const maxReason = 500

// systemActor is who expires licenses.
const systemActor = "system"

// act is one transition as its transaction applies it.
type act struct {
	t      Transition
	actor  string
	reason string
	at     time.Time
	// issuer is the organization the license moves to (Transfer); empty
	// keeps its issuer.
	issuer string
	// resign, for a re-signing operation, signs the next version of cur
	// (the license as the transaction read it), writing the license row,
	// and returns the new license and its document.
	resign func(ctx context.Context, st Tx, cur License) (License, []byte, error)
}

// Transition applies an operation of the lifecycle to a license of the
// actor's organization (docs/licenses.md, "Lifecycle"). The license is
// read again in the transaction that changes it, and an operation the
// transition table does not allow from the state found there is a Conflict
// naming that state (field "operation", rule "transition"). In the one
// transaction: the license row, the status bits of the new state, for
// change, renew and reissue a new version signed by the bound seal with a
// new status index while the old version's index is superseded, the
// transition record, the audit entry and the outbox event.
//
// A refusal of an issuer is recorded in the audit log (refused).
func (s *Service) Transition(ctx context.Context, actor *authz.Actor, id string, req TransitionRequest) (Transitioned, error) {
	out, err := s.transition(ctx, actor, id, req)
	return out, s.refused(ctx, actor, string(req.Operation), id, err)
}

// transition is Transition without the record of a refusal.
func (s *Service) transition(ctx context.Context, actor *authz.Actor, id string, req TransitionRequest) (Transitioned, error) {
	if _, err := issuerOf(actor); err != nil {
		return Transitioned{}, err
	}
	t, reason, err := checkRequest(req)
	if err != nil {
		return Transitioned{}, err
	}
	seen, err := s.own(ctx, actor, id)
	if err != nil {
		return Transitioned{}, err
	}
	if !t.Allows(seen.State) {
		return Transitioned{}, t.refusal(seen.ID, seen.State)
	}
	a := act{t: t, actor: actor.AccountID, reason: reason, at: s.now().UTC().Truncate(time.Second)}
	if t.Resign {
		if a.resign, err = s.resigner(ctx, seen, req, a); err != nil {
			return Transitioned{}, err
		}
	}
	var out Transitioned
	err = s.tx(ctx, func(st Tx) error {
		cur, err := st.GetLicense(ctx, seen.ID)
		if err != nil {
			return err
		}
		out, err = s.apply(ctx, st, cur, a)
		return err
	})
	return out, err
}

// checkRequest checks what a request says by itself and returns its row of
// the table and its trimmed reason.
func checkRequest(req TransitionRequest) (Transition, string, error) {
	var fs apperr.Fields
	t, ok := transitionOf(req.Operation)
	if !ok || !req.Operation.byIssuer() {
		fs.Add("operation", "one-of", fmt.Sprintf("%q is not an operation an issuer applies", req.Operation))
	}
	reason := strings.TrimSpace(req.Reason)
	fs.Text("reason", reason, maxReason, true)
	for _, f := range []struct {
		name  string
		given bool
		ok    bool
	}{
		{"face", req.Face != nil, req.Operation == Change},
		{"type_version", req.TypeVersion != 0, req.Operation == Change},
		{"valid_until", req.ValidUntil != nil, req.Operation == Change || req.Operation == Renew},
	} {
		if f.given && !f.ok {
			fs.Add(f.name, "not-allowed", fmt.Sprintf("%s is not given with %s", f.name, req.Operation))
		}
	}
	if req.TypeVersion < 0 {
		fs.Add("type_version", "range", "a version counts from 1; 0 keeps the current one")
	}
	return t, reason, fs.Err()
}

// resigner prepares what re-signing seen needs and can be known before
// the transaction — the organization, the seal and the template version,
// of the issuer the license moves to for a transfer — and returns the
// function that signs the next version in it.
func (s *Service) resigner(ctx context.Context, seen License, req TransitionRequest, a act) (func(context.Context, Tx, License) (License, []byte, error), error) {
	typeVersion := req.TypeVersion
	if typeVersion == 0 {
		typeVersion = seen.TypeVersion
	}
	issuer := seen.Issuer
	if a.issuer != "" {
		issuer = a.issuer
	}
	e, v, err := s.usableType(ctx, issuer, NewLicense{Type: seen.TypeCode, TypeVersion: typeVersion})
	if err != nil {
		return nil, err
	}
	o, err := s.orgs.GetOrg(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("issuing organization %s: %w", issuer, err)
	}
	sealID, err := s.sealOf(ctx, issuer)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, st Tx, cur License) (License, []byte, error) {
		if req.TypeVersion == 0 && cur.TypeVersion != v.Number {
			// A change committed meanwhile moved the license to another
			// template version: keep that one.
			if v, err = s.catalog.GetVersion(ctx, cur.TypeCode, cur.TypeVersion); err != nil {
				return License{}, nil, err
			}
		}
		face, err := s.nextFace(ctx, st, cur, req.Face)
		if err != nil {
			return License{}, nil, err
		}
		n := NewLicense{HolderID: cur.HolderID, HolderName: cur.HolderName, Face: face, ValidFrom: &cur.ValidFrom, ValidUntil: cur.ValidUntil}
		if req.ValidUntil != nil {
			n.ValidUntil = req.ValidUntil
		}
		if a.t.Operation == Renew {
			// A renewal starts a new validity window now.
			n.ValidFrom, n.ValidUntil = nil, req.ValidUntil
		}
		checked, _, from, until, err := s.check(e, v, n, a.at)
		if err != nil {
			return License{}, nil, err
		}
		next := cur
		next.TypeVersion, next.ValidFrom, next.ValidUntil, next.State, next.Issuer = v.Number, from, until, a.t.Target(cur.State), issuer
		next.Version, next.SealID, next.UpdatedAt = cur.Version+1, sealID, a.at
		doc, err := s.sign(ctx, st, &next, o, checked, a.actor, a.at, func(ctx context.Context, l License) error {
			return st.UpdateLicense(ctx, l, cur.State, cur.Version)
		})
		return next, doc, err
	}, nil
}

// nextFace is the face of the next version: the one given, else the
// current version's, read in st.
func (s *Service) nextFace(ctx context.Context, st Tx, cur License, given json.RawMessage) (json.RawMessage, error) {
	if given != nil {
		return given, nil
	}
	raw, err := st.LicenseDocument(ctx, cur.ID, cur.Version)
	if err != nil {
		return nil, err
	}
	doc, err := codec.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("license %s version %d: %w", cur.ID, cur.Version, err)
	}
	return doc.License.Face, nil
}

// apply applies a to cur, the license as st read it.
func (s *Service) apply(ctx context.Context, st Tx, cur License, a act) (Transitioned, error) {
	if !a.t.Allows(cur.State) {
		return Transitioned{}, a.t.refusal(cur.ID, cur.State)
	}
	next, doc := cur, []byte(nil)
	if a.resign != nil {
		var err error
		if next, doc, err = a.resign(ctx, st, cur); err != nil {
			return Transitioned{}, err
		}
		// The old version stays readable, and is no longer valid.
		if err := s.status.ChangeState(ctx, st, cur.Slot, cur.State.StatusState(), status.Superseded); err != nil {
			return Transitioned{}, err
		}
	} else {
		next.State, next.UpdatedAt = a.t.Target(cur.State), a.at
		if a.issuer != "" {
			next.Issuer = a.issuer
		}
		if err := st.UpdateLicense(ctx, next, cur.State, cur.Version); err != nil {
			return Transitioned{}, err
		}
	}
	// A new version's slot is fresh: it starts as an active credential.
	from := cur.State
	if next.Slot != cur.Slot {
		from = Active
	}
	if err := s.status.ChangeState(ctx, st, next.Slot, from.StatusState(), next.State.StatusState()); err != nil {
		return Transitioned{}, err
	}
	r := Record{LicenseID: cur.ID, Operation: a.t.Operation, From: cur.State, To: next.State, Reason: a.reason, Actor: a.actor,
		At: a.at, Version: next.Version}
	var err error
	if r.Seq, err = st.InsertLicenseTransition(ctx, r); err != nil {
		return Transitioned{}, err
	}
	// A reissue answers the holder's open request, if any, in its
	// transaction.
	var request string
	if a.t.Operation == Reissue {
		if request, err = closeReissueRequest(ctx, st, cur, a); err != nil {
			return Transitioned{}, err
		}
	}
	if err := s.recordTransition(ctx, st, next, cur.Issuer, a.t, r, request); err != nil {
		return Transitioned{}, err
	}
	return Transitioned{License: next, Record: r, Document: doc}, nil
}

// transitionEvent is the payload of a transition's outbox event:
// identifiers only, never the holder's data nor the reason, which may
// carry it.
type transitionEvent struct {
	ID        string `json:"id"`
	Number    string `json:"number"`
	Type      string `json:"type"`
	Issuer    string `json:"issuer"`
	Operation string `json:"operation"`
	From      string `json:"from"`
	To        string `json:"to"`
	Version   int64  `json:"version"`
	Seq       int64  `json:"seq"`
	At        string `json:"at"`
	// PreviousIssuer is the issuer a transfer moved the license from.
	PreviousIssuer string `json:"previous_issuer,omitempty"`
}

// recordTransition appends the audit entry and the outbox event of r, a
// transition of l from issuer previous (l.Issuer but for a transfer); the
// entry names the reissue request the transition closed, if any.
func (s *Service) recordTransition(ctx context.Context, st Tx, l License, previous string, t Transition, r Record, request string) error {
	details := map[string]string{"reason": r.Reason, "from": string(r.From), "to": string(r.To),
		"version": strconv.FormatInt(r.Version, 10), "seq": strconv.FormatInt(r.Seq, 10)}
	if request != "" {
		details["reissue_request"] = request
	}
	if t.Resign {
		details["seal"], details["status_list"], details["status_index"] = l.SealID, strconv.Itoa(l.Slot.List.Number), strconv.Itoa(l.Slot.Index)
	}
	if previous != l.Issuer {
		details["previous_issuer"] = previous
	} else {
		previous = ""
	}
	if err := auditlog.Append(ctx, st, auditlog.Entry{At: r.At, Actor: r.Actor, Org: l.Issuer, Action: "license." + string(r.Operation),
		Subject: l.ID, Details: details}); err != nil {
		return err
	}
	payload, err := json.Marshal(transitionEvent{ID: l.ID, Number: l.Number, Type: l.TypeCode, Issuer: l.Issuer, Operation: string(r.Operation),
		From: string(r.From), To: string(r.To), Version: r.Version, Seq: r.Seq, At: r.At.Format(time.RFC3339), PreviousIssuer: previous})
	if err != nil {
		return err
	}
	// One event per transition: its identity is the transition's.
	return st.InsertOutbox(ctx, t.Topic+"/"+l.ID+"/"+strconv.FormatInt(r.Seq, 10), t.Topic, payload, r.At)
}

// DefaultExpiryBatch is how many licenses ExpireDue looks at when its
// limit is not positive.
const DefaultExpiryBatch = 100

// ExpireDue moves up to limit licenses whose validity has ended to
// expired, each in its own transaction with its transition record, audit
// entry (actor "system") and outbox event, and returns how many it moved.
// Each transaction re-reads its license: one that another process expired
// or an issuer renewed meanwhile is passed over, so several processes may
// run it at once and a license expires once. Call it again while it
// returns a positive count to drain a backlog.
func (s *Service) ExpireDue(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = DefaultExpiryBatch
	}
	now := s.now().UTC().Truncate(time.Second)
	due, err := s.store.DueLicenses(ctx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("licenses due to expire: %w", err)
	}
	t, _ := transitionOf(Expire)
	a := act{t: t, actor: systemActor, reason: "valid_until passed", at: now}
	n := 0
	for _, id := range due {
		expired := false
		err := s.tx(ctx, func(st Tx) error {
			expired = false
			cur, err := st.GetLicense(ctx, id)
			if err != nil {
				return err
			}
			if !t.Allows(cur.State) || cur.ValidUntil == nil || cur.ValidUntil.After(now) {
				return nil
			}
			if _, err := s.apply(ctx, st, cur, a); err != nil {
				return err
			}
			expired = true
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("expire license %s: %w", id, err)
		}
		if expired {
			n++
		}
	}
	return n, nil
}

// RunExpiry runs ExpireDue at once and then every interval until ctx ends,
// each time until nothing is left due; onError hears of a failed run,
// which the next run takes up again.
func (s *Service) RunExpiry(ctx context.Context, interval time.Duration, onError func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for {
			n, err := s.ExpireDue(ctx, DefaultExpiryBatch)
			if err != nil && ctx.Err() == nil {
				onError(err)
			}
			if err != nil || n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
