package status

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
)

const issuer = "91350100M000100Y43"

// memStore keeps lists and claims in memory with the unique constraints
// the Store contract names. It stands in for internal/store, which does not
// implement Store yet; its behaviour on conflicts is the contract's.
type memStore struct {
	mu     sync.Mutex
	lists  map[ListRef]*List
	claims map[Slot]bool
	// beforeOpen, when set, runs before OpenList records a list: a race
	// with another process.
	beforeOpen func(*memStore)
	// usedOverride makes a list report this Used instead of the true count.
	usedOverride map[ListRef]int
	// taken makes every claim find its index taken.
	taken bool
	// reads counts the calls of CurrentList.
	reads int
}

func newMemStore() *memStore {
	return &memStore{lists: map[ListRef]*List{}, claims: map[Slot]bool{}, usedOverride: map[ListRef]int{}}
}

func (m *memStore) CurrentList(_ context.Context, issuer string, purposes PurposeSet) (List, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	var cur *List
	for ref, l := range m.lists {
		if ref.Issuer == issuer && ref.Purposes == purposes && (cur == nil || ref.Number > cur.Number) {
			cur = l
		}
	}
	if cur == nil {
		return List{}, false, nil
	}
	out := *cur
	if u, ok := m.usedOverride[out.ListRef]; ok {
		out.Used = u
	}
	return out, true, nil
}

func (m *memStore) OpenList(_ context.Context, l List) (bool, error) {
	if m.beforeOpen != nil {
		f := m.beforeOpen
		m.beforeOpen = nil
		f(m)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.lists[l.ListRef]; ok {
		return false, nil
	}
	l.Used = 0
	m.lists[l.ListRef] = &l
	return true, nil
}

func (m *memStore) ClaimIndex(_ context.Context, list ListRef, index int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.lists[list]
	if !ok {
		return false, errors.New("no such list")
	}
	if index < 0 || index >= l.Size {
		return false, errors.New("index out of the list")
	}
	s := Slot{List: list, Index: index}
	if m.claims[s] || m.taken {
		return false, nil
	}
	m.claims[s] = true
	l.Used++
	return true, nil
}

// seeded returns a deterministic randomness source.
func seeded(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// indexBytes is what crypto/rand.Int reads to draw index i below 2^17
// (a list of 131,072 entries): three bytes, big-endian, of which the top
// seven bits are masked off.
func indexBytes(indices ...int) *bytes.Reader {
	var b []byte
	for _, i := range indices {
		b = append(b, byte(i>>16), byte(i>>8), byte(i))
	}
	return bytes.NewReader(b)
}

func mustAllocator(t *testing.T, o Options) *Allocator {
	t.Helper()
	a, err := NewAllocator(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAllocateUniform draws many indices and checks that they are
// distinct, spread evenly over the list (a chi-square test over 16 equal
// ranges) and not in the order of issuance.
func TestAllocateUniform(t *testing.T) {
	st := newMemStore()
	a := mustAllocator(t, Options{Rand: seeded(1)})
	const n, buckets = 16000, 16
	counts := make([]int, buckets)
	seen := map[int]bool{}
	ascending := 0
	prev := -1
	for range n {
		s, err := a.Allocate(context.Background(), st, issuer, RevocationAndSuspension)
		if err != nil {
			t.Fatal(err)
		}
		if s.List.Number != 1 || s.List.Issuer != issuer {
			t.Fatalf("slot in list %+v, want list 1 of %s", s.List, issuer)
		}
		if seen[s.Index] {
			t.Fatalf("index %d handed out twice", s.Index)
		}
		seen[s.Index] = true
		counts[s.Index*buckets/DefaultListSize]++
		if s.Index > prev {
			ascending++
		}
		prev = s.Index
	}
	chi2 := 0.0
	want := float64(n) / buckets
	for _, c := range counts {
		d := float64(c) - want
		chi2 += d * d / want
	}
	// 15 degrees of freedom: P(chi2 > 37.7) = 0.001.
	if chi2 > 37.7 {
		t.Errorf("chi-square %.1f over %v: not uniform", chi2, counts)
	}
	// In random order about half of the steps go up; in issuance order
	// all of them would.
	if ascending < n*45/100 || ascending > n*55/100 {
		t.Errorf("%d of %d steps ascending, want about half", ascending, n)
	}
}

// TestAllocateRetriesTaken scripts the draws: taken indices are drawn
// again, the first free one is claimed.
func TestAllocateRetriesTaken(t *testing.T) {
	st := newMemStore()
	if ok, _ := st.OpenList(context.Background(), List{ListRef: ListRef{issuer, RevocationAndSuspension, 1}, Size: DefaultListSize}); !ok {
		t.Fatal("open")
	}
	for _, i := range []int{5, 70000} {
		if ok, _ := st.ClaimIndex(context.Background(), ListRef{issuer, RevocationAndSuspension, 1}, i); !ok {
			t.Fatal("claim")
		}
	}
	a := mustAllocator(t, Options{Rand: indexBytes(5, 70000, 5, 131071)})
	s, err := a.Allocate(context.Background(), st, issuer, RevocationAndSuspension)
	if err != nil {
		t.Fatal(err)
	}
	if s.Index != 131071 || s.List.Number != 1 {
		t.Errorf("Allocate = %+v, want index 131071 of list 1", s)
	}
}

func TestAllocateOpensNextListWhenFull(t *testing.T) {
	ref1 := ListRef{issuer, RevocationAndSuspension, 1}
	tests := []struct {
		name     string
		used     int
		wantList int
	}{
		{"empty", 0, 1},
		{"just below 75%", DefaultListSize*3/4 - 1, 1},
		{"at 75%", DefaultListSize * 3 / 4, 2},
		{"over", DefaultListSize, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			if ok, _ := st.OpenList(context.Background(), List{ListRef: ref1, Size: DefaultListSize}); !ok {
				t.Fatal("open")
			}
			st.usedOverride[ref1] = tt.used
			a := mustAllocator(t, Options{Rand: seeded(2)})
			s, err := a.Allocate(context.Background(), st, issuer, RevocationAndSuspension)
			if err != nil {
				t.Fatal(err)
			}
			if s.List.Number != tt.wantList {
				t.Errorf("allocated in list %d, want %d", s.List.Number, tt.wantList)
			}
		})
	}
}

// TestAllocateListsPerIssuer keeps issuers and purpose sets apart.
func TestAllocateListsPerIssuer(t *testing.T) {
	st := newMemStore()
	a := mustAllocator(t, Options{Rand: seeded(3)})
	for _, iss := range []string{issuer, "91110000100000000D"} {
		s, err := a.Allocate(context.Background(), st, iss, RevocationAndSuspension)
		if err != nil {
			t.Fatal(err)
		}
		if s.List != (ListRef{iss, RevocationAndSuspension, 1}) {
			t.Errorf("Allocate(%s) list = %+v", iss, s.List)
		}
	}
	if _, err := a.Allocate(context.Background(), st, issuer, "refresh"); err == nil {
		t.Error("Allocate with an unknown purpose set succeeded")
	}
	if _, err := a.Allocate(context.Background(), st, "", RevocationAndSuspension); err == nil {
		t.Error("Allocate without an issuer succeeded")
	}
}

// TestAllocateLosesOpenRace lets another process open the next list
// between the allocator's read and its own OpenList: the allocator uses
// the other's list.
func TestAllocateLosesOpenRace(t *testing.T) {
	st := newMemStore()
	other := List{ListRef: ListRef{issuer, RevocationAndSuspension, 1}, Size: 2 * DefaultListSize}
	st.beforeOpen = func(m *memStore) {
		if ok, _ := m.OpenList(context.Background(), other); !ok {
			t.Error("the racing open failed")
		}
	}
	a := mustAllocator(t, Options{Rand: seeded(4)})
	s, err := a.Allocate(context.Background(), st, issuer, RevocationAndSuspension)
	if err != nil {
		t.Fatal(err)
	}
	if s.List != other.ListRef || len(st.lists) != 1 {
		t.Errorf("Allocate = %+v with %d lists, want a slot of the other process's list", s, len(st.lists))
	}
}

// TestAllocateMiscounted: the store says the list is nearly empty but
// every draw collides; the allocator opens the next list.
func TestAllocateMiscounted(t *testing.T) {
	st := newMemStore()
	ref1 := ListRef{issuer, RevocationAndSuspension, 1}
	if ok, _ := st.OpenList(context.Background(), List{ListRef: ref1, Size: DefaultListSize}); !ok {
		t.Fatal("open")
	}
	if ok, _ := st.ClaimIndex(context.Background(), ref1, 9); !ok {
		t.Fatal("claim")
	}
	st.usedOverride[ref1] = 0
	a := mustAllocator(t, Options{Attempts: 3, Rand: indexBytes(9, 9, 9, 9)})
	s, err := a.Allocate(context.Background(), st, issuer, RevocationAndSuspension)
	if err != nil {
		t.Fatal(err)
	}
	if s.List.Number != 2 || s.Index != 9 {
		t.Errorf("Allocate = %+v, want index 9 of list 2", s)
	}
	// When the next list collides too, Allocate gives up.
	st.taken = true
	a = mustAllocator(t, Options{Attempts: 2, Rand: indexBytes(9, 9, 9, 9)})
	if _, err := a.Allocate(context.Background(), st, issuer, RevocationAndSuspension); !errors.Is(err, ErrNoFreeIndex) {
		t.Errorf("Allocate error = %v, want ErrNoFreeIndex", err)
	}
}

func TestAllocateConcurrent(t *testing.T) {
	st := newMemStore()
	a := mustAllocator(t, Options{})
	const workers, each = 8, 500
	slots := make(chan Slot, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				s, err := a.Allocate(context.Background(), st, issuer, RevocationAndSuspension)
				if err != nil {
					t.Error(err)
					return
				}
				slots <- s
			}
		})
	}
	wg.Wait()
	close(slots)
	seen := map[Slot]bool{}
	for s := range slots {
		if seen[s] {
			t.Fatalf("%+v handed out twice", s)
		}
		seen[s] = true
	}
	if len(seen) != workers*each {
		t.Errorf("%d slots, want %d", len(seen), workers*each)
	}
}

func TestNewAllocatorRefuses(t *testing.T) {
	for _, o := range []Options{
		{Size: statuslist.MinSize - 8},
		{Size: statuslist.MinSize + 4},
		{FillPercent: 96},
		{FillPercent: -1},
		{Attempts: -1},
	} {
		if _, err := NewAllocator(o); err == nil {
			t.Errorf("NewAllocator(%+v) succeeded", o)
		}
	}
	a, err := NewAllocator(Options{})
	if err != nil || a.size != DefaultListSize || a.fill != DefaultFillPercent || a.attempts != DefaultAttempts {
		t.Errorf("NewAllocator(zero) = %+v, %v; want the defaults", a, err)
	}
}

func TestAllocateRandomnessFails(t *testing.T) {
	a := mustAllocator(t, Options{Rand: bytes.NewReader(nil)})
	if _, err := a.Allocate(context.Background(), newMemStore(), issuer, RevocationAndSuspension); err == nil {
		t.Error("Allocate without randomness succeeded")
	}
}

// TestAllocateN claims a batch's indices with one read of the current
// list, all distinct, and opens the next list where the batch's own
// claims fill the current one, as single allocations would.
func TestAllocateN(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	a := mustAllocator(t, Options{Rand: seeded(3)})
	slots, err := a.AllocateN(ctx, st, issuer, RevocationAndSuspension, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Slot]bool{}
	for _, s := range slots {
		if seen[s] || s.List.Number != 1 || !st.claims[s] {
			t.Fatalf("slot %+v: repeated, not in list 1 or not claimed", s)
		}
		seen[s] = true
	}
	if len(slots) != 1000 || st.reads != 1 {
		t.Fatalf("%d slots with %d reads of the current list, want 1000 with 1", len(slots), st.reads)
	}
	if none, err := a.AllocateN(ctx, st, issuer, RevocationAndSuspension, 0); err != nil || len(none) != 0 {
		t.Fatalf("AllocateN(0) = %v, %v", none, err)
	}
	if _, err := a.AllocateN(ctx, st, "", RevocationAndSuspension, 1); err == nil {
		t.Fatal("AllocateN without an issuer succeeded")
	}

	// At 1 % of 131,072 entries a list is full after 1,311 claims.
	st = newMemStore()
	a = mustAllocator(t, Options{Rand: seeded(4), FillPercent: 1})
	slots, err = a.AllocateN(ctx, st, issuer, RevocationAndSuspension, 1400)
	if err != nil {
		t.Fatal(err)
	}
	const limit = (DefaultListSize + 99) / 100
	for i, s := range slots {
		if want := 1 + min(i/limit, 1); s.List.Number != want {
			t.Fatalf("slot %d in list %d, want %d", i, s.List.Number, want)
		}
	}
}

// batchStore is a memStore that claims several indices a statement.
type batchStore struct {
	*memStore
	t          *testing.T
	statements int
}

func (b *batchStore) ClaimIndexes(ctx context.Context, list ListRef, indices []int) ([]bool, error) {
	b.statements++
	if len(indices) > ClaimsPerStatement {
		b.t.Errorf("%d indices in one statement", len(indices))
	}
	claimed := make([]bool, len(indices))
	seen := map[int]bool{}
	for j, i := range indices {
		if seen[i] {
			b.t.Errorf("index %d twice in one statement", i)
		}
		seen[i] = true
		ok, err := b.ClaimIndex(ctx, list, i)
		if err != nil {
			return nil, err
		}
		claimed[j] = ok
	}
	return claimed, nil
}

// TestAllocateNBatchedAsOneByOne: a store that claims several indices a
// statement gets the slots, lists and errors claims one by one get from
// the same randomness, in a statement each 64 draws or fewer.
func TestAllocateNBatchedAsOneByOne(t *testing.T) {
	ctx := context.Background()
	ref1 := ListRef{issuer, RevocationAndSuspension, 1}
	for _, tc := range []struct {
		name string
		n    int
		opt  Options
		// prepare readies a store: claims, miscounts.
		prepare func(*memStore)
	}{
		{"across full lists", 3000, Options{FillPercent: 1}, func(*memStore) {}},
		{"among claimed indices", 1000, Options{FillPercent: 1}, func(m *memStore) {
			// Half the list's indices below 2^16 taken: a draw collides
			// about one time in four.
			_, _ = m.OpenList(ctx, List{ListRef: ref1, Size: DefaultListSize})
			for i := 0; i < 1<<16; i += 2 {
				_, _ = m.ClaimIndex(ctx, ref1, i)
			}
			m.usedOverride[ref1] = 0
		}},
		{"miscounted", 2, Options{Attempts: 3, Rand: indexBytes(9, 9, 9, 9, 5)}, func(m *memStore) {
			_, _ = m.OpenList(ctx, List{ListRef: ref1, Size: DefaultListSize})
			_, _ = m.ClaimIndex(ctx, ref1, 9)
			m.usedOverride[ref1] = 0
		}},
		{"no free index", 3, Options{Attempts: 4}, func(m *memStore) { m.taken = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allocate := func(st Store, m *memStore) ([]Slot, error) {
				tc.prepare(m)
				o := tc.opt
				if o.Rand == nil {
					o.Rand = seeded(9)
				} else {
					o.Rand = indexBytes(9, 9, 9, 9, 5)
				}
				return mustAllocator(t, o).AllocateN(ctx, st, issuer, RevocationAndSuspension, tc.n)
			}
			one := newMemStore()
			want, wantErr := allocate(one, one)
			batched := &batchStore{memStore: newMemStore(), t: t}
			got, err := allocate(batched, batched.memStore)
			if !slices.Equal(got, want) || (err == nil) != (wantErr == nil) {
				t.Fatalf("batched: %d slots, %v; one by one: %d slots, %v", len(got), err, len(want), wantErr)
			}
			if err != nil && !errors.Is(err, ErrNoFreeIndex) {
				t.Fatalf("err = %v, want ErrNoFreeIndex", err)
			}
			if len(batched.lists) != len(one.lists) || len(batched.claims) != len(one.claims) {
				t.Errorf("batched: %d lists, %d claims; one by one %d and %d", len(batched.lists), len(batched.claims), len(one.lists), len(one.claims))
			}
			if err == nil && batched.statements > len(got)*2/ClaimsPerStatement+len(one.lists)*2+2 {
				t.Errorf("%d statements for %d slots", batched.statements, len(got))
			}
		})
	}
}
