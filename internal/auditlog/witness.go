package auditlog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A witness's side (zhengzhao audit witness): it reads the log through
// what the log publishes to everyone, its checkpoint and tiles, checks
// that the new checkpoint extends the last one it cosigned, and only then
// cosigns it.

// LogSource is a log as a witness reads it.
type LogSource interface {
	// Checkpoint returns the log's signed checkpoint as served.
	Checkpoint(ctx context.Context) ([]byte, error)
	// Tile returns one tile.
	Tile(ctx context.Context, t Tile) ([]byte, error)
}

// WitnessState is what a witness keeps between runs: the last checkpoint
// it cosigned. Zero is a witness that has cosigned nothing yet.
type WitnessState struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	Root   []byte `json:"root"`
}

// ErrInconsistent means the log's checkpoint does not extend the one the
// witness cosigned last: the log forked or rolled back. The witness does
// not cosign; a person must look at the two checkpoints.
var ErrInconsistent = errors.New("the log's checkpoint does not extend the one last cosigned")

// ErrStale means the log's checkpoint is older than the one the witness
// cosigned last, and that one extends it: a cached copy, nothing to cosign
// and nothing wrong.
var ErrStale = errors.New("the log's checkpoint is older than the one last cosigned")

// GenerateWitnessKey makes a witness key pair: the signer key, which the
// witness keeps secret, and its cosignature/v1 verifier key, which the
// platform's operator configures (serve --witness).
func GenerateWitnessKey(name string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("witness key: %w", err)
	}
	if vkey, err = fnote.VKeyToCosignatureV1(vkey); err != nil {
		return "", "", fmt.Errorf("witness key: %w", err)
	}
	return skey, vkey, nil
}

// NewWitnessSigner returns the cosignature/v1 signer of a witness's
// signer key.
func NewWitnessSigner(skey string) (note.Signer, error) {
	s, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("witness signer key: %w", err)
	}
	return s, nil
}

// Cosign fetches the log's checkpoint, verifies it with the log's
// verifier key, checks with a consistency proof built from the log's
// tiles that it extends prev, and cosigns it. It returns the checkpoint
// with the log's signature and the new cosignature, ready to submit, and
// the state to keep. A checkpoint that does not extend prev is
// ErrInconsistent.
func Cosign(ctx context.Context, src LogSource, logKey string, prev WitnessState, signer note.Signer) ([]byte, WitnessState, error) {
	msg, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, prev, fmt.Errorf("fetch checkpoint: %w", err)
	}
	origin, size, root, err := VerifyCheckpoint(msg, logKey)
	if err != nil {
		return nil, prev, err
	}
	next := WitnessState{Origin: origin, Size: size, Root: root}
	switch {
	case prev.Origin != "" && prev.Origin != origin:
		return nil, prev, fmt.Errorf("%w: the checkpoint is of %q, the witness follows %q", ErrInconsistent, origin, prev.Origin)
	case size < prev.Size:
		// An older checkpoint than the one cosigned: a cache's stale copy
		// if the newer extends it, a rollback to another history if not.
		if err := consistent(ctx, src, size, root, prev.Size, prev.Root); err != nil {
			return nil, prev, fmt.Errorf("%w: the log went back from %d to %d entries of another history: %w", ErrInconsistent, prev.Size, size, err)
		}
		return nil, prev, fmt.Errorf("%w: %d entries, the witness cosigned %d", ErrStale, size, prev.Size)
	case size == prev.Size && string(root) != string(prev.Root):
		return nil, prev, fmt.Errorf("%w: two roots for %d entries", ErrInconsistent, size)
	case prev.Size > 0 && size > prev.Size:
		if err := consistent(ctx, src, prev.Size, prev.Root, size, root); err != nil {
			return nil, prev, fmt.Errorf("%w: %d → %d: %w", ErrInconsistent, prev.Size, size, err)
		}
	}
	// The note as verified carries the log's signature alone; the
	// witness's line follows it.
	v, err := note.NewVerifier(logKey)
	if err != nil {
		return nil, prev, err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, prev, err
	}
	out, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, signer)
	if err != nil {
		return nil, prev, fmt.Errorf("cosign: %w", err)
	}
	return out, next, nil
}

// consistent proves from the log's tiles that the tree of size2 and root2
// extends the tree of size1 and root1. The tiles are checked against root2
// as they are read (x/mod's TileHashReader), so a proof rests on nothing the
// log could change.
func consistent(ctx context.Context, src LogSource, size1 uint64, root1 []byte, size2 uint64, root2 []byte) error {
	tree := tlog.Tree{N: int64(size2), Hash: tlog.Hash(root2)} //nolint:gosec // tree sizes stay below 2^63
	hr := tlog.TileHashReader(tree, tileReader{ctx: ctx, src: src})
	p, err := tlog.ProveTree(tree.N, int64(size1), hr) //nolint:gosec // below size2
	if err != nil {
		return err
	}
	return tlog.CheckTree(p, tree.N, tree.Hash, int64(size1), tlog.Hash(root1)) //nolint:gosec // below size2
}

// tileReader lets x/mod's tlog read tiles from a LogSource.
type tileReader struct {
	ctx context.Context
	src LogSource
}

func (r tileReader) Height() int { return TileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		tile := Tile{Level: t.L, Index: uint64(t.N), Width: t.W} //nolint:gosec // tlog asks for tiles within the tree
		b, err := r.src.Tile(r.ctx, tile)
		if err != nil {
			return nil, fmt.Errorf("tile %s: %w", tile.Path(), err)
		}
		out[i] = b
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// VerifyWitnessed checks a checkpoint against the log's verifier key and
// requires the cosignatures of at least min of the witnesses (verifier
// keys): k of n. It returns the witnesses whose cosignatures verified.
func VerifyWitnessed(msg []byte, logKey string, witnesses []string, min int) (origin string, size uint64, cosigned []string, err error) {
	origin, size, _, err = VerifyCheckpoint(msg, logKey)
	if err != nil {
		return "", 0, nil, err
	}
	if min <= 0 {
		return origin, size, nil, nil
	}
	verifiers := make([]note.Verifier, 0, len(witnesses))
	for _, vkey := range witnesses {
		w, err := ParseWitness(vkey)
		if err != nil {
			return "", 0, nil, err
		}
		verifiers = append(verifiers, w.verifier)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		n = unverified.Note // no witness cosigned
	case err != nil:
		return "", 0, nil, fmt.Errorf("cosignatures: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range n.Sigs {
		if !seen[s.Name] {
			seen[s.Name] = true
			cosigned = append(cosigned, s.Name)
		}
	}
	if len(cosigned) < min {
		return origin, size, cosigned, fmt.Errorf("checkpoint cosigned by %d of the %d witnesses, %d required", len(cosigned), len(witnesses), min)
	}
	return origin, size, cosigned, nil
}

// ErrCheckpoint means a checkpoint does not verify with the log's key.
var ErrCheckpoint = errors.New("the checkpoint does not verify")
