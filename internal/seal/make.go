package seal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/pki"
)

// MakerKeyName is the platform key that signs seal structures as their
// maker (制章者).
const MakerKeyName = "seal-maker"

// maker returns the platform's seal-maker signer and certificate, making
// them on first use.
func (s *Service) maker(ctx context.Context) (keys.Signer, []byte, error) {
	platform, err := s.orgs.Platform(ctx)
	if err != nil {
		return nil, nil, err
	}
	k, err := s.keys.Ensure(ctx, keyring.NewKey{Org: platform.CreditCode, Name: MakerKeyName, Purpose: keyring.Seal, Algorithm: keys.SM2SM3})
	if err != nil {
		return nil, nil, err
	}
	cert, err := s.validCert(ctx, k.ID, pki.Issuer)
	if err != nil {
		return nil, nil, err
	}
	signer, _, err := s.keys.Signer(ctx, k.ID)
	if err != nil {
		return nil, nil, err
	}
	return signer, cert.DER, nil
}

// validCert returns a certificate of the key valid now, issuing one when
// there is none.
func (s *Service) validCert(ctx context.Context, keyID string, kind pki.Kind) (pki.Cert, error) {
	certs, err := s.pki.List(ctx, pki.Filter{KeyID: keyID, Kind: kind})
	if err != nil {
		return pki.Cert{}, err
	}
	now := s.now()
	for i := len(certs) - 1; i >= 0; i-- {
		c := certs[i]
		if c.RevokedAt == nil && !now.Before(c.NotBefore) && !now.After(c.NotAfter) {
			return c, nil
		}
	}
	return s.pki.Issue(ctx, pki.IssueRequest{KeyID: keyID, Kind: kind, CommonName: "zhengzhao 电子印章制作者"})
}

// filing is the record sent upstream when a seal is made (备案).
type filing struct {
	SealCode   string    `json:"seal_code"`
	Org        string    `json:"org"`
	Kind       Kind      `json:"kind"`
	Name       string    `json:"name"`
	CertSerial string    `json:"cert_serial"`
	ImageHash  string    `json:"image_hash"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidTo    time.Time `json:"valid_to"`
	Making     int       `json:"making"`
}

// make makes a seal for an approved make or change application in one
// transaction: a new key, its certificate from the platform root, the
// GB/T 38540 seal structure signed by the platform as maker, the seal, its
// making, its event, the decided application and the filing record. The
// key and the signatures are made inside that transaction, after the
// rows they belong to are written, so nothing is kept or signed that the
// store does not account for. A change also cancels the old seal and
// revokes its certificate in that transaction.
func (s *Service) make(ctx context.Context, a Application, replaces string) (Seal, error) {
	o, err := s.orgs.GetOrg(ctx, a.Org)
	if err != nil {
		return Seal{}, err
	}
	img, err := CheckImage(a.Image, a.WidthMM, a.HeightMM)
	if err != nil {
		return Seal{}, err
	}
	seq, err := s.store.NextSealSeq(ctx, a.Org, a.SealKind)
	if err != nil {
		return Seal{}, err
	}
	code, err := ids.NewSealCode(o.Region, o.CreditCode, a.SealKind.Code(), seq)
	if err != nil {
		return Seal{}, apperr.Wrap(apperr.Conflict, err, "no seal code left for kind %s of %s", a.SealKind, a.Org)
	}
	m, err := s.makers(ctx)
	if err != nil {
		return Seal{}, err
	}
	k, err := s.keys.Prepare(ctx, keyring.NewKey{Org: a.Org, Name: "seal-" + strings.ToLower(code), Purpose: keyring.Seal, Algorithm: keys.SM2SM3})
	if err != nil {
		return Seal{}, err
	}
	a.SealID = code
	var x Seal
	err = s.tx(ctx, func(st Tx) error {
		now := s.now()
		if replaces != "" {
			old, err := sealOf(ctx, st, a.Org, replaces, "seal_id", applyStates[Change]...)
			if err != nil {
				return err
			}
			old.State, old.Version, old.UpdatedAt = Cancelled, old.Version+1, now
			if err := st.UpdateSeal(ctx, old); err != nil {
				return err
			}
			if err := s.revoke(ctx, st, old, ca.ReasonSuperseded); err != nil {
				return err
			}
			if err := s.endBindings(ctx, st, old, a.Approver, "seal replaced by "+code, a.ID); err != nil {
				return err
			}
			if err := s.event(ctx, st, old, a.Approver, "changed", "replaced by "+code+": "+a.Reason, a.ID); err != nil {
				return err
			}
		}
		if a.Action == Make {
			// Another approval may have made a seal of this kind since the
			// application was filed without a justification.
			if err := secondSeal(ctx, st, a.Org, a.SealKind, a.Justification); err != nil {
				return err
			}
		}
		if err := k.Insert(ctx, st); err != nil {
			return err
		}
		cert, structure, err := m.certify(ctx, st, k.Key, code, a.Name, a.SealKind, img, now)
		if err != nil {
			return err
		}
		x = Seal{ID: code, Org: a.Org, Kind: a.SealKind, Seq: seq, Name: a.Name, State: Active, KeyID: k.Key.ID,
			CertFingerprint: cert.Fingerprint, ValidFrom: cert.NotBefore, ValidTo: cert.NotAfter, Image: img, Structure: structure,
			Keepers: a.Keepers, Policy: a.Policy, FilingState: FilingQueued, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := st.InsertSeal(ctx, x); err != nil {
			if errors.Is(err, apperr.Conflict) {
				return apperr.New(apperr.Conflict, "another seal of this kind was made at the same moment; approve again")
			}
			return err
		}
		if err := st.InsertMaking(ctx, Making{SealID: code, N: 1, CertFingerprint: cert.Fingerprint, Structure: structure,
			ValidFrom: x.ValidFrom, ValidTo: x.ValidTo, ApplicationID: a.ID, CreatedAt: now}); err != nil {
			return err
		}
		if err := s.event(ctx, st, x, a.Approver, "made", a.Reason, a.ID); err != nil {
			return err
		}
		if err := st.DecideApplication(ctx, a); err != nil {
			return err
		}
		return s.file(ctx, st, x, cert, 1)
	})
	if err != nil {
		return Seal{}, err
	}
	return x, nil
}

// revoke revokes a seal's certificate in the caller's transaction; one
// revoked already stays as it was.
func (s *Service) revoke(ctx context.Context, st Tx, x Seal, reason int) error {
	if err := pki.RevokeIn(ctx, st, x.CertFingerprint, x.Org, s.now(), reason); err != nil && !errors.Is(err, apperr.Conflict) {
		return err
	}
	return nil
}

// makers holds what certifying a seal needs from outside the seal's
// transaction: the platform root that certifies the seal's key and the
// platform's seal-maker key that signs the seal structure.
type makers struct {
	authority *pki.Authority
	makerSig  keys.Signer
	makerCert []byte
	validity  time.Duration
	vendorID  string
}

func (s *Service) makers(ctx context.Context) (makers, error) {
	makerSigner, makerCert, err := s.maker(ctx)
	if err != nil {
		return makers{}, err
	}
	authority, err := s.pki.Authority(ctx)
	if err != nil {
		return makers{}, err
	}
	return makers{authority: authority, makerSig: makerSigner, makerCert: makerCert, validity: s.cfg.Validity, vendorID: s.cfg.VendorID}, nil
}

// certify issues a certificate for the seal key k valid from now, stores it
// through st and signs the GB/T 38540 seal structure naming it.
func (m makers) certify(ctx context.Context, st Tx, k keyring.Key, code, name string, kind Kind, img Image, now time.Time) (pki.Cert, []byte, error) {
	cert, err := m.authority.Issue(k, pki.IssueRequest{Kind: pki.Seal, CommonName: name, NotBefore: now, NotAfter: now.Add(m.validity)})
	if err != nil {
		return pki.Cert{}, nil, err
	}
	if err := pki.Insert(ctx, st, cert, k.Org); err != nil {
		return pki.Cert{}, nil, err
	}
	sealType := int64(1) // organization seal
	if kind.Personal() {
		sealType = 2 // personal name seal
	}
	info := ses.SealInfo{
		Header: ses.Header{ID: "ES", Version: 4, VendorID: m.vendorID},
		ID:     code,
		Property: ses.PropertyInfo{Type: sealType, Name: name, CertListType: 1, Certs: [][]byte{cert.DER},
			Created: now, ValidFrom: cert.NotBefore, ValidTo: cert.NotAfter},
		Picture: ses.Picture{Type: string(img.Format), Data: img.Data, Width: int64(img.WidthMM), Height: int64(img.HeightMM)},
	}
	_, der, err := ses.MakeSeal(ctx, info, m.makerCert, m.makerSig)
	if err != nil {
		return pki.Cert{}, nil, fmt.Errorf("make seal structure: %w", err)
	}
	return cert, der, nil
}

// file queues the filing record of a making in the outbox.
func (s *Service) file(ctx context.Context, st Tx, x Seal, cert pki.Cert, n int) error {
	payload, err := json.Marshal(filing{SealCode: x.ID, Org: x.Org, Kind: x.Kind, Name: x.Name, CertSerial: cert.Serial,
		ImageHash: x.Image.Hash, ValidFrom: x.ValidFrom, ValidTo: x.ValidTo, Making: n})
	if err != nil {
		return err
	}
	id, err := s.newID("obx")
	if err != nil {
		return err
	}
	return st.InsertOutbox(ctx, id, TopicFiling, payload, s.now())
}

// renew issues a new certificate and seal structure for a seal whose
// certificate expires within the renewal window (R-SEAL-3), in one
// transaction with the new making and the filing record.
func (s *Service) renew(ctx context.Context, a Application) error {
	x, err := s.GetSeal(ctx, a.SealID)
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.renewable(x, now); err != nil {
		return err
	}
	k, err := s.keys.Get(ctx, x.KeyID)
	if err != nil {
		return err
	}
	m, err := s.makers(ctx)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(st Tx) error {
		// The seal as it is now decides: it may have been suspended,
		// cancelled, changed or renewed since the application was filed.
		cur, err := sealOf(ctx, st, a.Org, x.ID, "seal_id", applyStates[Renew]...)
		if err != nil {
			return err
		}
		if err := s.renewable(cur, now); err != nil {
			return err
		}
		if cur.KeyID != k.ID {
			return apperr.New(apperr.Conflict, "seal %s changed its key meanwhile", cur.ID)
		}
		makings, err := st.ListMakings(ctx, x.ID)
		if err != nil {
			return err
		}
		cert, structure, err := m.certify(ctx, st, k, cur.ID, cur.Name, cur.Kind, cur.Image, now)
		if err != nil {
			return err
		}
		cur.CertFingerprint, cur.ValidFrom, cur.ValidTo, cur.Structure = cert.Fingerprint, cert.NotBefore, cert.NotAfter, structure
		n := len(makings) + 1
		if err := st.InsertMaking(ctx, Making{SealID: x.ID, N: n, CertFingerprint: cert.Fingerprint, Structure: structure,
			ValidFrom: cert.NotBefore, ValidTo: cert.NotAfter, ApplicationID: a.ID, CreatedAt: now}); err != nil {
			return err
		}
		cur.FilingState = FilingQueued
		if err := s.commitChange(ctx, st, a, cur, "renewed"); err != nil {
			return err
		}
		return s.file(ctx, st, cur, cert, n)
	})
}

// renewable refuses a renewal outside the window before expiry (R-SEAL-3).
func (s *Service) renewable(x Seal, now time.Time) error {
	if opens := x.ValidTo.Add(-s.cfg.RenewalWindow); now.Before(opens) || now.After(x.ValidTo) {
		return &apperr.Error{Kind: apperr.Conflict,
			Detail: fmt.Sprintf("renewal is possible from %s until the certificate expires at %s", opens.Format(time.RFC3339), x.ValidTo.Format(time.RFC3339)),
			Fields: []apperr.FieldError{{Field: "seal_id", Rule: "renewal-window", Detail: fmt.Sprintf("renewal is allowed in the %s before expiry", s.cfg.RenewalWindow)}}}
	}
	return nil
}
