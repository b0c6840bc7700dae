package seal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/pki"
)

// Orgs is what the seal service needs to know about organizations.
type Orgs interface {
	GetOrg(ctx context.Context, creditCode string) (org.Org, error)
	Platform(ctx context.Context) (org.Org, error)
	GetAccount(ctx context.Context, id string) (org.Account, error)
}

// Keys is what the seal service asks of the key ring: the seal keys it
// makes and the signers it signs with.
type Keys interface {
	Ensure(ctx context.Context, n keyring.NewKey) (keyring.Key, error)
	Prepare(ctx context.Context, n keyring.NewKey) (keyring.Pending, error)
	Get(ctx context.Context, id string) (keyring.Key, error)
	Signer(ctx context.Context, id string) (keys.Signer, keyring.Key, error)
	SignerVia(ctx context.Context, r keyring.KeyReader, id string) (keys.Signer, keyring.Key, error)
	Sign(ctx context.Context, id string, message []byte) ([]byte, keyring.Key, error)
}

// Certs is what the seal service asks of the certificate authority.
type Certs interface {
	Root(ctx context.Context) (pki.Cert, *smx509.Certificate, error)
	Authority(ctx context.Context) (*pki.Authority, error)
	Issue(ctx context.Context, r pki.IssueRequest) (pki.Cert, error)
	Get(ctx context.Context, ref string) (pki.Cert, error)
	List(ctx context.Context, f pki.Filter) ([]pki.Cert, error)
	TrustedRoots(ctx context.Context) ([]*smx509.Certificate, error)
}

// Deps are what the seal service is built from. Now is required; Rand
// defaults to crypto/rand.
type Deps struct {
	Store Store
	Tx    TxFunc
	Orgs  Orgs
	Keys  Keys
	Certs Certs
	Now   func() time.Time
	Rand  io.Reader
}

// Service is the seal service.
type Service struct {
	store Store
	tx    TxFunc
	orgs  Orgs
	keys  Keys
	pki   Certs
	cfg   Config
	now   func() time.Time // whole seconds: certificates and GB/T 38540 times
	clock func() time.Time // microseconds: the order of state changes
	rand  io.Reader
	trust *trustMemo // what verification remembers (verify.go)
}

// New returns a seal service with the policies of cfg; it refuses a cfg
// that Validate refuses.
func New(d Deps, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("seal policies: %w", err)
	}
	now, rnd := d.Now, d.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Service{store: d.Store, tx: d.Tx, orgs: d.Orgs, keys: d.Keys, pki: d.Certs, cfg: cfg.withDefaults(),
		now:   func() time.Time { return now().UTC().Truncate(time.Second) },
		clock: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, rand: rnd, trust: newTrustMemo()}, nil
}

func (s *Service) newID(prefix string) (string, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("identifier randomness: %w", err)
	}
	return prefix + "_" + hex.EncodeToString(b), nil
}

// GetSeal returns a seal.
func (s *Service) GetSeal(ctx context.Context, id string) (Seal, error) {
	x, err := s.store.GetSeal(ctx, strings.ToUpper(strings.TrimSpace(id)))
	if errors.Is(err, apperr.NotFound) {
		return Seal{}, apperr.New(apperr.NotFound, "no seal has code %s", id)
	}
	return x, err
}

// ListSeals returns one page of seals.
func (s *Service) ListSeals(ctx context.Context, f Filter, cursor string) (page.Page[Seal], error) {
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]Seal, error) {
		f.Limit, f.After = limit, after
		return s.store.ListSeals(ctx, f)
	}, func(x Seal) string { return x.ID })
}

// Events returns a seal's state history.
func (s *Service) Events(ctx context.Context, id string) ([]Event, error) {
	return s.store.ListSealEvents(ctx, id)
}

// Uses returns a seal's use records.
func (s *Service) Uses(ctx context.Context, id string) ([]Use, error) {
	return s.store.ListUses(ctx, id)
}

// PINStale reports whether the seal's PIN is older than the configured age.
func (s *Service) PINStale(x Seal) bool {
	return x.PINSetAt != nil && s.now().Sub(*x.PINSetAt) > s.cfg.PINMaxAge
}

// ValidNow reports whether the seal may sign now: active and within its
// certificate's validity.
func (s *Service) ValidNow(x Seal) bool {
	now := s.now()
	return x.State == Active && !now.Before(x.ValidFrom) && !now.After(x.ValidTo)
}
