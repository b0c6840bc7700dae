package license

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// The loss report (挂失/补办, R-HOL-6): the holder reports its license lost,
// which the transition report-lost applies with the holder as actor, and
// then asks its issuer for a reissue; the issuer's reissue transition
// closes the request in its transaction, or the issuer refuses it.

// ReissueState is the state of a reissue request.
type ReissueState string

// The reissue request states.
const (
	ReissueOpen    ReissueState = "open"
	ReissueDone    ReissueState = "done"
	ReissueRefused ReissueState = "refused"
)

// ReissueStates are the states of a reissue request.
func ReissueStates() []ReissueState { return []ReissueState{ReissueOpen, ReissueDone, ReissueRefused} }

// ReissueRequest is a holder's request for the reissue of a license it
// reported lost.
type ReissueRequest struct {
	ID        string
	LicenseID string
	// Issuer is the license's issuing organization, read with the request.
	Issuer      string
	RequestedBy string // the holder, hol_…
	Reason      string
	State       ReissueState
	// Answer is the issuer's reason for a refusal.
	Answer    string
	ClosedBy  string
	CreatedAt time.Time
	ClosedAt  time.Time // zero while open
}

// ReissueFilter selects reissue requests of the licenses an issuer
// issues, or of one license, by ID.
type ReissueFilter struct {
	Issuer    string
	LicenseID string
	State     ReissueState
	After     string
	Limit     int
}

// holderReason checks an optional reason of a holder.
func holderReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	var fs apperr.Fields
	fs.Text("reason", reason, maxReason, false)
	return reason, fs.Err()
}

// holderWrite runs fn on the actor's license id in one transaction, the
// license as that transaction reads it. Another holder's license, or none,
// is NotFound and the refusal is logged.
func (s *Service) holderWrite(ctx context.Context, actor *authz.Actor, id, what string, fn func(st Tx, h *authz.Holder, l License) error) error {
	h, err := holderOf(actor)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(st Tx) error {
		l, err := st.GetLicense(ctx, id)
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return err
		}
		if err != nil || !holds(h, l) {
			return apperr.New(apperr.NotFound, "you hold no license of id %s", id)
		}
		return fn(st, h, l)
	})
	if apperr.KindOf(err) == apperr.NotFound {
		return s.holderRefused(ctx, h, what, id, err)
	}
	return err
}

// ReportLost applies report-lost to a license the actor holds, the holder
// the actor of the transition: decided on the license as the transaction
// reads it, which writes the new state and its status bits (the license
// stops verifying online and in the next status list), the transition
// record, the audit entry (license.report-lost) and the outbox event. A
// license not active is refused with the Conflict of the transition table.
func (s *Service) ReportLost(ctx context.Context, actor *authz.Actor, id, reason string) (Transitioned, error) {
	reason, err := holderReason(reason)
	if err != nil {
		return Transitioned{}, err
	}
	t, _ := transitionOf(ReportLost)
	var out Transitioned
	err = s.holderWrite(ctx, actor, id, "report-lost", func(st Tx, h *authz.Holder, l License) error {
		out, err = s.apply(ctx, st, l, act{t: t, actor: h.ID, reason: reason, at: s.now().UTC().Truncate(time.Second)})
		return err
	})
	return out, err
}

// RequestReissue files the actor's request for the reissue of a license
// it holds that is reported lost: one open request per license, decided in
// the transaction that writes it and its audit entry
// (license.reissue-requested); a second is a Conflict.
func (s *Service) RequestReissue(ctx context.Context, actor *authz.Actor, id, reason string) (ReissueRequest, error) {
	reason, err := holderReason(reason)
	if err != nil {
		return ReissueRequest{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	rid, err := timeID("lrr", now)
	if err != nil {
		return ReissueRequest{}, err
	}
	var out ReissueRequest
	err = s.holderWrite(ctx, actor, id, "reissue-request", func(st Tx, h *authz.Holder, l License) error {
		if l.State != ReportedLost {
			return fieldErr(apperr.Conflict, "state", "reported-lost", fmt.Sprintf("license %s is %s; a reissue is asked for a license reported lost", l.ID, l.State))
		}
		if _, err := st.OpenReissueRequest(ctx, l.ID); err == nil {
			return fieldErr(apperr.Conflict, "license_id", "open-request", fmt.Sprintf("license %s has an open reissue request", l.ID))
		} else if !errors.Is(err, apperr.NotFound) {
			return err
		}
		out = ReissueRequest{ID: rid, LicenseID: l.ID, Issuer: l.Issuer, RequestedBy: h.ID, Reason: reason, State: ReissueOpen, CreatedAt: now}
		if err := st.InsertReissueRequest(ctx, out); err != nil {
			return err
		}
		return s.logReissue(ctx, st, h.ID, out, "license.reissue-requested", now)
	})
	return out, err
}

// logReissue appends the audit entry action of r by actor.
func (s *Service) logReissue(ctx context.Context, st Tx, actor string, r ReissueRequest, action string, at time.Time) error {
	d := map[string]string{"request": r.ID, "reason": r.Reason}
	if r.Answer != "" {
		d["answer"] = r.Answer
	}
	return auditlog.Append(ctx, st, auditlog.Entry{At: at, Actor: actor, Org: r.Issuer, Action: action, Subject: r.LicenseID, Details: d})
}

// ReissueRequests returns a page of the reissue requests of the licenses
// the actor's organization issues, an issuer's, filtered by state.
func (s *Service) ReissueRequests(ctx context.Context, actor *authz.Actor, f ReissueFilter, cursor string) (page.Page[ReissueRequest], error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return page.Page[ReissueRequest]{}, err
	}
	if f.State != "" && !slices.Contains(ReissueStates(), f.State) {
		return page.Page[ReissueRequest]{}, fieldErr(apperr.Invalid, "state", "one-of", "state is open, done or refused")
	}
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]ReissueRequest, error) {
		return s.store.ListReissueRequests(ctx, ReissueFilter{Issuer: issuer, State: f.State, After: after, Limit: limit})
	}, reissueCursor)
}

// HolderReissueRequests returns a page of the reissue requests of a
// license the actor holds, with the issuer's answers; the read is logged
// (what: reissue-requests).
func (s *Service) HolderReissueRequests(ctx context.Context, actor *authz.Actor, id string, limit int, cursor string) (page.Page[ReissueRequest], error) {
	var p page.Page[ReissueRequest]
	_, err := s.holderRead(ctx, actor, id, "reissue-requests", func(st Tx, l License) (err error) {
		p, err = page.Fetch(limit, cursor, func(limit int, after string) ([]ReissueRequest, error) {
			return st.ListReissueRequests(ctx, ReissueFilter{LicenseID: l.ID, After: after, Limit: limit})
		}, reissueCursor)
		return err
	})
	return p, err
}

// reissueCursor is the cursor of the page after r.
func reissueCursor(r ReissueRequest) string { return r.ID }

// RefuseReissue refuses an open reissue request of a license of the
// actor's organization with a reason (required), in the transaction that
// reads it and writes the audit entry (license.reissue-refused). A request
// no longer open is a Conflict; another organization's, or none, NotFound.
func (s *Service) RefuseReissue(ctx context.Context, actor *authz.Actor, id, reason string) (ReissueRequest, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return ReissueRequest{}, err
	}
	reason = strings.TrimSpace(reason)
	var fs apperr.Fields
	fs.Text("reason", reason, maxReason, true)
	if err := fs.Err(); err != nil {
		return ReissueRequest{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out ReissueRequest
	err = s.tx(ctx, func(st Tx) error {
		r, err := st.GetReissueRequest(ctx, id)
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return err
		}
		if err != nil || r.Issuer != issuer {
			return apperr.New(apperr.NotFound, "no reissue request has id %s", id)
		}
		if r.State != ReissueOpen {
			return fieldErr(apperr.Conflict, "state", "open-request", fmt.Sprintf("reissue request %s is %s", r.ID, r.State))
		}
		r.State, r.Answer, r.ClosedBy, r.ClosedAt = ReissueRefused, reason, actor.AccountID, now
		if err := st.CloseReissueRequest(ctx, r); err != nil {
			return err
		}
		out = r
		return s.logReissue(ctx, st, actor.AccountID, r, "license.reissue-refused", now)
	})
	return out, err
}

// closeReissueRequest marks the open reissue request of cur done, if
// there is one, in the transaction of its reissue, and returns its
// identifier ("" for none).
func closeReissueRequest(ctx context.Context, st Tx, cur License, a act) (string, error) {
	r, err := st.OpenReissueRequest(ctx, cur.ID)
	if errors.Is(err, apperr.NotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	r.State, r.ClosedBy, r.ClosedAt = ReissueDone, a.actor, a.at
	return r.ID, st.CloseReissueRequest(ctx, r)
}
