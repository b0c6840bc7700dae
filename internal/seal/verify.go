package seal

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keys/pki"
	"github.com/zhengzhao/zhengzhao/verify"
)

// Verification itself lives in the public package verify, so that relying
// parties verify offline with the same code; this file backs it with the
// platform's records and exports the signed trust bundle.

// RootsTTL is how long online verification keeps the trusted roots it
// read from the store. A root added or withdrawn by another process counts
// here at most this long after; revocations and seal states are read on
// every verdict and count at once.
const RootsTTL = 2 * time.Second

// trustCacheSize bounds the verification cache: a few entries per seal.
const trustCacheSize = 16384

// trustMemo is what online verification remembers between verdicts: the
// roots for RootsTTL, and the verify.Cache of chains and seal structures,
// which keys chains by the roots so that new roots start afresh.
type trustMemo struct {
	cache *verify.Cache

	mu      sync.Mutex
	roots   []*smx509.Certificate
	rootsAt time.Time
}

func newTrustMemo() *trustMemo { return &trustMemo{cache: verify.NewCache(trustCacheSize)} }

// storeTrust is the online trust: the platform's own records.
type storeTrust struct{ s *Service }

// VerifyCache implements verify.Caching.
func (t storeTrust) VerifyCache() *verify.Cache { return t.s.trust.cache }

func (t storeTrust) Roots(ctx context.Context) ([]*smx509.Certificate, error) {
	m, now := t.s.trust, t.s.clock()
	m.mu.Lock()
	roots, at := m.roots, m.rootsAt
	m.mu.Unlock()
	if roots != nil && !now.Before(at) && now.Sub(at) < RootsTTL {
		return slices.Clone(roots), nil
	}
	roots, err := t.s.pki.TrustedRoots(ctx)
	if err != nil {
		return nil, err
	}
	// The store lists roots in no fixed order; the cache keys chains by
	// the roots in the order given.
	slices.SortFunc(roots, func(a, b *smx509.Certificate) int { return bytes.Compare(a.Raw, b.Raw) })
	m.mu.Lock()
	m.roots, m.rootsAt = roots, now
	m.mu.Unlock()
	return slices.Clone(roots), nil
}

func (t storeTrust) SealHistory(ctx context.Context, code string) ([]verify.StateChange, bool, error) {
	events, err := t.s.store.ListSealEvents(ctx, code)
	if err != nil {
		return nil, false, err
	}
	if len(events) == 0 {
		return nil, false, nil
	}
	return historyOf(events), true, nil
}

func (t storeTrust) SealStructures(ctx context.Context, code string) ([]string, error) {
	makings, err := t.s.store.ListMakings(ctx, code)
	if err != nil {
		return nil, err
	}
	return structureHashes(makings), nil
}

func (t storeTrust) RevokedAt(ctx context.Context, fingerprint string) (*time.Time, error) {
	c, err := t.s.pki.Get(ctx, fingerprint)
	if errors.Is(err, apperr.NotFound) {
		return nil, nil // a certificate the platform did not issue: the chain check decides
	}
	if err != nil {
		return nil, err // fail closed: an unanswered lookup fails the check
	}
	return c.RevokedAt, nil
}

// structureHashes lists the seal structures of makings as verify names them.
func structureHashes(makings []Making) []string {
	out := make([]string, len(makings))
	for i, m := range makings {
		out[i] = verify.StructureHash(m.Structure)
	}
	return out
}

// historyOf reduces events to state changes (PIN events keep the state).
func historyOf(events []Event) []verify.StateChange {
	out := make([]verify.StateChange, 0, len(events))
	for _, e := range events {
		if n := len(out); n > 0 && out[n-1].State == verify.SealState(e.State) {
			continue
		}
		out = append(out, verify.StateChange{At: e.At, State: verify.SealState(e.State)})
	}
	return out
}

// Verify checks a signature against the platform's own records (验章).
func (s *Service) Verify(ctx context.Context, sigDER, document, digest []byte) verify.Verdict {
	return verify.Seal(ctx, storeTrust{s}, sigDER, document, digest, s.now())
}

// TrustBundle exports the trust bundle, signed with the internal root's key
// (verify.OpenBundle checks it). The root's key also signs certificates
// and CRLs; those are DER (a SEQUENCE, 0x30) and the bundle is canonical
// JSON (an object, '{'), so no signature over one can pass for the other.
func (s *Service) TrustBundle(ctx context.Context) (verify.Bundle, error) {
	root, _, err := s.pki.Root(ctx)
	if err != nil {
		return verify.Bundle{}, err
	}
	b := verify.Bundle{Format: verify.BundleFormat, GeneratedAt: s.now()}
	roots, err := s.pki.TrustedRoots(ctx)
	if err != nil {
		return verify.Bundle{}, err
	}
	for _, r := range roots {
		b.RootPEMs = append(b.RootPEMs, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Raw})))
	}
	slices.Sort(b.RootPEMs)
	after := ""
	for {
		seals, err := s.store.ListSeals(ctx, Filter{After: after, Limit: 500})
		if err != nil {
			return verify.Bundle{}, err
		}
		for _, x := range seals {
			events, err := s.store.ListSealEvents(ctx, x.ID)
			if err != nil {
				return verify.Bundle{}, err
			}
			b.SetHistory(x.ID, historyOf(events))
			makings, err := s.store.ListMakings(ctx, x.ID)
			if err != nil {
				return verify.Bundle{}, err
			}
			b.SetStructures(x.ID, structureHashes(makings))
		}
		if len(seals) < 500 {
			break
		}
		after = seals[len(seals)-1].ID
	}
	// Every revocation, the seal-maker's certificate included: offline and
	// online verdicts must agree.
	revoked, err := s.pki.List(ctx, pki.Filter{Revoked: true})
	if err != nil {
		return verify.Bundle{}, err
	}
	for _, c := range revoked {
		b.SetRevoked(c.Fingerprint, *c.RevokedAt)
	}
	msg, err := b.SigningInput()
	if err != nil {
		return verify.Bundle{}, err
	}
	sig, key, err := s.keys.Sign(ctx, root.KeyID, msg)
	if err != nil {
		return verify.Bundle{}, fmt.Errorf("sign the trust bundle with the root key: %w", err)
	}
	b.Signature = &verify.BundleSignature{Alg: string(key.Algorithm), Root: root.Fingerprint, Value: sig}
	return b, nil
}
