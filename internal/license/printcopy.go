package license

import (
	"context"
	"strconv"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
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
// signature and the license's status bit. A license not in force
// (suspended, reported lost, ended or expired) is not printed. The license is re-read, the license.printed
// audit entry appended, the payload signed and the PDF rendered in one
// transaction, so a copy that cannot be rendered records nothing.
func (s *Service) Printout(ctx context.Context, actor *authz.Actor, id string, opts PrintOptions) ([]byte, error) {
	p, err := issuerPresenter(actor)
	if err != nil {
		return nil, err
	}
	return s.printout(ctx, p, id, opts)
}

// HolderPrintout is Printout by the license's holder (R-HOL-1): only a
// license the actor holds; another's, or none, is NotFound and the
// refusal is logged. The audit entry names the holder as actor.
func (s *Service) HolderPrintout(ctx context.Context, actor *authz.Actor, id string, opts PrintOptions) ([]byte, error) {
	p, err := holderPresenter(actor)
	if err != nil {
		return nil, err
	}
	return s.printout(ctx, p, id, opts)
}

// printout is Printout by by.
func (s *Service) printout(ctx context.Context, by presenter, id string, opts PrintOptions) ([]byte, error) {
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
		signed, err := s.presentIn(ctx, st, by, id, key, presentation{at: now, action: PrintedAction,
			expires: func(l License) time.Time {
				if l.ValidUntil != nil {
					return *l.ValidUntil
				}
				return now.Add(PrintedLifetime)
			},
			details: map[string]string{"masked": strconv.FormatBool(opts.Masked), "lang": lang}})
		if err != nil {
			return err
		}
		code, version := signed.Signed.Type.Code, int(signed.Signed.Type.Version)
		v, err := s.catalog.GetVersion(ctx, code, version)
		if err != nil {
			return err
		}
		t, err := s.catalog.GetType(ctx, code)
		if err != nil {
			return err
		}
		pdf, err = s.printer(ctx, PrintJob{Document: signed.Document, Template: v.Template, TypeName: t.Name, Masked: opts.Masked,
			Lang: lang, QR: signed.Payload})
		return err
	})
	if err != nil {
		return nil, s.presentRefused(ctx, by, "printout", id, err)
	}
	return pdf, nil
}
