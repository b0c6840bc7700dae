package auditlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Node is the hash of a complete subtree above the leaves (level 1 and up),
// kept so that a proof reads O(log n) of them.
type Node struct {
	Level uint
	Index uint64
	Hash  []byte
}

// Batch is what one integration writes: the pending entries it takes (by
// Seq), the same entries with their indices and leaves, the subtree hashes
// they close and the tree they lead to.
type Batch struct {
	Entries []Entry
	Leaves  [][]byte
	Nodes   []Node
	Tree    Tree
}

// PlanFunc computes the batch that integrates pending entries, in the order
// given, into the tree t.
type PlanFunc func(t Tree, pending []Entry) (Batch, error)

// IntegrationStore runs integrations.
type IntegrationStore interface {
	// IntegrateAudit runs one integration in one transaction: it becomes
	// the only integrator on the database, or returns ErrIntegratorBusy at
	// once when another process is integrating; it reads the tree and up to limit
	// pending entries in Seq order, calls plan, writes what plan returns
	// and removes those entries from the queue. It returns how many
	// entries it integrated.
	IntegrateAudit(ctx context.Context, limit int, plan PlanFunc) (int, error)
}

// ErrIntegratorBusy means that another integrator holds the database's
// integrator lock: it is integrating the pending entries.
var ErrIntegratorBusy = errors.New("another audit integrator is at work")

// BatchSize is how many pending entries one integration takes at most. A
// larger batch holds the integration transaction (and, on SQLite, the
// write lock) longer; a smaller one costs more transactions per entry.
const BatchSize = 1000

// Integrate integrates up to limit pending entries and returns how many it
// integrated, or ErrIntegratorBusy.
func Integrate(ctx context.Context, st IntegrationStore, limit int) (int, error) {
	n, err := st.IntegrateAudit(ctx, limit, plan)
	if err != nil && !errors.Is(err, ErrIntegratorBusy) {
		return n, fmt.Errorf("integrate audit entries: %w", err)
	}
	return n, err
}

// IntegrateAll integrates pending entries until none is left, and returns
// how many it integrated. Commands that write without a serve process
// running call it before they exit, so that they leave an integrated log
// behind. While another integrator holds the lock it waits for that one's
// batch, and gives up after busyTries attempts: an integrator that keeps
// the lock that long is taking the entries itself.
func IntegrateAll(ctx context.Context, st IntegrationStore) (int, error) {
	const busyTries = 100
	total, busy := 0, 0
	for {
		n, err := Integrate(ctx, st, BatchSize)
		total += n
		switch {
		case errors.Is(err, ErrIntegratorBusy) && busy < busyTries:
			busy++
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		case errors.Is(err, ErrIntegratorBusy):
			return total, nil
		case err != nil || n < BatchSize:
			return total, err
		}
	}
}

// plan extends t by the pending entries, in the order given: contiguous
// indices from t.Size on, leaves, the complete subtrees they close and the
// new compact range and root.
func plan(t Tree, pending []Entry) (Batch, error) {
	r, err := rangeFactory().NewRange(0, t.Size, t.Hashes)
	if err != nil {
		return Batch{}, fmt.Errorf("audit tree state: %w", err)
	}
	b := Batch{Entries: make([]Entry, 0, len(pending)), Leaves: make([][]byte, 0, len(pending))}
	keep := func(id compact.NodeID, h []byte) {
		if id.Level > 0 { // leaves are rehashed from their entries
			b.Nodes = append(b.Nodes, Node{Level: id.Level, Index: id.Index, Hash: h})
		}
	}
	for _, e := range pending {
		e.Index, e.Pending = r.End(), false
		leaf, err := Leaf(e)
		if err != nil {
			return Batch{}, fmt.Errorf("audit entry %d: %w", e.Seq, err)
		}
		if err := r.Append(rfc6962.DefaultHasher.HashLeaf(leaf), keep); err != nil {
			return Batch{}, err
		}
		b.Entries, b.Leaves = append(b.Entries, e), append(b.Leaves, leaf)
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return Batch{}, err
	}
	b.Tree = Tree{Size: r.End(), Hashes: r.Hashes(), Root: root}
	return b, nil
}

// Integrator integrates pending entries in the background, so that a
// signed checkpoint covers a committed entry within a second (Interval plus
// one batch).
type Integrator struct {
	Store    IntegrationStore
	Interval time.Duration   // pause between polls of an empty queue; default 200 ms
	OnError  func(err error) // told of failed integrations, which are retried at the next poll
}

// Run integrates until ctx is done. It returns after the integration under
// way, if any, has committed or rolled back.
func (in *Integrator) Run(ctx context.Context) {
	interval := in.Interval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := Integrate(ctx, in.Store, BatchSize)
		if errors.Is(err, ErrIntegratorBusy) {
			err = nil // another process integrates
		}
		if err != nil && ctx.Err() == nil && in.OnError != nil {
			in.OnError(err)
		}
		next := interval
		if err == nil && n == BatchSize {
			next = 0 // more are waiting
		}
		t.Reset(next)
	}
}
