package license

import (
	"context"
	"strconv"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/codec/vc"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// ExportFormat is the form a license is exported in.
type ExportFormat string

// The export formats.
const (
	// ExportDocument is the signed license document as stored
	// (docs/license-format.md).
	ExportDocument ExportFormat = "document"
	// ExportVC is the W3C Verifiable Credential 2.0 of the current
	// version, signed by the platform (docs/vc.md).
	ExportVC ExportFormat = "vc"
)

// ExportFormats lists the export formats.
func ExportFormats() []ExportFormat { return []ExportFormat{ExportDocument, ExportVC} }

// ExportedAction is the audit action of an export.
const ExportedAction = "license.exported"

// ExportVC returns the current version of a license of the actor's
// organization as a signed W3C Verifiable Credential (see Export).
func (s *Service) ExportVC(ctx context.Context, actor *authz.Actor, id string) ([]byte, error) {
	return s.Export(ctx, actor, id, ExportVC)
}

// Export returns the current version of a license of the actor's
// organization in format: the signed document as stored, or that document
// as a Verifiable Credential with a Data Integrity proof of the platform's
// credential signer (Deps.CredentialSigner). An export hands the license's
// data out of the platform, so it is recorded: the license is re-read, and
// the license.exported audit entry appended, in one transaction, and a
// credential is signed in it after the entry, so that no credential exists
// whose export the log does not show. Only an issuer of the license's
// issuing organization exports it; another organization's license is
// NotFound, as in Get.
func (s *Service) Export(ctx context.Context, actor *authz.Actor, id string, format ExportFormat) ([]byte, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return nil, err
	}
	if format != ExportDocument && format != ExportVC {
		return nil, fieldErr(apperr.Invalid, "format", "enum", "the export format is document or vc")
	}
	// The signer is taken before the transaction: on first use it makes
	// the platform's key in a transaction of its own, which SQLite could
	// not open beside this one.
	var sign credentialSigner
	if format == ExportVC {
		if sign, err = s.credentialSigner(ctx); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	var out []byte
	err = s.tx(ctx, func(st Tx) error {
		l, err := ownLicense(ctx, st, issuer, id)
		if err != nil {
			return err
		}
		doc, err := st.LicenseDocument(ctx, l.ID, l.Version)
		if err != nil {
			return err
		}
		details := map[string]string{"version": strconv.FormatInt(l.Version, 10), "format": string(format)}
		if sign.signer != nil {
			details["cryptosuite"], details["verification_method"] = sign.suite, sign.method
		}
		who := actor.AccountID
		if who == "" {
			who = auditlog.Operator
		}
		if err := auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: who, Org: issuer, Action: ExportedAction, Subject: l.ID,
			Details: details}); err != nil {
			return err
		}
		if format == ExportDocument {
			out = doc
			return nil
		}
		c, err := vc.New(doc, s.baseURL)
		if err != nil {
			return apperr.Wrap(apperr.Internal, err, "license %s version %d cannot be exported: %v", l.ID, l.Version, err)
		}
		out, err = vc.Secure(ctx, c, statuslist.ProofOptions{VerificationMethod: sign.method, Created: now}, sign.signer)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// credentialSigner is the platform's credential signer as one export
// uses it.
type credentialSigner struct {
	signer        keys.Signer
	method, suite string
}

func (s *Service) credentialSigner(ctx context.Context) (credentialSigner, error) {
	if s.signer == nil || s.baseURL == "" {
		return credentialSigner{}, apperr.New(apperr.Unavailable, "this platform exports no credentials: it has no credential signer")
	}
	signer, method, err := s.signer(ctx)
	if err != nil {
		return credentialSigner{}, err
	}
	suite, err := statuslist.SuiteFor(signer.Algorithm())
	if err != nil {
		return credentialSigner{}, apperr.Wrap(apperr.Internal, err, "the credential key cannot sign a Data Integrity proof: %v", err)
	}
	return credentialSigner{signer: signer, method: method, suite: suite}, nil
}
