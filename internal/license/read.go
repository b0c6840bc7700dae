package license

import (
	"context"
	"strconv"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// ReadAction is the audit action of an issuer reading license data.
const ReadAction = "license.read"

// own returns a license of the actor's organization, unlogged: for the
// service's own decisions (a hint before a transaction), never for an
// answer. A license of another organization is NotFound, as one that does
// not exist: its existence is not the caller's business.
func (s *Service) own(ctx context.Context, actor *authz.Actor, id string) (License, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return License{}, err
	}
	return ownLicense(ctx, s.store, issuer, id)
}

// read runs fn on the actor's organization's license id as one
// transaction sees it and records the access in that transaction (R-SEC-2:
// every access to license data is logged with it); what says what was
// read.
func (s *Service) read(ctx context.Context, actor *authz.Actor, id, what string, fn func(st Tx, l License) error) (License, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return License{}, err
	}
	var out License
	err = s.tx(ctx, func(st Tx) error {
		l, err := ownLicense(ctx, st, issuer, id)
		if err != nil {
			return err
		}
		if fn != nil {
			if err := fn(st, l); err != nil {
				return err
			}
		}
		out = l
		return s.logRead(ctx, st, actor, l.ID, what)
	})
	return out, err
}

// logRead appends the audit entry of actor reading what of license id.
func (s *Service) logRead(ctx context.Context, st Tx, actor *authz.Actor, id, what string) error {
	return auditlog.Append(ctx, st, auditlog.Entry{At: s.now(), Actor: actor.AccountID, Org: actor.Org, Action: ReadAction, Subject: id,
		Details: map[string]string{"what": what}})
}

// Get returns a license of the actor's organization; the read is logged.
// A license of another organization is NotFound, as one that does not
// exist.
func (s *Service) Get(ctx context.Context, actor *authz.Actor, id string) (License, error) {
	return s.read(ctx, actor, id, "license", nil)
}

// Document returns the signed document of the current version of a
// license of the actor's organization; the read is logged.
func (s *Service) Document(ctx context.Context, actor *authz.Actor, id string) ([]byte, error) {
	return documentVia(ctx, s.read, actor, id, 0)
}

// VersionDocument returns the signed document of a version of a license of
// the actor's organization: superseded versions stay readable. The read is
// logged.
func (s *Service) VersionDocument(ctx context.Context, actor *authz.Actor, id string, version int64) ([]byte, error) {
	if version < 1 {
		return nil, apperr.New(apperr.NotFound, "license %s has no version %d", id, version)
	}
	return documentVia(ctx, s.read, actor, id, version)
}

// History returns a page of the transitions of a license of the actor's
// organization, oldest first; the read is logged.
func (s *Service) History(ctx context.Context, actor *authz.Actor, id string, limit int, cursor string) (page.Page[Record], error) {
	return s.historyVia(ctx, s.read, actor, id, limit, cursor)
}

// reader reads license id for actor in one transaction, runs fn on it
// there and logs the read: Service.read for issuers, Service.holderRead
// for holders.
type reader func(ctx context.Context, actor *authz.Actor, id, what string, fn func(st Tx, l License) error) (License, error)

// documentVia returns, through read, the signed document of a version of
// license id: the current one when version is 0.
func documentVia(ctx context.Context, read reader, actor *authz.Actor, id string, version int64) ([]byte, error) {
	what := "document"
	if version != 0 {
		what += " v" + strconv.FormatInt(version, 10)
	}
	var doc []byte
	_, err := read(ctx, actor, id, what, func(st Tx, l License) (err error) {
		v := version
		if v == 0 {
			v = l.Version
		}
		if v < 1 || v > l.Version {
			return apperr.New(apperr.NotFound, "license %s has no version %d", l.ID, version)
		}
		doc, err = st.LicenseDocument(ctx, l.ID, v)
		return err
	})
	return doc, err
}

// historyVia returns, through read, a page of the transitions of license
// id, oldest first.
func (s *Service) historyVia(ctx context.Context, read reader, actor *authz.Actor, id string, limit int, cursor string) (page.Page[Record], error) {
	var p page.Page[Record]
	_, err := read(ctx, actor, id, "history", func(st Tx, l License) (err error) {
		p, err = s.historyPage(ctx, st, l.ID, limit, cursor)
		return err
	})
	return p, err
}

// historyPage reads a page of the transitions of license id in st.
func (s *Service) historyPage(ctx context.Context, st Tx, id string, limit int, cursor string) (page.Page[Record], error) {
	return page.Fetch(limit, cursor, func(limit int, after string) ([]Record, error) {
		f := HistoryFilter{LicenseID: id, Limit: limit}
		if after != "" {
			var err error
			if f.After, err = strconv.ParseInt(after, 10, 64); err != nil {
				return nil, fieldErr(apperr.Invalid, "cursor", "cursor", "not a cursor this API returned")
			}
		}
		return st.LicenseTransitions(ctx, f)
	}, func(r Record) string { return strconv.FormatInt(r.Seq, 10) })
}

// List returns one page of the actor's organization's licenses; f.Issuer
// is set to it. f.Holder is normalized as the holder kind of the type
// would be: upper case, without surrounding white space. Each license on
// the page is logged as read, in the transaction that read it.
func (s *Service) List(ctx context.Context, actor *authz.Actor, f Filter, cursor string) (page.Page[License], error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return page.Page[License]{}, err
	}
	f.Issuer = issuer
	f.Holder = strings.ToUpper(strings.TrimSpace(f.Holder))
	return s.listLogged(ctx, f, cursor, func(st Tx, l License) error { return s.logRead(ctx, st, actor, l.ID, "list") })
}

// listLogged returns one page of the licenses f selects and logs each
// with logRead, in the transaction that read the page.
func (s *Service) listLogged(ctx context.Context, f Filter, cursor string, logRead func(st Tx, l License) error) (page.Page[License], error) {
	var p page.Page[License]
	err := s.tx(ctx, func(st Tx) (err error) {
		p, err = page.Fetch(f.Limit, cursor, func(limit int, after string) ([]License, error) {
			f.Limit, f.After = limit, after
			return st.ListLicenses(ctx, f)
		}, func(l License) string { return l.ID })
		if err != nil {
			return err
		}
		for _, l := range p.Items {
			if err := logRead(st, l); err != nil {
				return err
			}
		}
		return nil
	})
	return p, err
}
