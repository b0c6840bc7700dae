package auditlog

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// An auditor's check of the whole log (zhengzhao audit verify): every entry
// is read from the entry bundles and hashed into the tree again, and
// whatever the log has said of its entries before is held against them —
// the checkpoint it serves, checkpoints the auditor kept from earlier runs
// or witnesses, the hashes it kept of complete subtrees when it integrated
// them, and the entries as its API lists them. A mismatch is narrowed down
// to the entry that differs, as far as those records allow.

// VerifyOptions are what VerifyLog holds the entries against beyond the
// log's current checkpoint. Each is optional.
type VerifyOptions struct {
	// Held are checkpoints kept from earlier (an earlier run's archive, a
	// witness's state): the log must still be the tree each commits to.
	Held [][]byte
	// Keep is given the checkpoint (a Tile of width 0) and every tile as
	// read, for an archive.
	Keep func(t Tile, b []byte) error
	// Listed returns the entries [from, to) as the platform lists them:
	// each must be the entry its leaf encodes.
	Listed func(ctx context.Context, from, to uint64) ([]Entry, error)
	// Prove returns the platform's RFC 6962 inclusion proof of entry index
	// in the tree of size: its path carries the hashes the log kept, with
	// which a mismatch is narrowed down below 256 entries.
	Prove func(ctx context.Context, index, size uint64) ([][]byte, error)
}

// MismatchError names the entries [From, To) among which the log's records
// and its entries part: a single entry when they allow, else the smallest
// range they do. It is ErrTampered.
type MismatchError struct {
	From, To uint64
	Reason   string
}

func (e *MismatchError) Error() string {
	var where string
	switch e.To - e.From {
	case 1:
		where = fmt.Sprintf("entry %d", e.From)
	case 2:
		where = fmt.Sprintf("entry %d or %d", e.From, e.From+1)
	default:
		where = fmt.Sprintf("entries %d to %d", e.From, e.To-1)
	}
	return fmt.Sprintf("%v: %s: %s", ErrTampered, where, e.Reason)
}

// Is makes a MismatchError ErrTampered.
func (e *MismatchError) Is(target error) bool { return target == ErrTampered }

// VerifyLog checks a whole log end to end from what it serves: the
// checkpoint, verified with the log's key, and every entry bundle up to its
// size (or up to the largest held checkpoint's). Each leaf must be the
// canonical encoding (docs/audit.md, "Leaf encoding") of the entry it
// holds, at its own index; the leaves must hash to the root of every
// checkpoint at its size, and every 256 of them to the hash the log kept
// of them (its level-1 hash tiles). A log that fails is ErrTampered, a
// *MismatchError where the failing entries can be named.
func VerifyLog(ctx context.Context, src LogSource, logKey string, o VerifyOptions) (origin string, size uint64, err error) {
	msg, err := src.Checkpoint(ctx)
	if err != nil {
		return "", 0, fmt.Errorf("fetch checkpoint: %w", err)
	}
	origin, size, root, err := VerifyCheckpoint(msg, logKey)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	marks := []mark{{size: size, root: root, what: "the checkpoint"}}
	for i, h := range o.Held {
		o2, s2, r2, err := VerifyCheckpoint(h, logKey)
		if err != nil {
			return "", 0, fmt.Errorf("%w: held checkpoint %d: %w", ErrCheckpoint, i+1, err)
		}
		if o2 != origin {
			return "", 0, fmt.Errorf("held checkpoint %d is of the log %q, not %q", i+1, o2, origin)
		}
		marks = append(marks, mark{size: s2, root: r2, what: fmt.Sprintf("held checkpoint %d (of %d entries)", i+1, s2)})
	}
	slices.SortStableFunc(marks, func(a, b mark) int { return cmp.Compare(a.size, b.size) })
	if o.Keep != nil {
		if err := o.Keep(Tile{}, msg); err != nil {
			return "", 0, err
		}
	}
	v := &logVerifier{src: src, o: o, end: marks[len(marks)-1].size, r: rangeFactory().NewEmptyRange(0), marks: marks}
	if err := v.run(ctx); err != nil {
		return "", 0, err
	}
	return origin, size, nil
}

// mark is a checkpoint the entries are held against.
type mark struct {
	size uint64
	root []byte
	what string
}

type logVerifier struct {
	src   LogSource
	o     VerifyOptions
	end   uint64 // entries to read
	r     *compact.Range
	marks []mark // by size; those passed are dropped
	kept  []byte // the level-1 hash tile in use
	keptN uint64 // its index
	// noKept is set once the source turns out to hold no hash tiles (an
	// archive written before they were kept in it).
	noKept bool
}

func (v *logVerifier) run(ctx context.Context) error {
	for len(v.marks) > 0 && v.marks[0].size == 0 {
		if h := sha256.Sum256(nil); !bytes.Equal(v.marks[0].root, h[:]) {
			return fmt.Errorf("%w: %s is of an empty log with root %x", ErrTampered, v.marks[0].what, v.marks[0].root)
		}
		v.marks = v.marks[1:]
	}
	for n := uint64(0); n*TileWidth < v.end; n++ {
		if err := v.bundle(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// bundle checks the entry bundle n.
func (v *logVerifier) bundle(ctx context.Context, n uint64) error {
	first := n * TileWidth
	width := min(v.end-first, TileWidth)
	t := Tile{Entries: true, Index: n, Width: int(width)}
	b, err := v.src.Tile(ctx, t)
	if err != nil {
		return fmt.Errorf("entry bundle %s: %w", t.Path(), err)
	}
	leaves, err := ParseEntryBundle(b)
	if err != nil || len(leaves) != t.Width {
		return &MismatchError{From: first, To: first + width,
			Reason: fmt.Sprintf("entry bundle %s holds %d entries, not %d (%v)", t.Path(), len(leaves), t.Width, err)}
	}
	for i, leaf := range leaves {
		if err := checkLeaf(leaf, first+uint64(i)); err != nil {
			return err
		}
	}
	if v.o.Listed != nil {
		if err := v.checkListed(ctx, first, leaves); err != nil {
			return err
		}
	}
	hashes := make([][]byte, len(leaves))
	// A checkpoint's root is compared as the range reaches its size; a
	// mismatch is reported after the 256 entries' kept hash is compared,
	// which may name the entry.
	var rootErr error
	for i, leaf := range leaves {
		hashes[i] = rfc6962.DefaultHasher.HashLeaf(leaf)
		if err := v.r.Append(hashes[i], nil); err != nil {
			return err
		}
		for len(v.marks) > 0 && v.marks[0].size == v.r.End() {
			m := v.marks[0]
			v.marks = v.marks[1:]
			got, err := v.r.GetRootHash(nil)
			if err != nil {
				return err
			}
			if rootErr == nil && !bytes.Equal(got, m.root) {
				reason := fmt.Sprintf("the entries hash to %x, %s says %x", got, m.what, m.root)
				whole := &MismatchError{From: 0, To: m.size, Reason: reason}
				rootErr = whole
				if !v.noKept {
					// Every 256 entries before were held to their kept hash:
					// what differs is among these, if the log's kept hashes
					// tell.
					rootErr = v.narrow(ctx, first, m.size, hashes[:i+1], whole)
				}
			}
		}
	}
	if t.Width == TileWidth {
		if err := v.checkKept(ctx, n, hashes); err != nil {
			return err
		}
	}
	if rootErr != nil {
		return rootErr
	}
	if v.o.Keep != nil {
		return v.o.Keep(t, b)
	}
	return nil
}

// checkListed holds the entries listed from first on against the leaves.
func (v *logVerifier) checkListed(ctx context.Context, first uint64, leaves [][]byte) error {
	end := first + uint64(len(leaves))
	listed, err := v.o.Listed(ctx, first, end)
	if err != nil {
		return fmt.Errorf("entries %d to %d as listed: %w", first, end-1, err)
	}
	for i, leaf := range leaves {
		idx := first + uint64(i)
		if i >= len(listed) || listed[i].Index != idx {
			return &MismatchError{From: idx, To: idx + 1, Reason: "the platform does not list it"}
		}
		want, err := Leaf(listed[i])
		if err != nil {
			return err
		}
		if !bytes.Equal(want, leaf) {
			return &MismatchError{From: idx, To: idx + 1, Reason: "the platform lists it " + entryDiff(listed[i], leaf)}
		}
	}
	return nil
}

// entryDiff says how the listed entry e differs from the one leaf encodes
// (a canonical leaf, checked before).
func entryDiff(e Entry, leaf []byte) string {
	var f leafFields
	if err := json.Unmarshal(leaf, &f); err != nil {
		return "other than its leaf"
	}
	for _, c := range []struct{ name, listed, leaf string }{
		{"action", e.Action, f.Action},
		{"actor", e.Actor, f.Actor},
		{"org", e.Org, f.Org},
		{"subject", e.Subject, f.Subject},
	} {
		if c.listed != c.leaf {
			return fmt.Sprintf("with %s %q, its leaf says %q", c.name, c.listed, c.leaf)
		}
	}
	if !e.At.Equal(f.At) {
		return fmt.Sprintf("as at %s, its leaf says %s", e.At.UTC().Format("2006-01-02T15:04:05.999999Z"), f.At.UTC().Format("2006-01-02T15:04:05.999999Z"))
	}
	if !maps.Equal(e.Details, f.Details) {
		return fmt.Sprintf("with details %v, its leaf says %v", e.Details, f.Details)
	}
	return "other than its leaf"
}

// checkKept holds the full entry bundle n, whose leaf hashes are given,
// against the hash the log kept of it, in its level-1 hash tile.
func (v *logVerifier) checkKept(ctx context.Context, n uint64, hashes [][]byte) error {
	if v.noKept {
		return nil
	}
	if v.kept == nil || v.keptN != n/TileWidth {
		complete := v.end / TileWidth // the level-8 nodes the entries read complete
		t := Tile{Level: 1, Index: n / TileWidth, Width: int(min(complete-n/TileWidth*TileWidth, TileWidth))}
		b, err := v.src.Tile(ctx, t)
		if errors.Is(err, fs.ErrNotExist) {
			v.noKept = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("hash tile %s: %w", t.Path(), err)
		}
		if len(b) != 32*t.Width {
			return fmt.Errorf("%w: hash tile %s holds %d bytes, not %d", ErrTampered, t.Path(), len(b), 32*t.Width)
		}
		if v.o.Keep != nil {
			if err := v.o.Keep(t, b); err != nil {
				return err
			}
		}
		v.kept, v.keptN = b, n/TileWidth
	}
	at := 32 * (n % TileWidth)
	kept := v.kept[at : at+32]
	got := subtreeHash(hashes)
	if bytes.Equal(got, kept) {
		return nil
	}
	first := n * TileWidth
	return v.narrow(ctx, first, first+TileWidth, hashes,
		&MismatchError{From: first, To: first + TileWidth, Reason: fmt.Sprintf("they hash to %x, the log kept %x for them", got, kept)})
}

// narrow names the entries of [from, to), whose leaf hashes are given, that
// the log's kept hashes part from: it walks the complete subtrees [from, to)
// divides into, left to right, and goes down the first whose kept hash
// differs. Without Prove, or when the kept hashes do not tell, it returns
// whole.
func (v *logVerifier) narrow(ctx context.Context, from, to uint64, hashes [][]byte, whole *MismatchError) error {
	reason := whole.Reason
	if v.o.Prove == nil {
		return whole
	}
	var single []uint64 // subtrees of one entry: no hash of theirs is kept
	for p := from; p < to; {
		level := uint(0)
		for p%(2<<level) == 0 && p+(2<<level) <= to {
			level++
		}
		width := uint64(1) << level
		if level == 0 {
			single = append(single, p)
			p++
			continue
		}
		differs, err := v.differs(ctx, level, p>>level, hashes[p-from:p-from+width])
		if err != nil {
			return err
		}
		if differs {
			return v.descend(ctx, level, p>>level, hashes[p-from:p-from+width], reason)
		}
		p += width
	}
	if len(single) == 1 {
		// The one entry with no kept hash of its own.
		return &MismatchError{From: single[0], To: single[0] + 1,
			Reason: fmt.Sprintf("%s; the hashes the log kept agree with the other entries from %d on", reason, from)}
	}
	return whole
}

// descend goes down from the complete subtree (level, index), whose kept
// hash differs from its leaves', to the kept hash nearest the leaves that
// still differs.
func (v *logVerifier) descend(ctx context.Context, level uint, index uint64, hashes [][]byte, reason string) error {
	for level > 1 {
		half := len(hashes) / 2
		left, err := v.differs(ctx, level-1, 2*index, hashes[:half])
		if err != nil {
			return err
		}
		switch {
		case left:
			index, hashes = 2*index, hashes[:half]
		default:
			right, err := v.differs(ctx, level-1, 2*index+1, hashes[half:])
			if err != nil {
				return err
			}
			if !right {
				// The kept hashes disagree among themselves.
				begin, end := compact.NewNodeID(level, index).Coverage()
				return &MismatchError{From: begin, To: end, Reason: reason}
			}
			index, hashes = 2*index+1, hashes[half:]
		}
		level--
	}
	return &MismatchError{From: 2 * index, To: 2*index + 2,
		Reason: "one of them is not the entry the log held when it integrated them (their pair's kept hash differs)"}
}

// differs reports whether the kept hash of the complete subtree (level,
// index) differs from the hash of its leaves.
func (v *logVerifier) differs(ctx context.Context, level uint, index uint64, hashes [][]byte) (bool, error) {
	kept, err := v.keptNode(ctx, level, index)
	if err != nil {
		return false, err
	}
	return !bytes.Equal(kept, subtreeHash(hashes)), nil
}

// keptNode reads the hash the log kept of the complete subtree (level,
// index) from an inclusion proof whose path carries it: the proof of the
// first entry of its sibling.
func (v *logVerifier) keptNode(ctx context.Context, level uint, index uint64) ([]byte, error) {
	leaf := (index ^ 1) << level
	if leaf >= v.end && index > 0 {
		leaf = index<<level - 1 // the last entry before it
	}
	nodes, err := proof.Inclusion(leaf, v.end)
	if err != nil {
		return nil, err
	}
	at := slices.Index(nodes.IDs, compact.NewNodeID(level, index))
	_, begin, end := nodes.Ephem()
	switch {
	case at < 0 || (end-begin > 1 && at >= begin && at < end):
		return nil, fmt.Errorf("no inclusion proof in a log of %d entries carries node %d/%d", v.end, level, index)
	case end-begin > 1 && at >= end:
		at -= end - begin - 1
	}
	path, err := v.o.Prove(ctx, leaf, v.end)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of entry %d: %w", leaf, err)
	}
	if at >= len(path) {
		return nil, fmt.Errorf("%w: the inclusion proof of entry %d in %d has %d hashes", ErrTampered, leaf, v.end, len(path))
	}
	return path[at], nil
}

// subtreeHash is the RFC 6962 hash of the complete subtree over these
// leaf hashes, a power of two of them.
func subtreeHash(hashes [][]byte) []byte {
	if len(hashes) == 1 {
		return hashes[0]
	}
	half := len(hashes) / 2
	return rfc6962.DefaultHasher.HashChildren(subtreeHash(hashes[:half]), subtreeHash(hashes[half:]))
}

// checkLeaf checks that leaf is the canonical encoding of an entry at
// index.
func checkLeaf(leaf []byte, index uint64) error {
	var f leafFields
	d := json.NewDecoder(bytes.NewReader(leaf))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return &MismatchError{From: index, To: index + 1, Reason: fmt.Sprintf("not an audit entry: %v", err)}
	}
	if f.Index != index {
		return &MismatchError{From: index, To: index + 1, Reason: fmt.Sprintf("it says it is entry %d", f.Index)}
	}
	want, err := Leaf(Entry{Index: f.Index, At: f.At, Actor: f.Actor, Org: f.Org, Action: f.Action, Subject: f.Subject, Details: f.Details})
	if err != nil {
		return err
	}
	if !bytes.Equal(want, leaf) {
		return &MismatchError{From: index, To: index + 1, Reason: "not in canonical form"}
	}
	return nil
}
