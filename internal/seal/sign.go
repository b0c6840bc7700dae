package seal

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/verify"
)

// SignInput is what stamping a document takes.
type SignInput struct {
	RequestID    string
	PIN          string
	Document     []byte // the document; or
	Digest       []byte // its SM3 digest, when the document stays with the caller
	PropertyInfo string // GB/T 38540 propertyInfo, e.g. the OFD signature path
	Title        string // for the archive
	Archive      bool   // keep the document (when given) with the use record
	CMS          bool   // also make a detached CMS (GM/T 0010) signature
}

// Signed is a stamped document's signatures and its use record.
type Signed struct {
	Use       Use
	Signature []byte // SES_Signature, DER
	CMS       []byte // detached CMS SignedData, DER; nil unless asked for
}

// Sign stamps a document with a seal (签章, R-SEAL-6). Only a keeper may,
// with the seal's PIN, under an approved use request naming the same
// document. The signature is released only once its use record and the
// spent request are committed: there is no signature without its record and
// no record without a signature.
func (s *Service) Sign(ctx context.Context, actor *authz.Actor, sealID string, in SignInput) (Signed, error) {
	x, err := s.GetSeal(ctx, sealID)
	if err != nil {
		return Signed{}, err
	}
	if err := keeperOf(actor, x); err != nil {
		return Signed{}, err
	}
	digest, err := documentDigest(in)
	if err != nil {
		return Signed{}, err
	}
	now := s.now()
	switch {
	case x.State != Active:
		return Signed{}, apperr.New(apperr.Conflict, "seal %s is %s and cannot sign", x.ID, x.State)
	case !s.ValidNow(x):
		return Signed{}, apperr.New(apperr.Conflict, "seal %s is valid from %s to %s", x.ID, x.ValidFrom, x.ValidTo)
	}
	r, err := s.GetUseRequest(ctx, in.RequestID)
	if errors.Is(err, apperr.NotFound) {
		return Signed{}, fieldErr(apperr.Invalid, "request_id", "exists", "no such use request")
	}
	if err != nil {
		return Signed{}, err
	}
	switch {
	case r.SealID != x.ID:
		return Signed{}, fieldErr(apperr.Invalid, "request_id", "same-seal", "the use request is for another seal")
	case r.Status != UseApproved:
		return Signed{}, fieldErr(apperr.Conflict, "request_id", "approved", fmt.Sprintf("the use request is %s, not approved", r.Status))
	case r.DocHash != hex.EncodeToString(digest):
		return Signed{}, fieldErr(apperr.Invalid, "document", "same-document", "the document is not the one the use request names")
	}
	proven, err := s.tryPIN(ctx, x.ID, in.PIN, "pin")
	if err != nil {
		return Signed{}, err
	}
	done := false
	defer func() {
		if !done {
			s.forgiveTry(ctx, x.ID, proven)
		}
	}()

	sg, err := s.stamp(ctx, nil, x, digest, now, in.PropertyInfo)
	if err != nil {
		return Signed{}, err
	}
	cert, signer, sigDER := sg.cert, sg.signer, sg.signature
	var cms []byte
	if in.CMS {
		if cms, err = detachedCMS(digest, cert.DER, signer); err != nil {
			return Signed{}, err
		}
	}
	useID, err := s.newID("use")
	if err != nil {
		return Signed{}, err
	}
	use := Use{ID: useID, SealID: x.ID, Kind: UseByRequest, RequestID: r.ID, DocHash: r.DocHash, Signer: actor.AccountID, SignedAt: now,
		CertFingerprint: cert.Fingerprint, Signature: sigDER}
	err = s.tx(ctx, func(st Tx) error {
		// The seal as it is now decides, not as it was read before the
		// PIN was evaluated: it may have been locked, suspended, cancelled
		// or renewed meanwhile.
		cur, err := keptSeal(ctx, st, actor, x.ID)
		if err != nil {
			return err
		}
		switch {
		case cur.State != Active:
			return apperr.New(apperr.Conflict, "seal %s is %s and cannot sign", cur.ID, cur.State)
		case !s.ValidNow(cur):
			return apperr.New(apperr.Conflict, "seal %s is valid from %s to %s", cur.ID, cur.ValidFrom, cur.ValidTo)
		case cur.CertFingerprint != x.CertFingerprint || cur.KeyID != x.KeyID:
			return apperr.New(apperr.Conflict, "seal %s was renewed meanwhile; sign again", cur.ID)
		}
		if err := provenPIN(&cur, proven); err != nil {
			return err
		}
		cur.Version++
		cur.UpdatedAt = now
		if err := st.UpdateSeal(ctx, cur); err != nil {
			return err
		}
		spent := r
		spent.Status = UseUsed
		if err := st.UpdateUseRequest(ctx, spent, UseApproved); err != nil {
			return err
		}
		if err := st.InsertUse(ctx, use); err != nil {
			return err
		}
		if in.Archive {
			id, err := s.newID("arc")
			if err != nil {
				return err
			}
			title := in.Title
			if title == "" {
				title = r.Title
			}
			if err := st.InsertArchive(ctx, id, use.ID, use.DocHash, title, in.Document, now); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, st, actor.AccountID, "seal.sign", x, map[string]string{
			"use": use.ID, "request": r.ID, "doc_hash": use.DocHash, "certificate": use.CertFingerprint,
		}); err != nil {
			return err
		}
		id, err := s.newID("obx")
		if err != nil {
			return err
		}
		// JSON by encoding/json: Go's %q escapes are not JSON's.
		payload, err := json.Marshal(struct {
			UseID   string    `json:"use_id"`
			Seal    string    `json:"seal"`
			DocHash string    `json:"doc_hash"`
			Signer  string    `json:"signer"`
			At      time.Time `json:"at"`
		}{use.ID, x.ID, use.DocHash, use.Signer, now})
		if err != nil {
			return err
		}
		return st.InsertOutbox(ctx, id, "seal.used", payload, now)
	})
	if err != nil {
		return Signed{}, err
	}
	done = true
	return Signed{Use: use, Signature: sigDER, CMS: cms}, nil
}

// stamped is a GB/T 38540 signature made with a seal, with the key and
// certificate that made it.
type stamped struct {
	signature []byte // SES_Signature, DER
	cert      pki.Cert
	signer    keys.Signer
}

// stamp makes the GB/T 38540 SES_Signature of seal x over an SM3 digest at
// now, with the seal's key and current certificate: the signing shared by
// Sign (a keeper with the PIN) and SignBound (a bound service). The caller
// has decided that the seal may sign; stamp only refuses a seal whose
// structure no longer verifies.
func (s *Service) stamp(ctx context.Context, r MaterialReader, x Seal, digest []byte, now time.Time, property string) (stamped, error) {
	sp, err := s.stamper(ctx, r, x, now)
	if err != nil {
		return stamped{}, err
	}
	return sp.sign(ctx, digest, property)
}

// sealStamper signs for one seal at one time: its key and certificate
// loaded and the structure checked once, for one signature or many.
type sealStamper struct {
	x      Seal
	st     *ses.Stamper
	cert   pki.Cert
	signer keys.Signer
}

// stamper loads seal x's key and current certificate through r and checks
// its structure for signing at now: everything stamp does before it signs.
func (s *Service) stamper(ctx context.Context, r MaterialReader, x Seal, now time.Time) (sealStamper, error) {
	signer, cert, err := s.material(ctx, r, x)
	if err != nil {
		return sealStamper{}, err
	}
	sealStruct, err := ses.ParseSeal(x.Structure)
	if err != nil {
		return sealStamper{}, fmt.Errorf("seal %s structure: %w", x.ID, err)
	}
	// A signature under a structure whose maker certificate is revoked
	// would verify nowhere; refuse it rather than release it.
	if maker, err := s.cert(ctx, r, verify.Fingerprint(sealStruct.MakerCert)); err != nil && !errors.Is(err, apperr.NotFound) {
		return sealStamper{}, err
	} else if err == nil && maker.RevokedAt != nil {
		return sealStamper{}, apperr.New(apperr.Conflict, "the seal-maker certificate of seal %s was revoked; apply for a change of the seal (a remade seal) to sign again", x.ID)
	}
	st, err := ses.NewStamper(sealStruct, now, cert.DER, signer)
	if err != nil {
		return sealStamper{}, fmt.Errorf("sign with seal %s: %w", x.ID, err)
	}
	return sealStamper{x: x, st: st, cert: cert, signer: signer}, nil
}

// sign makes the SES_Signature over an SM3 digest.
func (sp sealStamper) sign(ctx context.Context, digest []byte, property string) (stamped, error) {
	_, sigDER, err := sp.st.Sign(ctx, digest, propertyInfo(property))
	if err != nil {
		return stamped{}, fmt.Errorf("sign with seal %s: %w", sp.x.ID, err)
	}
	return stamped{signature: sigDER, cert: sp.cert, signer: sp.signer}, nil
}

// MaterialReader is what signing reads the seal's key and certificates
// through when it signs inside a transaction: the transaction itself, so
// that it does not wait for a second connection of the pool, which a pool
// full of such transactions would never give.
type MaterialReader interface {
	keyring.KeyReader
	GetCert(ctx context.Context, ref string) (pki.Cert, error)
}

// material loads the signer and the certificate of seal x through r, or
// through the key ring and the CA when r is nil (signing outside a
// transaction).
func (s *Service) material(ctx context.Context, r MaterialReader, x Seal) (keys.Signer, pki.Cert, error) {
	var signer keys.Signer
	var err error
	if r == nil {
		signer, _, err = s.keys.Signer(ctx, x.KeyID)
	} else {
		signer, _, err = s.keys.SignerVia(ctx, r, x.KeyID)
	}
	if err != nil {
		return nil, pki.Cert{}, err
	}
	cert, err := s.cert(ctx, r, x.CertFingerprint)
	return signer, cert, err
}

// cert reads a certificate through r, or through the CA when r is nil.
func (s *Service) cert(ctx context.Context, r MaterialReader, ref string) (pki.Cert, error) {
	if r == nil {
		return s.pki.Get(ctx, ref)
	}
	return r.GetCert(ctx, ref)
}

func propertyInfo(p string) string {
	if p == "" {
		return "zhengzhao"
	}
	return p
}

// documentDigest returns the SM3 digest the signature covers.
func documentDigest(in SignInput) ([]byte, error) {
	switch {
	case in.Document != nil && in.Digest != nil:
		return nil, fieldErr(apperr.Invalid, "document", "one-of", "give the document or its digest, not both")
	case in.Document != nil:
		h := sm3.Sum(in.Document)
		return h[:], nil
	case len(in.Digest) == sm3.Size:
		return in.Digest, nil
	case in.Digest != nil:
		return nil, fieldErr(apperr.Invalid, "digest", "sm3", "an SM3 digest is 32 bytes")
	}
	return nil, fieldErr(apperr.Invalid, "document", "required", "the document or its SM3 digest is required")
}

// detachedCMS makes a detached CMS SignedData over the digest with the seal
// key, for tools that expect GM/T 0010 / PKCS#7 signatures.
func detachedCMS(digest, certDER []byte, signer any) ([]byte, error) {
	cs, ok := signer.(interface{ CryptoSigner() crypto.Signer })
	if !ok {
		return nil, apperr.New(apperr.Invalid, "this seal's key cannot make CMS signatures")
	}
	cert, err := ca.ParseDER(certDER)
	if err != nil {
		return nil, err
	}
	sd, err := pkcs7.NewSMSignedDataWithDigest(digest)
	if err != nil {
		return nil, fmt.Errorf("CMS: %w", err)
	}
	if err := sd.AddSigner(cert, cs.CryptoSigner(), pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("CMS: %w", err)
	}
	sd.Detach()
	return sd.Finish()
}

func fieldErr(kind apperr.Kind, field, rule, detail string) error {
	return &apperr.Error{Kind: kind, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}
