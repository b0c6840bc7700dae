// Package auditlog is the tamper-evident log of the platform (R-SEC-2):
// every access to license data and every seal use is recorded, in the same
// transaction as the access, and becomes a leaf of an RFC 6962 Merkle tree.
//
// Writing is split in two, as in Tessera (transparency-dev/tessera): an
// audited write only sequences its entry, inserting it as pending in its own
// transaction, so writers share no row and the entry commits or rolls back
// with the action (fail closed). An integrator, one at a time across every
// process on the database, then takes pending entries in sequence order,
// gives them contiguous indices, computes their leaves, and stores the
// subtree hashes and the new tree in one transaction. Any rewrite of an
// integrated entry changes the root that auditors compare. Append is the
// only write.
package auditlog

import (
	"context"
	"fmt"
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
	// Pending marks an entry committed with its action but not integrated
	// into the tree yet: Index means nothing until the integrator gives it
	// one, and Seq is its place in the queue.
	Pending bool   `json:"pending,omitempty"`
	Seq     uint64 `json:"-"`
}

// Tree is the state of the log's Merkle tree.
type Tree struct {
	Size   uint64
	Hashes [][]byte // the compact range [0, Size)
	Root   []byte
}

// Appender is what an audited write needs: its transaction, into which the
// entry is sequenced as pending. It is the only part of the audit log that
// the capabilities see.
type Appender interface {
	SequenceAuditEntry(ctx context.Context, e Entry) error
}

// Tx is the audit log as a transaction offers it: entries are appended, in
// the transaction of the change they record, and nothing else. The store's
// plain handle does not implement it, so an entry cannot be committed apart
// from its change.
type Tx interface {
	Appender
}

// Reader reads the integrated log.
type Reader interface {
	AuditTree(ctx context.Context) (Tree, error)
	// AuditEntries returns the integrated entries [from, to) in order, with
	// the canonical bytes each leaf covers.
	AuditEntries(ctx context.Context, from, to uint64) ([]Entry, [][]byte, error)
	// AuditNode returns the hash of the complete subtree (level, index),
	// level 1 and up, or apperr.NotFound.
	AuditNode(ctx context.Context, level uint, index uint64) ([]byte, error)
}

// rangeFactory builds compact ranges of RFC 6962 (SHA-256) trees.
func rangeFactory() *compact.RangeFactory {
	return &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
}

// leafFields are the fields a leaf covers, named and ordered by RFC 8785
// (docs/audit.md spells the encoding out for auditors). They are apart from
// Entry so that what the API shows of an entry can grow without changing
// the leaves of the entries already in the log.
type leafFields struct {
	Action  string            `json:"action"`
	Actor   string            `json:"actor"`
	At      time.Time         `json:"at"`
	Details map[string]string `json:"details,omitempty"`
	Index   uint64            `json:"index"`
	Org     string            `json:"org"`
	Subject string            `json:"subject"`
}

// Leaf returns the canonical bytes of an integrated entry (RFC 8785), which
// its leaf hash covers.
func Leaf(e Entry) ([]byte, error) {
	if b, ok := appendLeaf(nil, e); ok {
		return b, nil
	}
	return canon.JSON(leafFields{Action: e.Action, Actor: e.Actor, At: e.At.UTC(), Details: e.Details,
		Index: e.Index, Org: e.Org, Subject: e.Subject})
}

// Operator is the actor of changes made with the zhengzhao command on the
// platform host, where no account is authenticated.
const Operator = "operator"

// Record appends e on behalf of the actor of ctx: the authenticated
// account, or Operator when there is none.
func Record(ctx context.Context, st Appender, e Entry) error {
	e.Actor = Operator
	if a := authz.ActorFrom(ctx); a != nil {
		e.Actor = a.AccountID
	}
	return Append(ctx, st, e)
}

// Append sequences e in st's transaction as a pending entry. If the
// transaction rolls back, so does the entry: an action and its audit entry
// commit together or not at all. The entry gets its index when the
// integrator takes it, after the commit (Integrate); nothing a writer does
// depends on that index.
func Append(ctx context.Context, st Appender, e Entry) error {
	if err := pending(&e); err != nil {
		return err
	}
	if err := st.SequenceAuditEntry(ctx, e); err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	return nil
}

// BatchAppender sequences several entries in one transaction at once, in
// their order: a write that records many actions together (a batch of
// redemptions) spends one statement on their entries instead of one each.
type BatchAppender interface {
	SequenceAuditEntries(ctx context.Context, es []Entry) error
}

// AppendAll is Append for every entry of es, in order, in st's
// transaction; es is changed as Append changes its entry.
func AppendAll(ctx context.Context, st BatchAppender, es []Entry) error {
	for i := range es {
		if err := pending(&es[i]); err != nil {
			return err
		}
	}
	if len(es) == 0 {
		return nil
	}
	if err := st.SequenceAuditEntries(ctx, es); err != nil {
		return fmt.Errorf("audit entries: %w", err)
	}
	return nil
}

// pending checks e and makes it a pending entry, its time as stored.
func pending(e *Entry) error {
	if e.Action == "" || e.Actor == "" {
		return apperr.New(apperr.Internal, "audit entry without action or actor")
	}
	e.Index, e.Pending, e.Seq = 0, true, 0
	e.At = e.At.UTC().Truncate(time.Microsecond) // as stored
	return nil
}

// ErrTampered means the stored entries do not hash to the stored tree: an
// entry was changed, removed or inserted outside Append.
var ErrTampered = fmt.Errorf("audit log does not match its tree")

// Check recomputes the tree from every stored entry and compares it with
// the stored root.
func Check(ctx context.Context, st Reader) (Tree, error) {
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
