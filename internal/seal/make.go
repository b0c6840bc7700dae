package seal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"zhengzhao/internal/apperr"
	"zhengzhao/internal/ids"
	"zhengzhao/internal/keys"
	"zhengzhao/internal/keys/keyring"
	"zhengzhao/internal/keys/pki"
	"zhengzhao/internal/seal/ses"
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
	k, err := s.keys.Resolve(ctx, platform.CreditCode, MakerKeyName)
	if errors.Is(err, apperr.NotFound) {
		k, err = s.keys.Create(ctx, keyring.NewKey{Org: platform.CreditCode, Name: MakerKeyName, Purpose: keyring.Seal, Algorithm: keys.SM2SM3})
		if errors.Is(err, apperr.Conflict) { // made meanwhile by another process
			k, err = s.keys.Resolve(ctx, platform.CreditCode, MakerKeyName)
		}
	}
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

// make makes a seal for an approved make or change application: a new key,
// a certificate from the platform root, the GB/T 38540 seal structure signed
// by the platform as maker, then one transaction that stores the seal, its
// making, its event, the decided application and the filing record. A
// change also cancels the old seal in that transaction.
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
	k, err := s.keys.Create(ctx, keyring.NewKey{Org: a.Org, Name: "seal-" + strings.ToLower(code), Purpose: keyring.Seal, Algorithm: keys.SM2SM3})
	if err != nil {
		return Seal{}, err
	}
	now := s.now()
	cert, err := s.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Seal, CommonName: a.Name, NotBefore: now, NotAfter: now.Add(s.cfg.Validity)})
	if err != nil {
		return Seal{}, err
	}
	structure, err := s.structure(ctx, code, a.Name, a.SealKind, img, cert, now)
	if err != nil {
		return Seal{}, err
	}
	x := Seal{ID: code, Org: a.Org, Kind: a.SealKind, Seq: seq, Name: a.Name, State: Active, KeyID: k.ID,
		CertFingerprint: cert.Fingerprint, ValidFrom: cert.NotBefore, ValidTo: cert.NotAfter, Image: img, Structure: structure,
		Keepers: a.Keepers, Policy: a.Policy, FilingState: FilingQueued, Version: 1, CreatedAt: now, UpdatedAt: now}
	a.SealID = code
	var revoke string
	err = s.tx(ctx, func(st Store) error {
		if replaces != "" {
			old, err := st.GetSeal(ctx, replaces)
			if err != nil {
				return err
			}
			if old.State == Cancelled {
				return apperr.New(apperr.Conflict, "seal %s is cancelled already", old.ID)
			}
			old.State, old.Version, old.UpdatedAt, revoke = Cancelled, old.Version+1, now, old.CertFingerprint
			if err := st.UpdateSeal(ctx, old); err != nil {
				return err
			}
			if err := s.event(ctx, st, old, a.Approver, "changed", "replaced by "+code+": "+a.Reason, a.ID); err != nil {
				return err
			}
		}
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
	if revoke != "" {
		if _, err := s.pki.Revoke(ctx, revoke, 4); err != nil && !errors.Is(err, apperr.Conflict) {
			return x, fmt.Errorf("seal changed, but the old certificate was not revoked: %w", err)
		}
	}
	return x, nil
}

// structure signs the GB/T 38540 seal structure of a seal.
func (s *Service) structure(ctx context.Context, code, name string, kind Kind, img Image, cert pki.Cert, now time.Time) ([]byte, error) {
	makerSigner, makerCert, err := s.maker(ctx)
	if err != nil {
		return nil, err
	}
	sealType := int64(1) // organization seal
	if kind.Personal() {
		sealType = 2 // personal name seal
	}
	info := ses.SealInfo{
		Header: ses.Header{ID: "ES", Version: 4, VendorID: s.cfg.VendorID},
		ID:     code,
		Property: ses.PropertyInfo{Type: sealType, Name: name, CertListType: 1, Certs: [][]byte{cert.DER},
			Created: now, ValidFrom: cert.NotBefore, ValidTo: cert.NotAfter},
		Picture: ses.Picture{Type: string(img.Format), Data: img.Data, Width: int64(img.WidthMM), Height: int64(img.HeightMM)},
	}
	_, der, err := ses.MakeSeal(ctx, info, makerCert, makerSigner)
	if err != nil {
		return nil, fmt.Errorf("make seal structure: %w", err)
	}
	return der, nil
}

// file queues the filing record of a making in the outbox.
func (s *Service) file(ctx context.Context, st Store, x Seal, cert pki.Cert, n int) error {
	payload, err := json.Marshal(filing{SealCode: x.ID, Org: x.Org, Kind: x.Kind, Name: x.Name, CertSerial: cert.Serial,
		ImageHash: x.Image.Hash, ValidFrom: x.ValidFrom, ValidTo: x.ValidTo, Making: n})
	if err != nil {
		return err
	}
	id, err := s.newID("obx")
	if err != nil {
		return err
	}
	return st.InsertOutbox(ctx, id, "seal.filing", payload, s.now())
}

// renew issues a new certificate and seal structure for a seal whose
// certificate expires within the renewal window (R-SEAL-3).
func (s *Service) renew(ctx context.Context, a Application) error {
	x, err := s.GetSeal(ctx, a.SealID)
	if err != nil {
		return err
	}
	now := s.now()
	if opens := x.ValidTo.Add(-s.cfg.RenewalWindow); now.Before(opens) || now.After(x.ValidTo) {
		return &apperr.Error{Kind: apperr.Conflict,
			Detail: fmt.Sprintf("renewal is possible from %s until the certificate expires at %s", opens.Format(time.RFC3339), x.ValidTo.Format(time.RFC3339)),
			Fields: []apperr.FieldError{{Field: "seal_id", Rule: "renewal-window", Detail: "renewal is allowed in the three months before expiry"}}}
	}
	cert, err := s.pki.Issue(ctx, pki.IssueRequest{KeyID: x.KeyID, Kind: pki.Seal, CommonName: x.Name, NotBefore: now, NotAfter: now.Add(s.cfg.Validity)})
	if err != nil {
		return err
	}
	structure, err := s.structure(ctx, x.ID, x.Name, x.Kind, x.Image, cert, now)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(st Store) error {
		cur, err := st.GetSeal(ctx, x.ID)
		if err != nil {
			return err
		}
		makings, err := st.ListMakings(ctx, x.ID)
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
