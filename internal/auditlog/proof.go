package auditlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// Proofs let an auditor holding a checkpoint check that an entry is in the
// log (inclusion) and that a later checkpoint extends an earlier one
// (consistency), RFC 6962 section 2.1. A proof reads O(log n) node hashes:
// integration keeps the hash of every complete subtree, and leaves are rehashed
// from their entries. A node that was not kept (a log written before nodes
// were) is recomputed from its leaves.

// InclusionProof returns the audit path of the entry at index in the tree
// of the given size, with the root it leads to.
func InclusionProof(ctx context.Context, st Reader, index, size uint64) (path [][]byte, root []byte, err error) {
	if index >= size {
		return nil, nil, apperr.New(apperr.Invalid, "index %d is not below size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, nil, err
	}
	return rehash(ctx, st, nodes, size)
}

// ConsistencyProof returns the proof that the tree of size2 extends the
// tree of size1, with the root of size2.
func ConsistencyProof(ctx context.Context, st Reader, size1, size2 uint64) (path [][]byte, root []byte, err error) {
	if size1 == 0 || size1 > size2 {
		return nil, nil, apperr.New(apperr.Invalid, "sizes must satisfy 0 < %d <= %d", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, nil, err
	}
	return rehash(ctx, st, nodes, size2)
}

// rehash fetches the hashes of the proof's nodes in the tree of size and
// folds them as the proof package says, and returns the root of size.
func rehash(ctx context.Context, st Reader, nodes proof.Nodes, size uint64) ([][]byte, []byte, error) {
	t, err := st.AuditTree(ctx)
	if err != nil {
		return nil, nil, err
	}
	if size > t.Size {
		return nil, nil, apperr.New(apperr.Invalid, "the log has %d entries, not %d", t.Size, size)
	}
	hashes, err := nodeHashes(ctx, st, nodes.IDs)
	if err != nil {
		return nil, nil, err
	}
	path, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, nil, err
	}
	if size == t.Size {
		return path, t.Root, nil
	}
	root, err := rootAt(ctx, st, size)
	return path, root, err
}

// rootAt returns the root of an earlier size, which folds the complete
// subtrees that make it up, the compact range [0, size).
func rootAt(ctx context.Context, st Reader, size uint64) ([]byte, error) {
	rangeHashes, err := nodeHashes(ctx, st, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	r, err := rangeFactory().NewRange(0, size, rangeHashes)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// nodeHashes returns the hashes of complete subtrees.
func nodeHashes(ctx context.Context, st Reader, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := nodeHash(ctx, st, id)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// nodeHash returns the hash of the complete subtree id: a kept node, a
// leaf rehashed from its entry, or one recomputed from its leaves.
func nodeHash(ctx context.Context, st Reader, id compact.NodeID) ([]byte, error) {
	if id.Level > 0 {
		h, err := st.AuditNode(ctx, id.Level, id.Index)
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, apperr.NotFound) {
			return nil, err
		}
	}
	// A complete subtree's hash does not depend on where it sits: fold its
	// leaves as a tree of their own.
	begin, end := id.Coverage()
	r := rangeFactory().NewEmptyRange(0)
	const batch = 1000
	for from := begin; from < end; from += batch {
		_, leaves, err := st.AuditEntries(ctx, from, min(from+batch, end))
		if err != nil {
			return nil, err
		}
		for _, l := range leaves {
			if err := r.Append(rfc6962.DefaultHasher.HashLeaf(l), nil); err != nil {
				return nil, err
			}
		}
	}
	if r.End() != end-begin {
		return nil, fmt.Errorf("%w: %d leaves under node %d/%d", ErrTampered, r.End(), id.Level, id.Index)
	}
	return r.GetRootHash(nil)
}
