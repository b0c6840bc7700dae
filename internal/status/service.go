package status

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// Publishing defaults (docs/status-lists.md, "URLs").
const (
	// MaxAge is how long a fetched list may be cached, by HTTP caches
	// (Cache-Control max-age) and by verifiers (the list's ttl): a change
	// of state shows everywhere within it.
	MaxAge = 5 * time.Second
	// DefaultValidity is the validity period of a signed list: offline
	// verifiers may use a list until its validUntil and no longer.
	DefaultValidity = 24 * time.Hour
	// idleAfter is how long a signed list unrequested stays in memory.
	idleAfter = 10 * time.Minute
)

// SignerFunc returns the platform's status-list signer and the URL of its
// public key as proofs name it (verificationMethod).
type SignerFunc func(ctx context.Context) (signer keys.Signer, verificationMethod string, err error)

// Deps are what a Service is built from.
type Deps struct {
	// Reader reads lists and bits for publishing (the store's plain
	// handle).
	Reader Reader
	// Allocator draws indices; nil takes NewAllocator(Options{Now: Now}).
	Allocator *Allocator
	// BaseURL is the platform's public base URL: lists are published
	// below it and it is their issuer.
	BaseURL string
	// Signer signs list credentials; required for Publish only.
	Signer SignerFunc
	// Now is the clock, time.Now when nil.
	Now func() time.Time
	// Validity is the validity period of a signed list, DefaultValidity
	// when zero.
	Validity time.Duration
}

// Service allocates indices, changes bits and publishes signed lists. It
// is safe for concurrent use.
type Service struct {
	d     Deps
	mu    sync.Mutex
	cache map[publishKey]*published
}

type publishKey struct {
	ref     ListRef
	purpose statuslist.Purpose
}

// published is one signed list credential kept in memory. mu serializes
// its rebuilding, so concurrent requests for a changed list sign it once.
type published struct {
	mu        sync.Mutex
	doc       Published
	refreshAt time.Time // re-sign from then on even if nothing changed
	lastUsed  time.Time // guarded by Service.mu
}

// New checks d and returns a service.
func New(d Deps) (*Service, error) {
	if d.Reader == nil {
		return nil, errors.New("status service: no reader")
	}
	if u, err := url.Parse(d.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("status service: base URL %q is not an absolute http(s) URL", d.BaseURL)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Validity == 0 {
		d.Validity = DefaultValidity
	}
	if d.Validity < 2*MaxAge {
		return nil, fmt.Errorf("status service: validity %s is shorter than twice the cache age %s", d.Validity, MaxAge)
	}
	if d.Allocator == nil {
		a, err := NewAllocator(Options{Now: d.Now})
		if err != nil {
			return nil, err
		}
		d.Allocator = a
	}
	return &Service{d: d, cache: map[publishKey]*published{}}, nil
}

// Allocation is the status of a new license credential: its slot and the
// credentialStatus entries it carries.
type Allocation struct {
	Slot    Slot
	Entries []statuslist.Entry
}

// Allocate claims an index for a new license credential of issuer through
// tx, the issuing transaction, in the issuer's current list of revocation
// and suspension (see Allocator.Allocate), and returns the entries the
// credential carries. The claim commits or rolls back with tx.
func (s *Service) Allocate(ctx context.Context, tx Tx, issuer string) (Allocation, error) {
	slot, err := s.d.Allocator.Allocate(ctx, tx, issuer, RevocationAndSuspension)
	if err != nil {
		return Allocation{}, err
	}
	entries, err := Entries(s.d.BaseURL, slot)
	if err != nil {
		return Allocation{}, err
	}
	return Allocation{Slot: slot, Entries: entries}, nil
}

// AllocateN is Allocate for n new license credentials of issuer at once
// (see Allocator.AllocateN): the current list is read once for the n.
func (s *Service) AllocateN(ctx context.Context, tx Tx, issuer string, n int) ([]Allocation, error) {
	slots, err := s.d.Allocator.AllocateN(ctx, tx, issuer, RevocationAndSuspension, n)
	if err != nil {
		return nil, err
	}
	out := make([]Allocation, len(slots))
	for i, slot := range slots {
		entries, err := Entries(s.d.BaseURL, slot)
		if err != nil {
			return nil, err
		}
		out[i] = Allocation{Slot: slot, Entries: entries}
	}
	return out, nil
}

// SetState gives the credential at slot the bits of state (BitsOf)
// through tx, the transaction of the change of state. Clearing a
// revocation bit is refused with a Conflict wrapping ErrIrreversible; an
// unknown state is Invalid; a slot never claimed is NotFound. Setting the
// bits a slot has already changes nothing.
func (s *Service) SetState(ctx context.Context, tx Tx, slot Slot, state State) error {
	next, err := BitsOf(state)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "%v", err)
	}
	cur, err := tx.SlotBits(ctx, slot)
	if err != nil {
		return err
	}
	return s.change(ctx, tx, slot, cur, next)
}

// ChangeState gives the credential at slot, which is in state from, the
// bits of state to through tx, the transaction of the change: SetState for
// a caller that knows the state it changes from (a license re-read in tx
// says it). It reads no bits, so that concurrent changes of one list do
// not read the index pages the others insert into (on PostgreSQL such
// reads make them conflict). Clearing a revocation bit is refused with a
// Conflict wrapping ErrIrreversible; an unknown state is Invalid.
func (s *Service) ChangeState(ctx context.Context, tx Tx, slot Slot, from, to State) error {
	cur, err := BitsOf(from)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "%v", err)
	}
	next, err := BitsOf(to)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "%v", err)
	}
	return s.change(ctx, tx, slot, cur, next)
}

// change moves the bits of slot from cur to next through tx, refusing to
// clear a revocation bit; the same bits change nothing.
func (s *Service) change(ctx context.Context, tx Tx, slot Slot, cur, next Bits) error {
	if cur.Revocation && !next.Revocation {
		return apperr.Wrap(apperr.Conflict, ErrIrreversible, "index %d of status list %d of %s is revoked for good", slot.Index, slot.List.Number, slot.List.Issuer)
	}
	if cur == next {
		return nil
	}
	return tx.SetSlotBits(ctx, slot, cur, next, s.d.Now().UTC())
}

// Snapshot is one purpose of a list as the store has it.
type Snapshot struct {
	List    List
	Purpose statuslist.Purpose
	// Changes is the list's change counter, read before the bits: the bits
	// are at least as new as it.
	Changes int64
	Bits    *statuslist.Bitstring
	// URL is where the list is published, and At when it was read: the
	// bits are at least as new as At.
	URL string
	At  time.Time
}

// List builds the bitstring of purpose of list number n of issuer (of
// revocation and suspension) from the store. NotFound when there is no
// such list or the list has no such purpose.
func (s *Service) List(ctx context.Context, issuer string, n int, purpose statuslist.Purpose) (Snapshot, error) {
	ref, changes, err := s.changes(ctx, issuer, n, purpose)
	if err != nil {
		return Snapshot{}, err
	}
	return s.snapshot(ctx, ref, purpose, changes)
}

// changes names list n of issuer and reads its change counter; NotFound
// when there is no such list or it has no such purpose.
func (s *Service) changes(ctx context.Context, issuer string, n int, purpose statuslist.Purpose) (ListRef, int64, error) {
	ref := ListRef{Issuer: issuer, Purposes: RevocationAndSuspension, Number: n}
	if !slices.Contains(ref.Purposes.Purposes(), purpose) {
		return ref, 0, apperr.New(apperr.NotFound, "status lists have no purpose %q", purpose)
	}
	changes, err := s.d.Reader.StatusListChanges(ctx, ref)
	if errors.Is(err, apperr.NotFound) {
		return ref, 0, apperr.Wrap(apperr.NotFound, err, "%s has no status list %d", issuer, n)
	}
	return ref, changes, err
}

func (s *Service) snapshot(ctx context.Context, ref ListRef, purpose statuslist.Purpose, changes int64) (Snapshot, error) {
	at := s.d.Now()
	l, err := s.d.Reader.GetStatusList(ctx, ref)
	if err != nil {
		return Snapshot{}, err
	}
	set, err := s.d.Reader.StatusListBits(ctx, ref, purpose)
	if err != nil {
		return Snapshot{}, err
	}
	bits, err := statuslist.New(l.Size)
	if err != nil {
		return Snapshot{}, fmt.Errorf("status list %d of %s: %w", ref.Number, ref.Issuer, err)
	}
	for _, i := range set {
		if err := bits.Set(i, true); err != nil {
			return Snapshot{}, fmt.Errorf("status list %d of %s: %w", ref.Number, ref.Issuer, err)
		}
	}
	return Snapshot{List: l, Purpose: purpose, Changes: changes, Bits: bits, URL: ref.URL(s.d.BaseURL, purpose), At: at}, nil
}

// Snapshots returns every purpose of every list as the store has it now,
// in order of issuer, purpose set, number and purpose: what a trust
// bundle carries for offline verification.
func (s *Service) Snapshots(ctx context.Context) ([]Snapshot, error) {
	lists, err := s.d.Reader.StatusLists(ctx)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, l := range lists {
		for _, p := range l.Purposes.Purposes() {
			changes, err := s.d.Reader.StatusListChanges(ctx, l.ListRef)
			if err != nil {
				return nil, err
			}
			snap, err := s.snapshot(ctx, l.ListRef, p, changes)
			if err != nil {
				return nil, err
			}
			out = append(out, snap)
		}
	}
	return out, nil
}

// Bit reads the bit at index of the list published at listURL for
// purpose, as committed now — not as a published credential, which may
// be up to MaxAge old — and returns it with the instant it was read. A
// URL that is not one of this platform's lists, or names another
// purpose, and a list that does not exist are NotFound; an index outside
// the list is Invalid.
func (s *Service) Bit(ctx context.Context, listURL string, purpose statuslist.Purpose, index int) (bool, time.Time, error) {
	ref, p, ok := ParseListURL(s.d.BaseURL, listURL)
	if !ok || p != purpose {
		return false, time.Time{}, apperr.New(apperr.NotFound, "%s is not a %s list of this platform", listURL, purpose)
	}
	at := s.d.Now()
	set, size, err := s.d.Reader.StatusBit(ctx, ref, purpose, index)
	if errors.Is(err, apperr.NotFound) {
		return false, time.Time{}, apperr.Wrap(apperr.NotFound, err, "%s has no status list %d", ref.Issuer, ref.Number)
	}
	if err != nil {
		return false, time.Time{}, err
	}
	if index < 0 || index >= size {
		return false, time.Time{}, apperr.Wrap(apperr.Invalid, statuslist.ErrRange, "index %d is outside status list %d of %s (%d entries)", index, ref.Number, ref.Issuer, size)
	}
	return set, at, nil
}

// Published is a signed status list credential as it is served.
type Published struct {
	// Doc is the credential, JSON.
	Doc []byte
	// ETag is a strong entity tag of Doc (a hash of the bytes, quoted).
	ETag string
	// Changes is the change counter of the list Doc shows.
	Changes int64
	// ValidUntil is the end of Doc's validity.
	ValidUntil time.Time
}

// Publish returns the signed credential of purpose of list number n of
// issuer. A signed credential is kept in memory and served again while
// the list's change counter (read from the store on every call: a sum
// over at most a few dozen small rows, see Reader.StatusListChanges) is
// unchanged and less than half of its validity has passed, so a list
// fetched often is signed once per change, and a change shows at the next
// call. NotFound when there is no such list.
func (s *Service) Publish(ctx context.Context, issuer string, n int, purpose statuslist.Purpose) (Published, error) {
	if s.d.Signer == nil {
		return Published{}, errors.New("status service: no signer to publish with")
	}
	ref, changes, err := s.changes(ctx, issuer, n, purpose)
	if err != nil {
		return Published{}, err
	}
	now := s.d.Now()
	e := s.entry(publishKey{ref, purpose}, now)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.doc.Doc != nil && e.doc.Changes >= changes && now.Before(e.refreshAt) {
		return e.doc, nil
	}
	snap, err := s.snapshot(ctx, ref, purpose, changes)
	if err != nil {
		return Published{}, err
	}
	doc, err := s.sign(ctx, snap, now)
	if err != nil {
		return Published{}, err
	}
	e.doc, e.refreshAt = doc, now.Add(s.d.Validity/2)
	return doc, nil
}

// entry returns the cache entry of k, made empty when there is none, and
// drops the entries nobody asked for in idleAfter, so that the cache holds
// the lists in use rather than every list ever fetched.
func (s *Service) entry(k publishKey, now time.Time) *published {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[k]
	if !ok {
		for old, oe := range s.cache {
			if now.Sub(oe.lastUsed) > idleAfter {
				delete(s.cache, old)
			}
		}
		e = &published{}
		s.cache[k] = e
	}
	e.lastUsed = now
	return e
}

// sign makes the signed credential of snap.
func (s *Service) sign(ctx context.Context, snap Snapshot, now time.Time) (Published, error) {
	signer, method, err := s.d.Signer(ctx)
	if err != nil {
		return Published{}, fmt.Errorf("status list signer: %w", err)
	}
	from := now.UTC().Truncate(time.Second)
	until := from.Add(s.d.Validity)
	c, err := statuslist.NewCredential(statuslist.Params{
		ID: snap.List.URL(s.d.BaseURL, snap.Purpose), Issuer: s.d.BaseURL, Purpose: snap.Purpose,
		ValidFrom: from, ValidUntil: until, TTL: MaxAge,
	}, snap.Bits)
	if err != nil {
		return Published{}, err
	}
	if err := c.Sign(ctx, statuslist.ProofOptions{VerificationMethod: method, Created: from}, signer); err != nil {
		return Published{}, err
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return Published{}, fmt.Errorf("status list credential: %w", err)
	}
	sum := sha256.Sum256(doc)
	return Published{Doc: doc, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`, Changes: snap.Changes, ValidUntil: until}, nil
}

// KeyRing is the key ring as publishing needs it.
type KeyRing interface {
	StatusListSigner(ctx context.Context, platform string, alg keys.Algorithm) (keys.Signer, keyring.Key, error)
}

// PlatformSigner returns the SignerFunc of the platform's status-list key
// in ks (see keyring.Service.StatusListSigner; alg is the algorithm of a
// key made on first use, SM2-SM3 when empty). platform returns the
// platform organization's credit code. Proofs name the key by its public
// key's address below baseURL.
func PlatformSigner(ks KeyRing, platform func(context.Context) (string, error), alg keys.Algorithm, baseURL string) SignerFunc {
	return func(ctx context.Context) (keys.Signer, string, error) {
		code, err := platform(ctx)
		if err != nil {
			return nil, "", err
		}
		signer, k, err := ks.StatusListSigner(ctx, code, alg)
		if err != nil {
			return nil, "", err
		}
		return signer, strings.TrimSuffix(baseURL, "/") + "/api/v1/keys/" + url.PathEscape(k.ID) + "/public", nil
	}
}
