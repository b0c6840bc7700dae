package auditlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// tileSource lets x/mod's sumdb verifier read the log's tiles: the
// verifier checks every tile it reads against the tree it is given, so a
// proof it builds rests on nothing but the tiles and the root.
type tileSource struct {
	ctx  context.Context
	read func(ctx context.Context, t auditlog.Tile) ([]byte, error)
}

func (s tileSource) Height() int { return auditlog.TileHeight }

func (s tileSource) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := t.Path()
		tile, err := auditlog.ParseTilePath("tile/" + path[len("tile/8/"):])
		if err != nil {
			return nil, err
		}
		if out[i], err = s.read(s.ctx, tile); err != nil {
			return nil, fmt.Errorf("%s: %w", tile.Path(), err)
		}
	}
	return out, nil
}

func (s tileSource) SaveTiles([]tlog.Tile, [][]byte) {}

// appendEntries appends n entries in one transaction and integrates them.
func appendEntries(t *testing.T, db *store.DB, n int) {
	t.Helper()
	ctx := context.Background()
	storetest.Write(t, db, func(tx *store.Tx) error {
		for i := range n {
			if err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc_1", Org: "X", Action: "seal.sign",
				Subject: fmt.Sprint(i), Details: map[string]string{"doc": "ab"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// TestTilesAgreeWithProofs grows a log through sizes below, at and past
// tile boundaries and checks at each one that proofs built by another
// verifier (x/mod's sumdb tlog) from the tiles alone verify against the
// tree's root and equal the platform's own proofs, and that entry bundles
// carry the leaves.
func TestTilesAgreeWithProofs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		src := tileSource{ctx: ctx, read: func(ctx context.Context, tile auditlog.Tile) ([]byte, error) {
			return auditlog.ReadTile(ctx, db, tile)
		}}
		var prev uint64
		for _, size := range []uint64{1, 7, 255, 256, 257, 513, 700} {
			appendEntries(t, db, int(size-prev))
			tree, err := db.AuditTree(ctx)
			if err != nil || tree.Size != size {
				t.Fatalf("tree of %d entries, want %d: %v", tree.Size, size, err)
			}
			th := tlog.Tree{N: int64(size), Hash: tlog.Hash(tree.Root)}
			hr := tlog.TileHashReader(th, src)
			if got, err := tlog.TreeHash(th.N, hr); err != nil || got != th.Hash {
				t.Fatalf("size %d: tiles hash to %v (%v), the tree is %v", size, got, err, th.Hash)
			}
			_, leaves := storetest.AuditEntries(t, db)
			for _, index := range []uint64{0, size / 2, size - 1, min(255, size-1), prev} {
				p, err := tlog.ProveRecord(th.N, int64(index), hr)
				if err != nil {
					t.Fatalf("size %d: proof of %d from tiles: %v", size, index, err)
				}
				if err := tlog.CheckRecord(p, th.N, th.Hash, int64(index), tlog.RecordHash(leaves[index])); err != nil {
					t.Fatalf("size %d: proof of %d from tiles: %v", size, index, err)
				}
				path, _, err := auditlog.InclusionProof(ctx, db, index, size)
				if err != nil {
					t.Fatal(err)
				}
				if !sameHashes(p, path) {
					t.Errorf("size %d: inclusion of %d from tiles differs from the platform's proof", size, index)
				}
			}
			if prev > 0 {
				p, err := tlog.ProveTree(th.N, int64(prev), hr)
				if err != nil {
					t.Fatal(err)
				}
				old, err := tlog.TreeHash(int64(prev), hr)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckTree(p, th.N, th.Hash, int64(prev), old); err != nil {
					t.Fatalf("consistency %d→%d from tiles: %v", prev, size, err)
				}
				path, _, err := auditlog.ConsistencyProof(ctx, db, prev, size)
				if err != nil {
					t.Fatal(err)
				}
				if !sameHashes(p, path) {
					t.Errorf("consistency %d→%d from tiles differs from the platform's proof", prev, size)
				}
			}
			// Entry bundles: every entry, partial and full bundles.
			var got [][]byte
			for n := uint64(0); n*auditlog.TileWidth < size; n++ {
				w := int(min(size-n*auditlog.TileWidth, auditlog.TileWidth))
				b, err := auditlog.ReadTile(ctx, db, auditlog.Tile{Entries: true, Index: n, Width: w})
				if err != nil {
					t.Fatal(err)
				}
				part, err := auditlog.ParseEntryBundle(b)
				if err != nil || len(part) != w {
					t.Fatalf("bundle %d: %d leaves, %v; want %d", n, len(part), err, w)
				}
				got = append(got, part...)
			}
			for i := range leaves {
				if !bytes.Equal(got[i], leaves[i]) {
					t.Fatalf("size %d: bundled leaf %d differs", size, i)
				}
			}
			prev = size
		}
		// Tiles past the end of the log do not exist yet.
		for _, tile := range []auditlog.Tile{
			{Level: 0, Index: 2, Width: 189}, // 700 = 2*256 + 188
			{Level: 0, Index: 3, Width: 1},   // past the last tile
			{Level: 1, Index: 0, Width: 3},   // two level-8 nodes are complete
			{Entries: true, Index: 1 << 60, Width: 256},
		} {
			if _, err := auditlog.ReadTile(ctx, db, tile); !errors.Is(err, apperr.NotFound) {
				t.Errorf("tile %s: %v, want not found", tile.Path(), err)
			}
		}
	})
}

func sameHashes[H ~[32]byte](a []H, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i][:], b[i]) {
			return false
		}
	}
	return true
}

// TestTilePaths holds tile paths to the one spelling C2SP tlog-tiles gives
// each tile.
func TestTilePaths(t *testing.T) {
	for _, tc := range []struct {
		path string
		want auditlog.Tile
		ok   bool
	}{
		{"tile/0/000", auditlog.Tile{Level: 0, Index: 0, Width: 256}, true},
		{"tile/0/x001/234.p/5", auditlog.Tile{Level: 0, Index: 1234, Width: 5}, true},
		{"tile/2/x001/x234/067", auditlog.Tile{Level: 2, Index: 1234067, Width: 256}, true},
		{"tile/entries/001.p/255", auditlog.Tile{Entries: true, Index: 1, Width: 255}, true},
		{"tile/entries/x001/000", auditlog.Tile{Entries: true, Index: 1000, Width: 256}, true},
		{"tile/0/1", auditlog.Tile{}, false},         // not three digits
		{"tile/0/001.p/256", auditlog.Tile{}, false}, // a full tile is not partial
		{"tile/0/001.p/0", auditlog.Tile{}, false},   // no empty tile
		{"tile/0/x000/001", auditlog.Tile{}, false},  // a leading zero group
		{"tile/8/000", auditlog.Tile{}, false},       // past the highest level
		{"tile/data/000", auditlog.Tile{}, false},    // sumdb's name, not ours
		{"tile/8/0/000", auditlog.Tile{}, false},     // sumdb's path with the height
		{"tile/entries/entries/000", auditlog.Tile{}, false},
		{"tile/-1/000", auditlog.Tile{}, false},
		{"checkpoint", auditlog.Tile{}, false},
	} {
		got, err := auditlog.ParseTilePath(tc.path)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want %+v, ok %v", tc.path, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.Path() != tc.path {
			t.Errorf("Path() = %q, want %q", got.Path(), tc.path)
		}
	}
}

// BenchmarkReadTile reads the tiles of a 70,000-entry log on SQLite: a
// full level-0 tile and entry bundle (256 leaves), and a full level-1
// tile (256 kept level-8 hashes).
func BenchmarkReadTile(b *testing.B) {
	ctx := context.Background()
	db := storetest.OpenSQLite(b)
	const n = 70000
	for from := 0; from < n; from += 5000 {
		storetest.Write(b, db, func(tx *store.Tx) error {
			for i := range 5000 {
				if err := auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc_1", Action: "seal.sign", Subject: fmt.Sprint(from + i)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tile auditlog.Tile
	}{
		{"level-0", auditlog.Tile{Level: 0, Index: 100, Width: 256}},
		{"entries", auditlog.Tile{Entries: true, Index: 100, Width: 256}},
		{"level-1", auditlog.Tile{Level: 1, Index: 0, Width: 256}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := auditlog.ReadTile(ctx, db, c.tile); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// changedSource serves a log's tiles through change.
type changedSource struct {
	source
	change func(t auditlog.Tile, b []byte) []byte
}

func (s changedSource) Tile(ctx context.Context, t auditlog.Tile) ([]byte, error) {
	b, err := s.source.Tile(ctx, t)
	if err != nil {
		return nil, err
	}
	return s.change(t, bytes.Clone(b)), nil
}

// TestVerifyLog checks a 300-entry log end to end from its checkpoint and
// entry bundles, keeps what it read, and catches a changed, a
// non-canonical, a missing and a reordered entry.
func TestVerifyLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newWitnessFixture(t, db, ed25519Key(t))
		if _, size, err := auditlog.VerifyLog(ctx, f.source(), f.logV, auditlog.VerifyOptions{}); err != nil || size != 0 {
			t.Fatalf("empty log: %d, %v", size, err)
		}
		appendEntries(t, db, 300)
		kept := map[string]int{}
		origin, size, err := auditlog.VerifyLog(ctx, f.source(), f.logV, auditlog.VerifyOptions{Keep: func(t auditlog.Tile, b []byte) error {
			kept[t.Path()] = len(b)
			return nil
		}})
		if err != nil || size != 300 || origin != "zhengzhao.audit/"+platformCode || len(kept) != 4 || kept["tile/1/000.p/1"] != 32 {
			t.Fatalf("VerifyLog = %s %d %v, kept %v", origin, size, err, kept)
		}
		for name, change := range map[string]func(t auditlog.Tile, b []byte) []byte{
			"changed subject": func(_ auditlog.Tile, b []byte) []byte {
				return bytes.Replace(b, []byte(`"subject":"17"`), []byte(`"subject":"71"`), 1)
			},
			"non-canonical": func(_ auditlog.Tile, b []byte) []byte {
				leaves, _ := auditlog.ParseEntryBundle(b)
				leaves[2] = append([]byte("{ "), leaves[2][1:]...)
				out, _ := auditlog.EntryBundle(leaves)
				return out
			},
			"missing entry": func(tile auditlog.Tile, b []byte) []byte {
				leaves, _ := auditlog.ParseEntryBundle(b)
				out, _ := auditlog.EntryBundle(append(leaves[:5:5], leaves[6:]...))
				return out
			},
			"reordered": func(tile auditlog.Tile, b []byte) []byte {
				leaves, _ := auditlog.ParseEntryBundle(b)
				leaves[3], leaves[4] = leaves[4], leaves[3]
				out, _ := auditlog.EntryBundle(leaves)
				return out
			},
		} {
			src := changedSource{source: f.source(), change: change}
			if _, _, err := auditlog.VerifyLog(ctx, src, f.logV, auditlog.VerifyOptions{}); !errors.Is(err, auditlog.ErrTampered) {
				t.Errorf("%s: %v, want ErrTampered", name, err)
			}
		}
	})
}

// rewriteEntry serves the log with entry index rewritten by change and
// encoded canonically again: a change made behind the log's back that
// keeps every leaf well formed.
func rewriteEntry(src source, index uint64, change func(e *auditlog.Entry)) changedSource {
	return changedSource{source: src, change: func(t auditlog.Tile, b []byte) []byte {
		first := t.Index * auditlog.TileWidth
		if !t.Entries || index < first || index >= first+uint64(t.Width) {
			return b
		}
		leaves, err := auditlog.ParseEntryBundle(b)
		if err != nil {
			panic(err)
		}
		var e auditlog.Entry
		if err := json.Unmarshal(leaves[index-first], &e); err != nil {
			panic(err)
		}
		change(&e)
		if leaves[index-first], err = auditlog.Leaf(e); err != nil {
			panic(err)
		}
		out, err := auditlog.EntryBundle(leaves)
		if err != nil {
			panic(err)
		}
		return out
	}}
}

// TestVerifyLogNamesTheEntry rewrites one entry of a 300-entry log (256
// under one kept level-8 hash, 44 after) and checks that VerifyLog names
// it as closely as the records it is given allow: exactly with the
// platform's listing, to its pair with the log's kept hashes, to its 256
// with the hash tiles alone; and that checkpoints held from earlier are
// held against the entries.
func TestVerifyLogNamesTheEntry(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		key := ed25519Key(t)
		f := newWitnessFixture(t, db, key)
		appendEntries(t, db, 299)
		held299, err := f.cp.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		appendEntries(t, db, 1)
		listed := func(ctx context.Context, from, to uint64) ([]auditlog.Entry, error) {
			entries, _, err := db.AuditEntries(ctx, from, to)
			return entries, err
		}
		prove := func(ctx context.Context, index, size uint64) ([][]byte, error) {
			path, _, err := auditlog.InclusionProof(ctx, db, index, size)
			return path, err
		}
		subject := func(e *auditlog.Entry) { e.Subject = "forged" }
		for _, tc := range []struct {
			name     string
			index    uint64
			o        auditlog.VerifyOptions
			from, to uint64
			reason   string
		}{
			{"listed", 17, auditlog.VerifyOptions{Listed: listed, Prove: prove}, 17, 18, `with subject "17", its leaf says "forged"`},
			{"kept hashes", 17, auditlog.VerifyOptions{Prove: prove}, 16, 18, "pair's kept hash differs"},
			{"hash tiles", 17, auditlog.VerifyOptions{}, 0, 256, "the log kept"},
			{"after the last 256, kept hashes", 270, auditlog.VerifyOptions{Prove: prove}, 270, 272, "pair's kept hash differs"},
			{"after the last 256, checkpoint", 270, auditlog.VerifyOptions{}, 0, 300, "the checkpoint says"},
			{"listed after the last 256", 271, auditlog.VerifyOptions{Listed: listed}, 271, 272, `its leaf says "forged"`},
			// The held checkpoint's size ends on an entry with no kept
			// hash of its own, which the others then name.
			{"the one entry no kept hash covers", 298, auditlog.VerifyOptions{Held: [][]byte{held299}, Prove: prove}, 298, 299, "held checkpoint 1"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := auditlog.VerifyLog(ctx, rewriteEntry(f.source(), tc.index, subject), f.logV, tc.o)
				var m *auditlog.MismatchError
				if !errors.As(err, &m) || !errors.Is(err, auditlog.ErrTampered) || m.From != tc.from || m.To != tc.to || !strings.Contains(m.Reason, tc.reason) {
					t.Fatalf("VerifyLog = %v, want entries [%d, %d) named with %q", err, tc.from, tc.to, tc.reason)
				}
			})
		}

		// Held checkpoints of this log verify; one of another log of the
		// same origin and key is the fork it is.
		all := auditlog.VerifyOptions{Held: [][]byte{held299}, Listed: listed, Prove: prove}
		if _, size, err := auditlog.VerifyLog(ctx, f.source(), f.logV, all); err != nil || size != 300 {
			t.Fatalf("intact log with a held checkpoint: %d, %v", size, err)
		}
		other := storetest.OpenSQLite(t)
		g := newWitnessFixture(t, other, key)
		appendEntries(t, other, 10)
		fork, err := g.cp.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = auditlog.VerifyLog(ctx, f.source(), f.logV, auditlog.VerifyOptions{Held: [][]byte{held299, fork}, Prove: prove})
		var m *auditlog.MismatchError
		if !errors.As(err, &m) || m.From != 0 || m.To != 10 || !strings.Contains(m.Reason, "held checkpoint 2 (of 10 entries) says") {
			t.Fatalf("a held checkpoint of another history: %v", err)
		}
		// A checkpoint the log's key did not sign is no verdict on the log.
		foreign := newWitnessFixture(t, other, ed25519Key(t))
		stranger, err := foreign.cp.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := auditlog.VerifyLog(ctx, f.source(), f.logV, auditlog.VerifyOptions{Held: [][]byte{stranger}}); !errors.Is(err, auditlog.ErrCheckpoint) || errors.Is(err, auditlog.ErrTampered) {
			t.Fatalf("a held checkpoint under another key: %v", err)
		}
	})
}
