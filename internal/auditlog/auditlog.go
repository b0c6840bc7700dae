// Package auditlog is the tamper-evident log of the platform (R-SEC-2):
// every access to license data and every seal use is appended, in the same
// transaction as the access, as a leaf of an RFC 6962 Merkle tree. The tree
// state (size, compact range, root) is one row updated by each append, so
// several processes append in turn through the database, and any rewrite of
// a past entry changes the root that auditors compare. Append is the only
// write.
package auditlog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// Entry is one audit record.
type Entry struct {
	Index   uint64            `json:"index"`
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor"`   // account ID, or "system"
	Org     string            `json:"org"`     // the organization whose data or seal was acted on
	Action  string            `json:"action"`  // e.g. seal.sign
	Subject string            `json:"subject"` // what was acted on, e.g. a seal code
	Details map[string]string `json:"details,omitempty"`
}

// Tree is the state of the log's Merkle tree.
type Tree struct {
	Size   uint64
	Hashes [][]byte // the compact range [0, Size)
	Root   []byte
}

// Store keeps entries and the tree; both writes happen in the caller's
// transaction.
type Store interface {
	AuditTree(ctx context.Context) (Tree, error)
	InsertAuditEntry(ctx context.Context, e Entry, leaf []byte) error
	UpdateAuditTree(ctx context.Context, t Tree) error
	AuditEntries(ctx context.Context, from, to uint64) ([]Entry, [][]byte, error)
	// InsertAuditNode keeps the hash of the complete subtree (level, index),
	// level 1 and up; AuditNode returns it, or apperr.NotFound.
	InsertAuditNode(ctx context.Context, level uint, index uint64, hash []byte) error
	AuditNode(ctx context.Context, level uint, index uint64) ([]byte, error)
}

// rangeFactory builds compact ranges of RFC 6962 (SHA-256) trees.
func rangeFactory() *compact.RangeFactory {
	return &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
}

// Leaf returns the canonical bytes of an entry (RFC 8785), which its leaf
// hash covers.
func Leaf(e Entry) ([]byte, error) {
	e.At = e.At.UTC()
	return canon.JSON(e)
}

// Operator is the actor of changes made with the zhengzhao command on the
// platform host, where no account is authenticated.
const Operator = "operator"

// Record appends e on behalf of the actor of ctx: the authenticated
// account, or Operator when there is none.
func Record(ctx context.Context, st Store, e Entry) error {
	e.Actor = Operator
	if a := authz.ActorFrom(ctx); a != nil {
		e.Actor = a.AccountID
	}
	_, err := Append(ctx, st, e)
	return err
}

// Append adds e at the end of the log in st's transaction and returns it
// with its index. If the transaction rolls back, so does the entry: an
// action and its audit entry commit together or not at all.
func Append(ctx context.Context, st Store, e Entry) (Entry, error) {
	if e.Action == "" || e.Actor == "" {
		return Entry{}, apperr.New(apperr.Internal, "audit entry without action or actor")
	}
	t, err := st.AuditTree(ctx)
	if err != nil {
		return Entry{}, fmt.Errorf("audit tree: %w", err)
	}
	r, err := rangeFactory().NewRange(0, t.Size, t.Hashes)
	if err != nil {
		return Entry{}, fmt.Errorf("audit tree state: %w", err)
	}
	e.Index = t.Size
	e.At = e.At.UTC().Truncate(time.Microsecond) // as stored
	leaf, err := Leaf(e)
	if err != nil {
		return Entry{}, err
	}
	// The complete subtrees this leaf closes are kept for proofs; leaves
	// themselves are rehashed from their entries.
	var nodes []compact.NodeID
	var hashes [][]byte
	if err := r.Append(rfc6962.DefaultHasher.HashLeaf(leaf), func(id compact.NodeID, h []byte) {
		if id.Level > 0 {
			nodes, hashes = append(nodes, id), append(hashes, h)
		}
	}); err != nil {
		return Entry{}, err
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return Entry{}, err
	}
	// The tree row first: a concurrent append then fails on that row as a
	// serialization conflict, which the store retries, rather than on the
	// entry's index as a duplicate.
	if err := st.UpdateAuditTree(ctx, Tree{Size: r.End(), Hashes: r.Hashes(), Root: root}); err != nil {
		return Entry{}, err
	}
	if err := st.InsertAuditEntry(ctx, e, leaf); err != nil {
		return Entry{}, err
	}
	for i, id := range nodes {
		if err := st.InsertAuditNode(ctx, id.Level, id.Index, hashes[i]); err != nil {
			return Entry{}, err
		}
	}
	return e, nil
}

// ErrTampered means the stored entries do not hash to the stored tree: an
// entry was changed, removed or inserted outside Append.
var ErrTampered = fmt.Errorf("audit log does not match its tree")

// Check recomputes the tree from every stored entry and compares it with
// the stored root.
func Check(ctx context.Context, st Store) (Tree, error) {
	t, err := st.AuditTree(ctx)
	if err != nil {
		return Tree{}, err
	}
	r := rangeFactory().NewEmptyRange(0)
	const batch = 1000
	for from := uint64(0); from < t.Size; from += batch {
		entries, leaves, err := st.AuditEntries(ctx, from, min(from+batch, t.Size))
		if err != nil {
			return t, err
		}
		for i, e := range entries {
			want, err := Leaf(e)
			if err != nil {
				return t, err
			}
			if e.Index != r.End() || string(want) != string(leaves[i]) {
				return t, fmt.Errorf("%w: entry %d", ErrTampered, r.End())
			}
			if err := r.Append(rfc6962.DefaultHasher.HashLeaf(leaves[i]), nil); err != nil {
				return t, err
			}
		}
	}
	if r.End() != t.Size {
		return t, fmt.Errorf("%w: %d entries for a tree of %d", ErrTampered, r.End(), t.Size)
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return t, err
	}
	if t.Size > 0 && string(root) != string(t.Root) {
		return t, fmt.Errorf("%w: root differs", ErrTampered)
	}
	return t, nil
}

// DetailsJSON renders details for storage.
func DetailsJSON(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// ParseDetails reads stored details.
func ParseDetails(s string) (map[string]string, error) {
	var d map[string]string
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, err
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}
