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
	"golang.org/x/sync/singleflight"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/verify"
)

// Verification itself lives in the public package verify, so that relying
// parties verify offline with the same code; this file backs it with the
// platform's records and exports the signed trust bundle.

// TrustTTL is how old the store's facts an online verdict relies on may
// be: the trusted roots, revocations, seal state histories and the seal
// structures made. Each process reads each fact again at most this long
// after it last did, so a revocation, a suspension or a new root made by
// any process counts in every verdict within TrustTTL. Verification needs
// no more: a signing time is the signer's word, so a revocation cannot
// stop a backdated signature anyway, and the platform itself refuses to
// sign under a revoked certificate or a seal that is not active.
const TrustTTL = 2 * time.Second

// trustCacheSize bounds each of the verification caches.
const trustCacheSize = 16384

// trustMemo is what online verification remembers between verdicts: the
// store's facts for TrustTTL, and the verify.Cache of verified chains and
// seal structures, which keys chains by the roots so that new roots start
// afresh.
type trustMemo struct {
	cache      *verify.Cache
	roots      recent[[]*smx509.Certificate]
	history    recent[[]verify.StateChange] // nil: a seal the platform did not make
	structures recent[[]string]
	revoked    recent[*time.Time]
}

func newTrustMemo() *trustMemo { return &trustMemo{cache: verify.NewCache(trustCacheSize)} }

// recent keeps values read from the store for TrustTTL. Values are shared
// between verdicts and must not be changed.
type recent[V any] struct {
	group singleflight.Group
	mu    sync.Mutex
	m     map[string]fact[V]
}

type fact[V any] struct {
	v  V
	at time.Time
}

// get returns the value under key read less than TrustTTL before now, or
// reads it with load. Errors are not kept.
func (r *recent[V]) get(ctx context.Context, key string, now time.Time, load func(context.Context) (V, error)) (V, error) {
	r.mu.Lock()
	f, ok := r.m[key]
	r.mu.Unlock()
	if ok && !now.Before(f.at) && now.Sub(f.at) < TrustTTL {
		return f.v, nil
	}
	// Verdicts that miss together share one read, so that a fact's expiry
	// does not send every connection to the store at once.
	v, err, _ := r.group.Do(key, func() (any, error) {
		// The read serves every waiter: it must not end with the verdict
		// that happened to start it.
		v, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return v, err
		}
		r.mu.Lock()
		if r.m == nil || len(r.m) >= trustCacheSize {
			r.m = map[string]fact[V]{}
		}
		r.m[key] = fact[V]{v: v, at: now}
		r.mu.Unlock()
		return v, nil
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}

// storeTrust is the online trust: the platform's own records, as read at
// most TrustTTL ago.
type storeTrust struct{ s *Service }

// VerifyCache implements verify.Caching.
func (t storeTrust) VerifyCache() *verify.Cache { return t.s.trust.cache }

func (t storeTrust) Roots(ctx context.Context) ([]*smx509.Certificate, error) {
	roots, err := t.s.trust.roots.get(ctx, "", t.s.clock(), func(ctx context.Context) ([]*smx509.Certificate, error) {
		roots, err := t.s.pki.TrustedRoots(ctx)
		// The store lists roots in no fixed order; the cache keys
		// chains by the roots in the order given.
		slices.SortFunc(roots, func(a, b *smx509.Certificate) int { return bytes.Compare(a.Raw, b.Raw) })
		return roots, err
	})
	return slices.Clone(roots), err
}

func (t storeTrust) SealHistory(ctx context.Context, code string) ([]verify.StateChange, bool, error) {
	h, err := t.s.trust.history.get(ctx, code, t.s.clock(), func(ctx context.Context) ([]verify.StateChange, error) {
		events, err := t.s.store.ListSealEvents(ctx, code)
		if err != nil || len(events) == 0 {
			return nil, err
		}
		return historyOf(events), nil
	})
	return h, h != nil, err
}

func (t storeTrust) SealStructures(ctx context.Context, code string) ([]string, error) {
	return t.s.trust.structures.get(ctx, code, t.s.clock(), func(ctx context.Context) ([]string, error) {
		makings, err := t.s.store.ListMakings(ctx, code)
		if err != nil {
			return nil, err
		}
		return structureHashes(makings), nil
	})
}

func (t storeTrust) RevokedAt(ctx context.Context, fingerprint string) (*time.Time, error) {
	return t.s.trust.revoked.get(ctx, fingerprint, t.s.clock(), func(ctx context.Context) (*time.Time, error) {
		c, err := t.s.pki.Get(ctx, fingerprint)
		if errors.Is(err, apperr.NotFound) {
			return nil, nil // a certificate the platform did not issue: the chain check decides
		}
		if err != nil {
			return nil, err // fail closed: an unanswered lookup fails the check
		}
		return c.RevokedAt, nil
	})
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

// Trust returns the online trust: the platform's own roots, revocations,
// seal histories and seal structures, each read at most TrustTTL ago, and
// the cache of verified chains and structures Verify uses. License
// verification builds on it.
func (s *Service) Trust() verify.Caching { return storeTrust{s} }

// TrustBundle exports the seal trust bundle (TrustFacts), signed with the
// internal root's key (SignTrustBundle).
func (s *Service) TrustBundle(ctx context.Context) (verify.Bundle, error) {
	b, err := s.TrustFacts(ctx)
	if err != nil {
		return verify.Bundle{}, err
	}
	if err := s.SignTrustBundle(ctx, &b); err != nil {
		return verify.Bundle{}, err
	}
	return b, nil
}

// TrustFacts builds the unsigned trust bundle of seal verification, as of
// now: the trusted roots, every seal's state history and structures, and
// every revoked certificate. A caller may add facts of its own (license
// status lists, type versions) before SignTrustBundle signs it. The
// certificates of the seals themselves need no entry: a signature carries
// its signer's certificate and its seal structure the maker's, and
// SealStructures ties both to what the platform made.
func (s *Service) TrustFacts(ctx context.Context) (verify.Bundle, error) {
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
	return b, nil
}

// SignTrustBundle signs b, whatever facts it carries, with the internal
// root's key (verify.OpenBundle checks it). The root's key also signs
// certificates and CRLs; those are DER (a SEQUENCE, 0x30) and the bundle
// is canonical JSON (an object, '{'), so no signature over one can pass
// for the other.
func (s *Service) SignTrustBundle(ctx context.Context, b *verify.Bundle) error {
	root, _, err := s.pki.Root(ctx)
	if err != nil {
		return err
	}
	msg, err := b.SigningInput()
	if err != nil {
		return err
	}
	sig, key, err := s.keys.Sign(ctx, root.KeyID, msg)
	if err != nil {
		return fmt.Errorf("sign the trust bundle with the root key: %w", err)
	}
	b.Signature = &verify.BundleSignature{Alg: string(key.Algorithm), Root: root.Fingerprint, Value: sig}
	return nil
}
