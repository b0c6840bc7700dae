package seal

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/internal/keys/ca"
	"zhengzhao/internal/seal/ses"
)

// Check is one verification check and its outcome.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Informational checks report the present (is the seal still active?)
	// without deciding validity: a signature made while the seal was valid
	// stays valid.
	Informational bool   `json:"informational,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// Verdict is the answer of a verification: valid when every
// non-informational check passed.
type Verdict struct {
	Valid    bool      `json:"valid"`
	SealCode string    `json:"seal_code,omitempty"`
	SealName string    `json:"seal_name,omitempty"`
	SignedAt time.Time `json:"signed_at,omitzero"`
	Checks   []Check   `json:"checks"`
}

// The checks a verification lists, in order, beyond those of package ses.
const (
	CheckCertificateChain = "certificate-chain" // signer and maker certificates chain to a trusted root at signing time, unrevoked
	CheckSealState        = "seal-state"        // the seal was active on this platform at signing time
	CheckSealNow          = "seal-now"          // informational: the seal is active and valid now
)

// Trust is what verification relies on beyond the signature itself: the
// trusted roots, each seal's state history and revocations. The store backs
// it online; a trust bundle file backs it offline.
type Trust interface {
	Roots(ctx context.Context) ([]*smx509.Certificate, error)
	// SealHistory returns the seal's state changes in time order; known is
	// false for a seal this platform did not make.
	SealHistory(ctx context.Context, code string) (history []StateChange, known bool, err error)
	// RevokedAt returns when the certificate was revoked, or nil.
	RevokedAt(ctx context.Context, fingerprint string) (*time.Time, error)
}

// StateChange is one entry of a seal's state history.
type StateChange struct {
	At    time.Time `json:"at"`
	State State     `json:"state"`
}

// activeWithin reports whether the seal was active at some instant of
// [from, from+1s). GB/T 38540 records the signing time in whole seconds,
// and a seal signs only while active, so a signature made in that second is
// consistent with the history exactly when this holds — also when the seal
// was made or suspended within the same second.
func activeWithin(h []StateChange, from time.Time) (bool, State, bool) {
	st, found := stateAt(h, from)
	if found && st == Active {
		return true, st, true
	}
	for _, c := range h {
		if c.At.After(from) && c.At.Before(from.Add(time.Second)) && c.State == Active {
			return true, Active, true
		}
	}
	return false, st, found
}

// stateAt returns the state a history says the seal had at t.
func stateAt(h []StateChange, t time.Time) (State, bool) {
	var st State
	found := false
	for _, c := range h {
		if c.At.After(t) {
			break
		}
		st, found = c.State, true
	}
	return st, found
}

// Verify checks a GB/T 38540 signature over a document (or its SM3 digest)
// and lists every check with its reason (验章). now is the present, for the
// informational check.
func Verify(ctx context.Context, trust Trust, sigDER, document, digest []byte, now time.Time) Verdict {
	var v Verdict
	add := func(name string, err error, informational bool) {
		c := Check{Name: name, OK: err == nil, Informational: informational}
		if err != nil {
			var ce *ses.CheckError
			if errors.As(err, &ce) {
				c.Reason = ce.Err.Error()
			} else {
				c.Reason = err.Error()
			}
		}
		v.Checks = append(v.Checks, c)
	}
	sig, err := ses.ParseSignature(sigDER)
	add(ses.CheckStructure, err, false)
	if err != nil {
		return v
	}
	tbs := sig.TBS
	v.SealCode, v.SealName, v.SignedAt = tbs.Seal.Info.ID, tbs.Seal.Info.Property.Name, tbs.Time
	add(ses.CheckSignature, sig.VerifySignature(), false)
	switch {
	case document != nil:
		add(ses.CheckDocumentHash, sig.CheckDocument(document), false)
	default:
		add(ses.CheckDocumentHash, sig.CheckDigest(digest), false)
	}
	add(ses.CheckMakerSignature, tbs.Seal.VerifyMaker(), false)
	add(ses.CheckSignerCertificate, sig.CheckSignerCertificate(), false)
	add(ses.CheckSealValidity, tbs.Seal.CheckValidity(tbs.Time), false)
	add(CheckCertificateChain, checkChains(ctx, trust, sig), false)
	history, known, err := trust.SealHistory(ctx, tbs.Seal.Info.ID)
	switch {
	case err != nil:
		add(CheckSealState, err, false)
	case !known:
		add(CheckSealState, fmt.Errorf("seal %s was not made by this platform", tbs.Seal.Info.ID), false)
	default:
		active, st, ok := activeWithin(history, tbs.Time)
		switch {
		case !ok && !active:
			add(CheckSealState, fmt.Errorf("seal %s did not exist yet at %s", tbs.Seal.Info.ID, tbs.Time.Format(time.RFC3339)), false)
		case !active:
			add(CheckSealState, fmt.Errorf("seal %s was %s at %s", tbs.Seal.Info.ID, st, tbs.Time.Format(time.RFC3339)), false)
		default:
			add(CheckSealState, nil, false)
		}
		var nowErr error
		if st, _ := stateAt(history, now); st != Active {
			nowErr = fmt.Errorf("seal %s is %s now", tbs.Seal.Info.ID, st)
		} else if err := tbs.Seal.CheckValidity(now); err != nil {
			nowErr = fmt.Errorf("seal %s has expired", tbs.Seal.Info.ID)
		}
		add(CheckSealNow, nowErr, true)
	}
	v.Valid = true
	for _, c := range v.Checks {
		if !c.OK && !c.Informational {
			v.Valid = false
		}
	}
	return v
}

// checkChains verifies the signer certificate (for seals) and the maker
// certificate (as an issuer) to the trusted roots at the signing time, and
// that neither was revoked by then.
func checkChains(ctx context.Context, trust Trust, sig *ses.Signature) error {
	roots, err := trust.Roots(ctx)
	if err != nil {
		return err
	}
	at := sig.TBS.Time
	for _, c := range []struct {
		der     []byte
		purpose ca.Purpose
		who     string
	}{{sig.SignerCert, ca.Seal, "signer"}, {sig.TBS.Seal.MakerCert, ca.Issuer, "maker"}} {
		x, err := ca.ParseDER(c.der)
		if err != nil {
			return fmt.Errorf("%s certificate: %w", c.who, err)
		}
		if err := ca.Verify([]*smx509.Certificate{x}, roots, at, c.purpose); err != nil {
			return fmt.Errorf("%s certificate: %w", c.who, err)
		}
		revoked, err := trust.RevokedAt(ctx, fingerprintOf(c.der))
		if err != nil {
			return err
		}
		if revoked != nil && !at.Before(*revoked) {
			return fmt.Errorf("%s certificate was revoked at %s", c.who, revoked.Format(time.RFC3339))
		}
	}
	return nil
}

// storeTrust is the online trust: the platform's own records.
type storeTrust struct{ s *Service }

func (t storeTrust) Roots(ctx context.Context) ([]*smx509.Certificate, error) {
	return t.s.pki.TrustedRoots(ctx)
}

func (t storeTrust) SealHistory(ctx context.Context, code string) ([]StateChange, bool, error) {
	events, err := t.s.store.ListSealEvents(ctx, code)
	if err != nil {
		return nil, false, err
	}
	if len(events) == 0 {
		return nil, false, nil
	}
	return historyOf(events), true, nil
}

func (t storeTrust) RevokedAt(ctx context.Context, fingerprint string) (*time.Time, error) {
	c, err := t.s.pki.Get(ctx, fingerprint)
	if err != nil {
		return nil, nil // a certificate the platform did not issue: the chain check decides
	}
	return c.RevokedAt, nil
}

// historyOf reduces events to state changes (PIN events keep the state).
func historyOf(events []Event) []StateChange {
	out := make([]StateChange, 0, len(events))
	for _, e := range events {
		if n := len(out); n > 0 && out[n-1].State == e.State {
			continue
		}
		out = append(out, StateChange{At: e.At, State: e.State})
	}
	return out
}

// Verify checks a signature against the platform's own records (验章).
func (s *Service) Verify(ctx context.Context, sigDER, document, digest []byte) Verdict {
	return Verify(ctx, storeTrust{s}, sigDER, document, digest, s.now())
}

// BundleFormat names trust bundle files.
const BundleFormat = "zhengzhao-seal-trust/v1"

// Bundle is a trust bundle: what offline verification needs, as one JSON
// file — the trusted roots, every seal's state history and the revoked
// certificates, as of GeneratedAt.
type Bundle struct {
	Format      string                   `json:"format"`
	GeneratedAt time.Time                `json:"generated_at"`
	RootPEMs    []string                 `json:"roots"` // PEM
	Seals       map[string][]StateChange `json:"seals"`
	Revoked     map[string]time.Time     `json:"revoked"` // certificate fingerprint → revocation time
}

// TrustBundle exports the trust bundle.
func (s *Service) TrustBundle(ctx context.Context) (Bundle, error) {
	b := Bundle{Format: BundleFormat, GeneratedAt: s.now(), Seals: map[string][]StateChange{}, Revoked: map[string]time.Time{}}
	roots, err := s.pki.TrustedRoots(ctx)
	if err != nil {
		return Bundle{}, err
	}
	for _, r := range roots {
		b.RootPEMs = append(b.RootPEMs, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Raw})))
	}
	slices.Sort(b.RootPEMs)
	after := ""
	for {
		seals, err := s.store.ListSeals(ctx, Filter{After: after, Limit: 500})
		if err != nil {
			return Bundle{}, err
		}
		for _, x := range seals {
			events, err := s.store.ListSealEvents(ctx, x.ID)
			if err != nil {
				return Bundle{}, err
			}
			b.Seals[x.ID] = historyOf(events)
			makings, err := s.store.ListMakings(ctx, x.ID)
			if err != nil {
				return Bundle{}, err
			}
			for _, m := range makings {
				if c, err := s.pki.Get(ctx, m.CertFingerprint); err == nil && c.RevokedAt != nil {
					b.Revoked[c.Fingerprint] = *c.RevokedAt
				}
			}
		}
		if len(seals) < 500 {
			break
		}
		after = seals[len(seals)-1].ID
	}
	return b, nil
}

// ParseBundle reads a trust bundle file.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("trust bundle: format %q, want %q", b.Format, BundleFormat)
	}
	return &b, nil
}

// Roots implements Trust.
func (b *Bundle) Roots(context.Context) ([]*smx509.Certificate, error) {
	var out []*smx509.Certificate
	for _, p := range b.RootPEMs {
		certs, err := ca.ParsePEM([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("trust bundle root: %w", err)
		}
		out = append(out, certs...)
	}
	return out, nil
}

// SealHistory implements Trust.
func (b *Bundle) SealHistory(_ context.Context, code string) ([]StateChange, bool, error) {
	h, ok := b.Seals[code]
	return h, ok, nil
}

// RevokedAt implements Trust.
func (b *Bundle) RevokedAt(_ context.Context, fingerprint string) (*time.Time, error) {
	if t, ok := b.Revoked[fingerprint]; ok {
		return &t, nil
	}
	return nil, nil
}
