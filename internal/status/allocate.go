package status

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
)

// PurposeSet names the status purposes a list is published for. A list is
// one set of indices; each purpose is its own bitstring over those indices,
// published as its own credential, so a license holds the same index in
// each.
type PurposeSet string

// RevocationAndSuspension is the purpose set of every list the platform
// opens: a license credential can be revoked and can be suspended.
const RevocationAndSuspension PurposeSet = "revocation+suspension"

// Purposes returns the statusPurpose values of set, or nil for an unknown
// set.
func (set PurposeSet) Purposes() []statuslist.Purpose {
	if set == RevocationAndSuspension {
		return []statuslist.Purpose{statuslist.PurposeRevocation, statuslist.PurposeSuspension}
	}
	return nil
}

// ListRef identifies a list: its issuer (the issuing organization's credit
// code), its purpose set and its number, 1 for the first list of that
// issuer and purpose set, then 2, 3, …
type ListRef struct {
	Issuer   string
	Purposes PurposeSet
	Number   int
}

// List is a list as the store records it.
type List struct {
	ListRef
	// Size is the number of entries, fixed when the list is opened.
	Size int
	// Created is when the list was opened.
	Created time.Time
	// Used is the number of indices claimed in the list. The allocator
	// reads it only to decide when to open the next list, so a store may
	// count it the cheapest way it has (for example a count over the claims
	// of the list) rather than rewrite one row on every issuance; a short
	// count only delays the opening of the next list (see Allocate).
	Used int
}

// Slot is an allocated index in a list.
type Slot struct {
	List  ListRef
	Index int
}

// Store is what allocation needs from storage, implemented by
// internal/store on the transaction of the operation that issues the
// license, so that the claimed index and the license commit together or
// not at all.
type Store interface {
	// CurrentList returns the list of issuer and purposes with the highest
	// number, and found=false when the issuer has none yet.
	CurrentList(ctx context.Context, issuer string, purposes PurposeSet) (l List, found bool, err error)
	// OpenList records l with nothing claimed. It returns ok=false, and no
	// error, when a list with the same ListRef exists already (a unique
	// constraint on issuer, purposes and number): another process opened
	// it first.
	OpenList(ctx context.Context, l List) (ok bool, err error)
	// ClaimIndex records index as taken in list. It returns ok=false, and
	// no error, when the index is taken already (a unique constraint on the
	// list and the index). It must not abort the caller's transaction on
	// that conflict: on PostgreSQL, INSERT … ON CONFLICT DO NOTHING and
	// read the affected row count (SQLite accepts the same text).
	ClaimIndex(ctx context.Context, list ListRef, index int) (ok bool, err error)
}

// IndexesClaimer is a Store that claims several indices of a list in one
// statement; AllocateN uses it when the store has it, a statement each
// ClaimsPerStatement draws rather than each draw.
type IndexesClaimer interface {
	// ClaimIndexes records the indices, distinct, as taken in list, each
	// as ClaimIndex would, and reports which it claimed: claimed[i] for
	// indices[i].
	ClaimIndexes(ctx context.Context, list ListRef, indices []int) (claimed []bool, err error)
}

// ClaimsPerStatement bounds the indices AllocateN claims in one
// statement of an IndexesClaimer.
const ClaimsPerStatement = 64

// ErrNoFreeIndex is returned (wrapped) by Allocate when every draw hit a
// taken index, in the current list and in a newly opened one. It means
// the store's counts are badly wrong or that claims keep conflicting with
// concurrent issuance; the operation may be retried as a whole.
var ErrNoFreeIndex = errors.New("status: no free index found")

// Defaults of Options.
const (
	// DefaultListSize is the size of the lists the platform opens: the
	// minimum of Bitstring Status List v1.0, 131,072 entries, 16 KiB.
	DefaultListSize = statuslist.MinSize
	// DefaultFillPercent is the fill at which the next list is opened.
	// At 75% a draw hits a free index with probability at least 1/4, so
	// allocation takes at most four draws on average, and a full list still
	// hides each license among at least 98,304 others.
	DefaultFillPercent = 75
	// DefaultAttempts is the number of draws in one list before Allocate
	// gives up on it: at 75% fill all of them collide with probability
	// 0.75^64, about 1e-8.
	DefaultAttempts = 64
)

// Options configure an Allocator. Zero values take the defaults.
type Options struct {
	// Size is the number of entries of a new list: a multiple of 8 between
	// statuslist.MinSize and statuslist.MaxSize.
	Size int
	// FillPercent is the fill, in percent of Size, at which a list counts
	// as full and the next one is opened: 1 to 95.
	FillPercent int
	// Attempts bounds the draws in one list.
	Attempts int
	// Now is the clock that stamps new lists, time.Now when nil.
	Now func() time.Time
	// Rand is the source of randomness, crypto/rand.Reader when nil. Tests
	// inject a fixed stream.
	Rand io.Reader
}

// Allocator hands out status list indices. It holds no state but its
// options and is safe for concurrent use.
type Allocator struct {
	size, fill, attempts int
	rand                 io.Reader
	now                  func() time.Time
}

// NewAllocator checks o and returns an allocator.
func NewAllocator(o Options) (*Allocator, error) {
	a := &Allocator{size: o.Size, fill: o.FillPercent, attempts: o.Attempts, rand: o.Rand, now: o.Now}
	if a.size == 0 {
		a.size = DefaultListSize
	}
	if a.fill == 0 {
		a.fill = DefaultFillPercent
	}
	if a.attempts == 0 {
		a.attempts = DefaultAttempts
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	if _, err := statuslist.New(a.size); err != nil {
		return nil, fmt.Errorf("status allocator: list size: %w", err)
	}
	if a.fill < 1 || a.fill > 95 {
		return nil, fmt.Errorf("status allocator: fill %d%%, want 1 to 95", a.fill)
	}
	if a.attempts < 1 {
		return nil, fmt.Errorf("status allocator: %d attempts, want at least 1", a.attempts)
	}
	return a, nil
}

// full reports whether l has reached the fill limit.
func (a *Allocator) full(l List) bool {
	return l.Used*100 >= l.Size*a.fill
}

// Allocate claims a free index for a new license credential of issuer in a
// list of purposes, through st, the store of the issuing transaction.
//
// It takes the issuer's current list, or opens the next one when there is
// none or the current one is full, then draws an index uniformly at random
// from the whole list (crypto/rand) and claims it, drawing again while the
// claim reports the index taken. Rejection sampling makes the result
// uniform over the free indices. If every draw collides, the list is
// fuller than its count said: the next list is opened and tried once more
// before ErrNoFreeIndex.
func (a *Allocator) Allocate(ctx context.Context, st Store, issuer string, purposes PurposeSet) (Slot, error) {
	if issuer == "" || purposes.Purposes() == nil {
		return Slot{}, fmt.Errorf("allocate status index: issuer %q, purposes %q", issuer, purposes)
	}
	l, err := a.openList(ctx, st, issuer, purposes, false)
	if err != nil {
		return Slot{}, err
	}
	slot, _, err := a.claim(ctx, st, l)
	return slot, err
}

// AllocateN claims n indices for n new license credentials of issuer, as
// n calls of Allocate would, but reads the current list once for all of
// them rather than once each: the claims made here are counted on the
// list as read, and the list is read again (and the next one opened) only
// when they bring it to its fill limit. The slots are in the order
// claimed.
func (a *Allocator) AllocateN(ctx context.Context, st Store, issuer string, purposes PurposeSet, n int) ([]Slot, error) {
	if issuer == "" || purposes.Purposes() == nil || n < 0 {
		return nil, fmt.Errorf("allocate %d status indices: issuer %q, purposes %q", n, issuer, purposes)
	}
	if c, ok := st.(IndexesClaimer); ok {
		return a.allocateBatched(ctx, st, c, issuer, purposes, n)
	}
	out := make([]Slot, 0, n)
	var l List
	for len(out) < n {
		if len(out) == 0 || a.full(l) {
			var err error
			if l, err = a.openList(ctx, st, issuer, purposes, false); err != nil {
				return nil, err
			}
		}
		slot, in, err := a.claim(ctx, st, l)
		if err != nil {
			return nil, err
		}
		out = append(out, slot)
		l = in
		l.Used++
	}
	return out, nil
}

// allocateBatched is AllocateN on a store that claims several indices a
// statement. It draws as the claims one by one would, in the same order
// from the same randomness, and ends a statement's draws where those
// claims would next read the list: where the list reaches its fill
// limit, or where the draws since the last claimed index run out of
// attempts. So it claims the same slots, each index uniform over the free
// ones; an index drawn twice in a statement counts as taken the second
// time, as its second claim would find it.
func (a *Allocator) allocateBatched(ctx context.Context, st Store, c IndexesClaimer, issuer string, purposes PurposeSet, n int) ([]Slot, error) {
	out := make([]Slot, 0, n)
	var l List
	// misses counts the draws since the last claimed index; round is 1
	// once they made the next list be opened.
	misses, round := 0, 0
	draws := make([]int, 0, ClaimsPerStatement)
	unique := make([]int, 0, ClaimsPerStatement)
	for len(out) < n {
		if len(out) == 0 && l.Size == 0 || a.full(l) {
			var err error
			if l, err = a.openList(ctx, st, issuer, purposes, false); err != nil {
				return nil, err
			}
			misses, round = 0, 0
		}
		// The claims before the list counts as full.
		room := (l.Size*a.fill - l.Used*100 + 99) / 100
		k := min(n-len(out), ClaimsPerStatement, room, a.attempts-misses)
		draws, unique = draws[:0], unique[:0]
		first := make(map[int]bool, k)
		for range k {
			i, err := a.draw(l.Size)
			if err != nil {
				return nil, err
			}
			draws = append(draws, i)
			if _, seen := first[i]; !seen {
				first[i] = false
				unique = append(unique, i)
			}
		}
		claimed, err := c.ClaimIndexes(ctx, l.ListRef, unique)
		if err != nil {
			return nil, fmt.Errorf("allocate status indices: claim %d in list %d of %s: %w", len(unique), l.Number, issuer, err)
		}
		for j, i := range unique {
			first[i] = claimed[j]
		}
		for _, i := range draws {
			if !first[i] {
				misses++
				continue
			}
			// A later draw of the same index finds it taken.
			first[i] = false
			out = append(out, Slot{List: l.ListRef, Index: i})
			l.Used++
			misses, round = 0, 0
		}
		if misses < a.attempts {
			continue
		}
		if round > 0 {
			return nil, fmt.Errorf("allocate status index for %s: %w after %d draws in each of two lists", issuer, ErrNoFreeIndex, a.attempts)
		}
		if l, err = a.openList(ctx, st, issuer, purposes, true); err != nil {
			return nil, err
		}
		misses, round = 0, 1
	}
	return out, nil
}

// claim draws indices in l until one is free and claims it. If every draw
// collides, the list is fuller than its count said: the next list is
// opened and tried once more before ErrNoFreeIndex. It returns the slot
// and the list it is in.
func (a *Allocator) claim(ctx context.Context, st Store, l List) (Slot, List, error) {
	issuer, purposes := l.Issuer, l.Purposes
	var err error
	for round := range 2 {
		if round > 0 {
			if l, err = a.openList(ctx, st, issuer, purposes, true); err != nil {
				return Slot{}, List{}, err
			}
		}
		for range a.attempts {
			i, err := a.draw(l.Size)
			if err != nil {
				return Slot{}, List{}, err
			}
			ok, err := st.ClaimIndex(ctx, l.ListRef, i)
			if err != nil {
				return Slot{}, List{}, fmt.Errorf("allocate status index: claim %d in list %d of %s: %w", i, l.Number, issuer, err)
			}
			if ok {
				return Slot{List: l.ListRef, Index: i}, l, nil
			}
		}
	}
	return Slot{}, List{}, fmt.Errorf("allocate status index for %s: %w after %d draws in each of two lists", issuer, ErrNoFreeIndex, a.attempts)
}

// openList returns the list to draw from: the current one, unless there is
// none, it is full, or next is set; then the one after it, opened here or,
// when another process won the race to open it, as that process opened it.
func (a *Allocator) openList(ctx context.Context, st Store, issuer string, purposes PurposeSet, next bool) (List, error) {
	cur, found, err := st.CurrentList(ctx, issuer, purposes)
	if err != nil {
		return List{}, fmt.Errorf("allocate status index: current list of %s: %w", issuer, err)
	}
	if found && !next && !a.full(cur) {
		return cur, nil
	}
	l := List{ListRef: ListRef{Issuer: issuer, Purposes: purposes, Number: 1}, Size: a.size, Created: a.now().UTC()}
	if found {
		l.Number = cur.Number + 1
	}
	ok, err := st.OpenList(ctx, l)
	if err != nil {
		return List{}, fmt.Errorf("allocate status index: open list %d of %s: %w", l.Number, issuer, err)
	}
	if ok {
		return l, nil
	}
	// Another process opened this number first: use its list.
	cur, found, err = st.CurrentList(ctx, issuer, purposes)
	if err != nil {
		return List{}, fmt.Errorf("allocate status index: current list of %s: %w", issuer, err)
	}
	if !found || cur.Number < l.Number {
		return List{}, fmt.Errorf("allocate status index: list %d of %s exists but is not current", l.Number, issuer)
	}
	return cur, nil
}

// draw returns a uniformly random integer in [0, n).
func (a *Allocator) draw(n int) (int, error) {
	v, err := rand.Int(a.rand, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("allocate status index: randomness: %w", err)
	}
	return int(v.Int64()), nil
}
