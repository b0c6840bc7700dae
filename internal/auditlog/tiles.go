package auditlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// The log is also served as C2SP tlog-tiles (https://c2sp.org/tlog-tiles):
// static, cacheable files from which anyone rebuilds proofs without asking
// the platform to compute them. A tile of level L and index N holds the
// hashes of the nodes 256N to 256N+W-1 at tree level 8L (leaf hashes at
// level 0); an entry bundle holds the leaves 256N to 256N+W-1 themselves.
// Hash tiles are read from the kept subtree hashes (Node), level-0 tiles
// and entry bundles from the stored leaves: a tile costs one range read,
// never a walk over the tree.

// TileHeight is the height of a tile: 2^8 = 256 hashes or entries in a
// full one (C2SP tlog-tiles fixes it).
const TileHeight = 8

// TileWidth is the number of hashes or entries in a full tile.
const TileWidth = 1 << TileHeight

// maxTileLevel is the highest tile level a tree of at most 2^63 leaves has.
const maxTileLevel = 63 / TileHeight

// Tile names one tile: a hash tile of Level, or the entry bundle when
// Entries is set; Width is 1 to 256, less for a partial tile.
type Tile struct {
	Level   int
	Index   uint64
	Width   int
	Entries bool
}

// Full reports whether the tile holds all 256 hashes or entries: it never
// changes, while a partial one is superseded by a wider one as the log
// grows.
func (t Tile) Full() bool { return t.Width == TileWidth }

// Path returns the tile's path below the log's prefix, e.g. "tile/0/x001/234.p/5".
func (t Tile) Path() string {
	l := int64(t.Level)
	if t.Entries {
		l = -1
	}
	p := tlog.Tile{H: TileHeight, L: int(l), N: int64(t.Index), W: t.Width}.Path() //nolint:gosec // tile indexes stay below 2^55
	p = strings.Replace(p, fmt.Sprintf("tile/%d/", TileHeight), "tile/", 1)
	return strings.Replace(p, "tile/data/", "tile/entries/", 1)
}

// ErrTilePath means a request named no tile: its path is not one that
// C2SP tlog-tiles spells.
var ErrTilePath = errors.New("not a tile path")

// ParseTilePath reads a tile path below the log's prefix: "tile/L/N[.p/W]"
// or "tile/entries/N[.p/W]", N in groups of three digits with all but the
// last prefixed by x. Only the one spelling of each tile is accepted, so
// that a cache holds one copy.
func ParseTilePath(p string) (Tile, error) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return Tile{}, fmt.Errorf("%w: %q", ErrTilePath, p)
	}
	// x/mod's sumdb tiles are the same tiles with the height in the path and
	// "data" for entries.
	rest = strings.Replace(rest, "entries/", "data/", 1)
	if strings.HasPrefix(rest, "data/") != strings.HasPrefix(p, "tile/entries/") {
		return Tile{}, fmt.Errorf("%w: %q", ErrTilePath, p)
	}
	t, err := tlog.ParseTilePath(fmt.Sprintf("tile/%d/%s", TileHeight, rest))
	if err != nil || t.L > maxTileLevel || t.N < 0 {
		return Tile{}, fmt.Errorf("%w: %q", ErrTilePath, p)
	}
	out := Tile{Level: t.L, Index: uint64(t.N), Width: t.W}
	if t.L < 0 {
		out.Level, out.Entries = 0, true
	}
	return out, nil
}

// TileReader reads what tiles are made of.
type TileReader interface {
	Reader
	// AuditNodes returns the kept hashes of the complete subtrees (level,
	// from) to (level, to-1), level 1 and up, in index order; a node that
	// was not kept is missing from the answer.
	AuditNodes(ctx context.Context, level uint, from, to uint64) ([]Node, error)
}

// ReadTile returns the content of t in the current tree: Width hashes of
// 32 bytes, or for an entry bundle Width leaves each prefixed with its
// length as a big-endian uint16 (C2SP tlog-tiles). A tile reaching past the
// tree is apperr.NotFound: it does not exist yet.
func ReadTile(ctx context.Context, st TileReader, t Tile) ([]byte, error) {
	tree, err := st.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	if t.Width < 1 || t.Width > TileWidth || t.Level < 0 || t.Level > maxTileLevel {
		return nil, apperr.New(apperr.Invalid, "no tile of level %d and width %d", t.Level, t.Width)
	}
	// The nodes at the tile's tree level that the tree has completed.
	level := uint(t.Level) * TileHeight
	complete := tree.Size >> level
	first := t.Index * TileWidth
	if t.Index > complete/TileWidth || first+uint64(t.Width) > complete {
		return nil, apperr.New(apperr.NotFound, "tile %s is not in the log of %d entries", t.Path(), tree.Size)
	}
	end := first + uint64(t.Width)
	if t.Entries {
		_, leaves, err := st.AuditEntries(ctx, first, end)
		if err != nil {
			return nil, err
		}
		if uint64(len(leaves)) != end-first {
			return nil, fmt.Errorf("%w: %d entries in [%d, %d)", ErrTampered, len(leaves), first, end)
		}
		return EntryBundle(leaves)
	}
	if level == 0 {
		_, leaves, err := st.AuditEntries(ctx, first, end)
		if err != nil {
			return nil, err
		}
		if uint64(len(leaves)) != end-first {
			return nil, fmt.Errorf("%w: %d entries in [%d, %d)", ErrTampered, len(leaves), first, end)
		}
		out := make([]byte, 0, 32*len(leaves))
		for _, l := range leaves {
			out = append(out, rfc6962.DefaultHasher.HashLeaf(l)...)
		}
		return out, nil
	}
	nodes, err := st.AuditNodes(ctx, level, first, end)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 32*t.Width)
	next := 0
	for i := first; i < end; i++ {
		if next < len(nodes) && nodes[next].Index == i {
			out = append(out, nodes[next].Hash...)
			next++
			continue
		}
		// A log written before subtree hashes were kept: fold the leaves.
		h, err := nodeHash(ctx, st, compact.NewNodeID(level, i))
		if err != nil {
			return nil, err
		}
		out = append(out, h...)
	}
	return out, nil
}

// EntryBundle encodes leaves as a C2SP tlog-tiles entry bundle: each leaf
// as a big-endian uint16 length followed by its bytes.
func EntryBundle(leaves [][]byte) ([]byte, error) {
	n := 0
	for _, l := range leaves {
		n += 2 + len(l)
	}
	out := make([]byte, 0, n)
	for _, l := range leaves {
		if len(l) > 0xffff {
			return nil, fmt.Errorf("audit leaf of %d bytes does not fit an entry bundle", len(l))
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(l))) //nolint:gosec // at most 0xffff, checked above
		out = append(out, l...)
	}
	return out, nil
}

// ParseEntryBundle splits an entry bundle into its leaves.
func ParseEntryBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("entry bundle: truncated length")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, errors.New("entry bundle: truncated entry")
		}
		out, b = append(out, b[2:2+n]), b[2+n:]
	}
	return out, nil
}
