package license

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// The reads of a signed-in holder (R-HOL-1): its own licenses, those of
// its kind whose holder index is its own, found by that blind index and
// never by decrypting. Each answer is logged as license.read with the
// holder as actor, under the issuing organization, in the transaction
// that reads it; a license that is another holder's, or none, is NotFound
// and the refusal is logged (license.refused).

// holderOf returns the holder principal of actor; Forbidden for staff.
func holderOf(actor *authz.Actor) (*authz.Holder, error) {
	if actor == nil || actor.Holder == nil || actor.Holder.Index == "" {
		return nil, &apperr.Error{Kind: apperr.Forbidden, Detail: "only a signed-in holder reads its own licenses",
			Fields: []apperr.FieldError{{Field: "actor", Rule: "holder", Detail: "a holder session is required"}}}
	}
	return actor.Holder, nil
}

// holds reports whether l is the holder's.
func holds(h *authz.Holder, l License) bool {
	return string(l.HolderKind) == h.Kind && l.HolderIndex != "" && l.HolderIndex == h.Index
}

// logHolderRead appends the audit entry of holder h reading what of l.
func (s *Service) logHolderRead(ctx context.Context, st Tx, h *authz.Holder, l License, what string) error {
	d := map[string]string{"what": what, "by": "holder"}
	if h.Representative != "" {
		d["representative"] = h.Representative
	}
	return auditlog.Append(ctx, st, auditlog.Entry{At: s.now(), Actor: h.ID, Org: l.Issuer, Action: ReadAction, Subject: l.ID, Details: d})
}

// holderRead runs fn on the holder's license id as one transaction sees
// it and logs the read in that transaction. Another holder's license, or
// none, is NotFound, and the refusal is logged in a transaction of its
// own, which commits though the request fails.
func (s *Service) holderRead(ctx context.Context, actor *authz.Actor, id, what string, fn func(st Tx, l License) error) (License, error) {
	h, err := holderOf(actor)
	if err != nil {
		return License{}, err
	}
	var out License
	err = s.tx(ctx, func(st Tx) error {
		l, err := st.GetLicense(ctx, id)
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return err
		}
		if err != nil || !holds(h, l) {
			return apperr.New(apperr.NotFound, "you hold no license of id %s", id)
		}
		if fn != nil {
			if err := fn(st, l); err != nil {
				return err
			}
		}
		out = l
		return s.logHolderRead(ctx, st, h, l, what)
	})
	if apperr.KindOf(err) == apperr.NotFound {
		return License{}, s.holderRefused(ctx, h, what, id, err)
	}
	return out, err
}

// holderRefused logs a holder's refused read and returns err. The
// subject is recorded only when it is a well-formed license identifier.
func (s *Service) holderRefused(ctx context.Context, h *authz.Holder, what, subject string, err error) error {
	if ids.ValidateLicenseID(subject) != nil {
		subject = ""
	}
	e := auditlog.Entry{At: s.now(), Actor: h.ID, Action: RefusedAction, Subject: subject,
		Details: map[string]string{"operation": "holder-read", "what": what, "kind": string(apperr.NotFound)}}
	if rerr := s.tx(ctx, func(st Tx) error { return auditlog.Append(ctx, st, e) }); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// HolderGet returns a license the actor holds; the read is logged.
func (s *Service) HolderGet(ctx context.Context, actor *authz.Actor, id string) (License, error) {
	return s.holderRead(ctx, actor, id, "license", nil)
}

// HolderDocument returns the signed document of the current version of a
// license the actor holds, or of version when it is not zero; the read is
// logged.
func (s *Service) HolderDocument(ctx context.Context, actor *authz.Actor, id string, version int64) ([]byte, error) {
	return documentVia(ctx, s.holderRead, actor, id, version)
}

// HolderHistory returns a page of the transitions of a license the actor
// holds, oldest first: each names the version it made. The read is
// logged.
func (s *Service) HolderHistory(ctx context.Context, actor *authz.Actor, id string, limit int, cursor string) (page.Page[Record], error) {
	return s.historyVia(ctx, s.holderRead, actor, id, limit, cursor)
}

// HolderList returns one page of the licenses the actor holds, filtered
// by f's type and state; each license on the page is logged as read, in
// the transaction that read it.
func (s *Service) HolderList(ctx context.Context, actor *authz.Actor, f Filter, cursor string) (page.Page[License], error) {
	h, err := holderOf(actor)
	if err != nil {
		return page.Page[License]{}, err
	}
	f = Filter{TypeCode: f.TypeCode, State: f.State, HolderKind: catalog.HolderKind(h.Kind), HolderIndex: h.Index, Limit: f.Limit}
	return s.listLogged(ctx, f, cursor, func(st Tx, l License) error { return s.logHolderRead(ctx, st, h, l, "list") })
}

// HolderAudit returns up to limit entries of the audit log about the
// licenses the actor holds (R-HOL-4: who read, verified, used, changed or
// was refused them), from index from on and below size — the size of the
// checkpoint the caller proves them against — in index order, with their
// leaves. Each license named on the page is logged as read (what: audit)
// in the transaction that read the page.
func (s *Service) HolderAudit(ctx context.Context, actor *authz.Actor, from, size uint64, limit int) ([]auditlog.Entry, [][]byte, error) {
	h, err := holderOf(actor)
	if err != nil {
		return nil, nil, err
	}
	var entries []auditlog.Entry
	var leaves [][]byte
	err = s.tx(ctx, func(st Tx) (err error) {
		entries, leaves, err = st.HolderAuditEntries(ctx, catalog.HolderKind(h.Kind), h.Index, from, size, limit)
		if err != nil {
			return err
		}
		logged := map[string]bool{}
		for _, e := range entries {
			if logged[e.Subject] {
				continue
			}
			logged[e.Subject] = true
			l, err := st.GetLicense(ctx, e.Subject) // its issuer now, under whom the read is filed
			if err != nil {
				return err
			}
			if err := s.logHolderRead(ctx, st, h, l, "audit"); err != nil {
				return err
			}
		}
		return nil
	})
	return entries, leaves, err
}

// Notice is a delivery notice (送达, R-ISS-6) of a holder's license: its
// issuance (Seq 0, Operation "issue") or one of its transitions. Each is
// the record of a transaction that also queued the license's outbox event
// (license.issued, license.suspended, …), so the inbox is a view over what
// the holder was notified of, joined by the holder's blind index: nothing
// is copied, and a license issued to the holder before it first signed in
// is in its inbox.
type Notice struct {
	LicenseID string
	Issuer    string
	Seq       int64
	Operation string
	From, To  State
	Version   int64
	At        time.Time
}

// IssueNotice is the operation of the notice of an issuance.
const IssueNotice = "issue"

// NoticeFilter selects a page of a holder's notices, newest first: those
// before the notice (AfterAt, AfterID, AfterSeq) when AfterID is set.
type NoticeFilter struct {
	HolderKind  catalog.HolderKind
	HolderIndex string
	AfterAt     time.Time
	AfterID     string
	AfterSeq    int64
	Limit       int
}

// noticeCursor is the cursor of the page after n.
func noticeCursor(n Notice) string {
	return strconv.FormatInt(n.At.UnixMicro(), 10) + "|" + n.LicenseID + "|" + strconv.FormatInt(n.Seq, 10)
}

// HolderInbox returns a page of the notices of the licenses the actor
// holds, newest first. Each license named on the page is logged as read
// (what: inbox), in the transaction that read the page.
func (s *Service) HolderInbox(ctx context.Context, actor *authz.Actor, limit int, cursor string) (page.Page[Notice], error) {
	h, err := holderOf(actor)
	if err != nil {
		return page.Page[Notice]{}, err
	}
	var p page.Page[Notice]
	err = s.tx(ctx, func(st Tx) (err error) {
		p, err = page.Fetch(limit, cursor, func(limit int, after string) ([]Notice, error) {
			f := NoticeFilter{HolderKind: catalog.HolderKind(h.Kind), HolderIndex: h.Index, Limit: limit}
			if after != "" {
				at, rest, _ := strings.Cut(after, "|")
				id, seq, _ := strings.Cut(rest, "|")
				us, err1 := strconv.ParseInt(at, 10, 64)
				n, err2 := strconv.ParseInt(seq, 10, 64)
				if err1 != nil || err2 != nil || id == "" {
					return nil, fieldErr(apperr.Invalid, "cursor", "cursor", "not a cursor this API returned")
				}
				f.AfterAt, f.AfterID, f.AfterSeq = time.UnixMicro(us).UTC(), id, n
			}
			return st.HolderNotices(ctx, f)
		}, noticeCursor)
		if err != nil {
			return err
		}
		logged := map[string]bool{}
		for _, n := range p.Items {
			if logged[n.LicenseID] {
				continue
			}
			logged[n.LicenseID] = true
			if err := s.logHolderRead(ctx, st, h, License{ID: n.LicenseID, Issuer: n.Issuer}, "inbox"); err != nil {
				return err
			}
		}
		return nil
	})
	return p, err
}
