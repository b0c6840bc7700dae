package auditlog

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"zhengzhao/internal/apperr"
)

// Proofs let an auditor holding a checkpoint check that an entry is in the
// log (inclusion) and that a later checkpoint extends an earlier one
// (consistency), RFC 6962 section 2.1. Node hashes are recomputed from the
// stored leaves; tiles would make this cheaper for very large logs.

// InclusionProof returns the audit path of the entry at index in the tree
// of the given size, with the root it leads to.
func InclusionProof(ctx context.Context, st Store, index, size uint64) (path [][]byte, root []byte, err error) {
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
func ConsistencyProof(ctx context.Context, st Store, size1, size2 uint64) (path [][]byte, root []byte, err error) {
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
// folds them as the proof package says.
func rehash(ctx context.Context, st Store, nodes proof.Nodes, size uint64) ([][]byte, []byte, error) {
	leaves, err := leafHashes(ctx, st, size)
	if err != nil {
		return nil, nil, err
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		if hashes[i], err = subtreeHash(leaves, id); err != nil {
			return nil, nil, err
		}
	}
	path, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, nil, err
	}
	root, err := subtreeRoot(leaves)
	return path, root, err
}

// leafHashes returns the leaf hashes of the first size entries.
func leafHashes(ctx context.Context, st Store, size uint64) ([][]byte, error) {
	t, err := st.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	if size > t.Size {
		return nil, apperr.New(apperr.Invalid, "the log has %d entries, not %d", t.Size, size)
	}
	out := make([][]byte, 0, size)
	const batch = 1000
	for from := uint64(0); from < size; from += batch {
		_, leaves, err := st.AuditEntries(ctx, from, min(from+batch, size))
		if err != nil {
			return nil, err
		}
		for _, l := range leaves {
			out = append(out, rfc6962.DefaultHasher.HashLeaf(l))
		}
	}
	if uint64(len(out)) != size {
		return nil, fmt.Errorf("%w: %d leaves for size %d", ErrTampered, len(out), size)
	}
	return out, nil
}

// subtreeHash is the hash of the perfect subtree id over leaves.
func subtreeHash(leaves [][]byte, id compact.NodeID) ([]byte, error) {
	begin, end := id.Coverage()
	if end > uint64(len(leaves)) {
		return nil, fmt.Errorf("node %v beyond %d leaves", id, len(leaves))
	}
	return subtreeRoot(leaves[begin:end])
}

// subtreeRoot is the RFC 6962 root of leaf hashes.
func subtreeRoot(leaves [][]byte) ([]byte, error) {
	r := rangeFactory().NewEmptyRange(0)
	for _, h := range leaves {
		if err := r.Append(h, nil); err != nil {
			return nil, err
		}
	}
	return r.GetRootHash(nil)
}
