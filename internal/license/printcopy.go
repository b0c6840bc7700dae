package license

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
)

// PrintedAction is the audit action of a printed copy.
const PrintedAction = "license.printed"

// PrintedLifetime is how long the QR payload of a printed copy of a
// license without an end is valid: paper lasts, and the status lists, not
// the payload's expiry, tell a verifier that the license ended. A license
// with an end gets a payload valid until that end.
const PrintedLifetime = 10 * 365 * 24 * time.Hour

// The languages of a printed copy.
const (
	PrintLangZH = "zh-CN"
	PrintLangEN = "en"
)

// PrintOptions are the choices of a printed copy: masked (personal and
// sensitive fields under their masking rules, the signed document not
// attached) and the page's language (PrintLangZH when "").
type PrintOptions struct {
	Masked bool
	Lang   string
}

// PrintJob is what a printed copy shows: the signed document (its face,
// its seal's picture, the attachment), the template it was issued under,
// the type's name, the choices, and the QR payload that verifies it.
type PrintJob struct {
	Document []byte
	Template catalog.Template
	TypeName catalog.Label
	Masked   bool
	Lang     string
	QR       string
}

// Printer renders a printed copy as a PDF (internal/printout).
type Printer func(ctx context.Context, job PrintJob) ([]byte, error)

// Printout renders the printable copy of the current version of a license
// (R-HOL-1, R-INT-3) as a PDF: the face, the issuing seal's picture, and
// a QR code whose payload is a presentation (docs/qr-format.md) signed by
// the presentation key like any other, disclosing no face field (the page
// shows them) and valid until the license's end, or for PrintedLifetime
// when it has none — so verify-qr and the verifier page check the paper's
// signature and the license's status bit. A license that has ended or
// expired is not printed. The license is re-read, the license.printed
// audit entry appended, the payload signed and the PDF rendered in one
// transaction, so a copy that cannot be rendered records nothing.
func (s *Service) Printout(ctx context.Context, actor *authz.Actor, id string, opts PrintOptions) ([]byte, error) {
	owner, err := presenterOf(actor)
	if err != nil {
		return nil, err
	}
	lang := opts.Lang
	switch lang {
	case "":
		lang = PrintLangZH
	case PrintLangZH, PrintLangEN:
	default:
		return nil, fieldErr(apperr.Invalid, "lang", "one-of", "a printed copy is in zh-CN or en")
	}
	if s.presenter == nil || s.baseURL == "" || s.printer == nil {
		return nil, apperr.New(apperr.Unavailable, "this platform prints no licenses: it has no presentation key or no printer")
	}
	// Taken before the transaction, as Present does: on first use it
	// makes the key in a transaction of its own.
	key, err := s.presenter(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Second)
	var pdf []byte
	err = s.tx(ctx, func(st Tx) error {
		l, err := ownLicense(ctx, st, owner, id)
		if err != nil {
			return err
		}
		if err := presentable(l, now); err != nil {
			return err
		}
		raw, err := st.LicenseDocument(ctx, l.ID, l.Version)
		if err != nil {
			return err
		}
		d, err := codec.Decode(raw)
		if err != nil {
			return apperr.Wrap(apperr.Internal, err, "license %s version %d: %v", l.ID, l.Version, err)
		}
		claims, err := s.claims(ctx, d.License, nil)
		if err != nil {
			return err
		}
		claims.IssuedAt, claims.Expires = now, now.Add(PrintedLifetime)
		if l.ValidUntil != nil {
			claims.Expires = l.ValidUntil.UTC().Truncate(time.Second)
		}
		if _, err := rand.Read(claims.Nonce[:]); err != nil {
			return fmt.Errorf("printed copy nonce: %w", err)
		}
		who := actor.AccountID
		if who == "" {
			who = auditlog.Operator
		}
		if err := auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: who, Org: owner, Action: PrintedAction, Subject: l.ID,
			Details: map[string]string{"version": strconv.FormatInt(l.Version, 10), "kid": fmt.Sprintf("%x", key.KID),
				"masked": strconv.FormatBool(opts.Masked), "lang": lang, "expires": claims.Expires.Format(time.RFC3339)}}); err != nil {
			return err
		}
		payload, err := qr.Encode(ctx, claims, key.Signer, key.KID)
		if err != nil {
			return apperr.Wrap(apperr.Internal, err, "license %s cannot be printed: %v", l.ID, err)
		}
		v, err := s.catalog.GetVersion(ctx, d.License.Type.Code, int(d.License.Type.Version))
		if err != nil {
			return err
		}
		t, err := s.catalog.GetType(ctx, d.License.Type.Code)
		if err != nil {
			return err
		}
		pdf, err = s.printer(ctx, PrintJob{Document: raw, Template: v.Template, TypeName: t.Name, Masked: opts.Masked, Lang: lang, QR: payload})
		return err
	})
	if err != nil {
		return nil, err
	}
	return pdf, nil
}
