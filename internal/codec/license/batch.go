package license

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle"
	"github.com/transparency-dev/merkle/proof"

	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// Batch signatures (docs/license-format.md, "Batch signatures"): the
// licenses of a batch are the leaves of an RFC 6962 Merkle tree hashed
// with SM3, and the seal signs once, over a batch header naming the tree's
// root. Each document of the batch carries that header, the one signature,
// its leaf index and its inclusion proof, so that it verifies alone and
// offline, and a license changed after signing fails alone.
const (
	// BatchFormat names this version of the batch header; a reader
	// refuses another, so a later format is not misread.
	BatchFormat = "zhengzhao-license-batch/v1"
	// BatchHash names the tree hashing: RFC 6962 section 2.1 with SM3 as
	// the hash, over leaves that are the licenses' SM3 digests.
	BatchHash = "SM3-RFC6962"
	// MaxBatchSize bounds the licenses of one batch: 2^20 keeps every
	// proof at most maxProof hashes and one bulk import a few batches.
	MaxBatchSize = 1 << 20
	maxProof     = 20 // the longest RFC 6962 inclusion path in a tree of MaxBatchSize leaves
	maxBatchID   = 64
)

// RFC 6962 domain separation: a leaf hash can never be taken for a node
// hash, so a proof cannot present an inner node as a license.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// BatchHeader is what the seal signs for a batch: the batch's identifier,
// its size, the tree hashing and the root. Its signing input is its RFC
// 8785 canonical JSON, whose "format" differs from a license's, so the
// digest of a batch can never be taken for the digest of one license, nor
// the other way round.
type BatchHeader struct {
	Format string `json:"format"` // BatchFormat
	// ID identifies the batch for its issuer: 1-64 characters of
	// [0-9A-Za-z._-]. The platform writes it as the signature's
	// propertyInfo.
	ID   string `json:"id"`
	Hash string `json:"hash"` // BatchHash
	Size int64  `json:"size"` // the number of licenses, 1-MaxBatchSize
	Root string `json:"root"` // the tree head, 64 lower-case hex digits
}

// Batch is what a batch-signed document carries beside its license and
// signature: the signed header, the license's leaf index and the inclusion
// proof (RFC 6962 section 2.1.1 audit path, leaf to root, each hash 64
// lower-case hex digits).
type Batch struct {
	Header BatchHeader `json:"header"`
	Index  int64       `json:"index"`
	Proof  []string    `json:"proof"`
}

// ErrNotIncluded is wrapped by Batch.Verify when the license is not the
// leaf the proof leads from to the signed root: the license was changed
// after signing, or the index or proof do not belong to it. A verifier
// reports it as a failed check; retrying does not help.
var ErrNotIncluded = errors.New("license not included in the signed batch")

// Validate checks the header against the format, returning the first
// problem, wrapping ErrInvalid.
func (h *BatchHeader) Validate() error {
	switch {
	case h.Format != BatchFormat:
		return invalid("batch.header.format", "%q, want %q", h.Format, BatchFormat)
	case h.Hash != BatchHash:
		return invalid("batch.header.hash", "%q, want %q", h.Hash, BatchHash)
	case h.Size < 1 || h.Size > MaxBatchSize:
		return invalid("batch.header.size", "%d is not 1-%d", h.Size, MaxBatchSize)
	}
	if err := checkBatchID(h.ID); err != nil {
		return err
	}
	_, err := hashHex("batch.header.root", h.Root)
	return err
}

// Validate checks the batch member: a valid header, an index within its
// size and a proof of at most the longest path's hashes. Whether the proof
// leads to the root is Verify's to say.
func (b *Batch) Validate() error {
	if err := b.Header.Validate(); err != nil {
		return err
	}
	if b.Index < 0 || b.Index >= b.Header.Size {
		return invalid("batch.index", "%d is not 0-%d", b.Index, b.Header.Size-1)
	}
	if b.Proof == nil {
		return invalid("batch.proof", "required (an empty list for a batch of one)")
	}
	if len(b.Proof) > maxProof {
		return invalid("batch.proof", "%d hashes, more than %d", len(b.Proof), maxProof)
	}
	for i, p := range b.Proof {
		if _, err := hashHex(fmt.Sprintf("batch.proof[%d]", i), p); err != nil {
			return err
		}
	}
	return nil
}

// Verify checks that the license whose Digest is digest is leaf Index of
// the tree of Header.Size leaves whose root the header names. Errors wrap
// ErrNotIncluded, or ErrInvalid for a batch Validate refuses.
func (b *Batch) Verify(digest []byte) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if len(digest) != sm3.Size {
		return fmt.Errorf("%w: a license digest is %d bytes, not %d", ErrNotIncluded, sm3.Size, len(digest))
	}
	root, _ := hex.DecodeString(b.Header.Root) // Validate checked it
	path := make([][]byte, len(b.Proof))
	for i, p := range b.Proof {
		path[i], _ = hex.DecodeString(p)
	}
	index, size := uint64(b.Index), uint64(b.Header.Size) //nolint:gosec // G115: Validate checked 0 <= Index < Size <= MaxBatchSize
	if err := proof.VerifyInclusion(Hasher{}, index, size, LeafHash(digest), path, root); err != nil {
		return fmt.Errorf("%w: leaf %d of %d: %w", ErrNotIncluded, b.Index, b.Header.Size, err)
	}
	return nil
}

// BatchSigningInput returns the bytes the seal signs for a batch: the RFC
// 8785 canonical JSON of the header. The SES_Signature's dataHash is their
// SM3 (BatchDigest).
func BatchSigningInput(h BatchHeader) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h.appendCanonical(nil), nil
}

// appendCanonical appends the RFC 8785 canonical JSON of a valid header:
// its members sorted, its strings needing no escape (fixed names, an
// identifier of [0-9A-Za-z._-], hex) and its size an integer, so that it
// is written directly rather than through a general canonicalizer, which
// would cost a batch-signed verdict a fifth of its time. The tests hold
// it to canon.JSON.
func (h *BatchHeader) appendCanonical(b []byte) []byte {
	b = append(b, `{"format":"`...)
	b = append(b, h.Format...)
	b = append(b, `","hash":"`...)
	b = append(b, h.Hash...)
	b = append(b, `","id":"`...)
	b = append(b, h.ID...)
	b = append(b, `","root":"`...)
	b = append(b, h.Root...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, h.Size, 10)
	return append(b, '}')
}

// appendCanonical appends the RFC 8785 canonical JSON of a valid batch
// member, as BatchHeader.appendCanonical.
func (b *Batch) appendCanonical(out []byte) []byte {
	out = append(out, `{"header":`...)
	out = b.Header.appendCanonical(out)
	out = append(out, `,"index":`...)
	out = strconv.AppendInt(out, b.Index, 10)
	out = append(out, `,"proof":[`...)
	for i, p := range b.Proof {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, p...)
		out = append(out, '"')
	}
	return append(out, "]}"...)
}

// BatchDigest returns the SM3 of BatchSigningInput(h): what the batch's
// SES_Signature's dataHash must be.
func BatchDigest(h BatchHeader) ([]byte, error) {
	in, err := BatchSigningInput(h)
	if err != nil {
		return nil, err
	}
	d := sm3.Sum(in)
	return d[:], nil
}

// Hasher is RFC 6962 tree hashing with SM3, as a merkle.LogHasher for
// github.com/transparency-dev/merkle's proof checks: the library's own
// rfc6962 hasher takes a crypto.Hash, which has no SM3.
type Hasher struct{}

var _ merkle.LogHasher = Hasher{}

// EmptyRoot is the SM3 of nothing; no batch is empty.
func (Hasher) EmptyRoot() []byte { d := sm3.Sum(nil); return d[:] }

// HashLeaf is SM3(0x00 || leaf).
func (Hasher) HashLeaf(leaf []byte) []byte { return LeafHash(leaf) }

// HashChildren is SM3(0x01 || left || right).
func (Hasher) HashChildren(l, r []byte) []byte { return NodeHash(l, r) }

// Size is SM3's 32 bytes.
func (Hasher) Size() int { return sm3.Size }

// LeafHash is the tree's hash of one leaf: SM3(0x00 || leaf), the leaf
// being a license's Digest.
func LeafHash(leaf []byte) []byte {
	h := sm3.New()
	h.Write([]byte{leafPrefix})
	h.Write(leaf)
	return h.Sum(nil)
}

// NodeHash is the tree's hash of an inner node: SM3(0x01 || left || right).
func NodeHash(l, r []byte) []byte {
	h := sm3.New()
	h.Write([]byte{nodePrefix})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// BuildBatch makes the tree over the licenses' digests, in order, and
// returns the header to sign and each leaf's batch member (header, index,
// proof). The tree is RFC 6962's: built level by level, an odd node at the
// end of a level is carried up unchanged, which gives the same tree as the
// RFC's split at the largest power of two below the size.
func BuildBatch(id string, digests [][]byte) (BatchHeader, []Batch, error) {
	if len(digests) < 1 || len(digests) > MaxBatchSize {
		return BatchHeader{}, nil, invalid("batch.header.size", "%d licenses, want 1-%d", len(digests), MaxBatchSize)
	}
	if err := checkBatchID(id); err != nil {
		return BatchHeader{}, nil, err
	}
	level := make([][]byte, len(digests))
	for i, d := range digests {
		if len(d) != sm3.Size {
			return BatchHeader{}, nil, invalid(fmt.Sprintf("licenses[%d]", i), "digest of %d bytes, want %d", len(d), sm3.Size)
		}
		level[i] = LeafHash(d)
	}
	paths := make([][]string, len(digests))
	for i := range paths {
		paths[i] = []string{}
	}
	// pos[i] is leaf i's node at the current level.
	pos := make([]int, len(digests))
	for i := range pos {
		pos[i] = i
	}
	for len(level) > 1 {
		for i, p := range pos {
			if sib := p ^ 1; sib < len(level) {
				paths[i] = append(paths[i], hex.EncodeToString(level[sib]))
			}
			pos[i] = p / 2
		}
		next := make([][]byte, 0, (len(level)+1)/2)
		for j := 0; j+1 < len(level); j += 2 {
			next = append(next, NodeHash(level[j], level[j+1]))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	h := BatchHeader{Format: BatchFormat, ID: id, Hash: BatchHash, Size: int64(len(digests)), Root: hex.EncodeToString(level[0])}
	out := make([]Batch, len(digests))
	for i := range out {
		out[i] = Batch{Header: h, Index: int64(i), Proof: paths[i]}
	}
	return h, out, nil
}

// SignFunc signs a batch: it returns the SES_Signature (DER) of the seal
// over digest, the SM3 of the batch header's signing input.
type SignFunc func(ctx context.Context, digest []byte) ([]byte, error)

// SignBatch signs licenses as one batch named id: it validates every
// license and computes its digest, builds the tree, has sign sign the
// header's digest once, and returns each license's document in order,
// with the one signature and its own index and proof.
func SignBatch(ctx context.Context, id string, licenses []License, sign SignFunc) ([]Document, error) {
	digests := make([][]byte, len(licenses))
	for i, l := range licenses {
		d, err := Digest(l)
		if err != nil {
			return nil, fmt.Errorf("licenses[%d]: %w", i, err)
		}
		digests[i] = d
	}
	return SignBatchDigests(ctx, id, licenses, digests, sign)
}

// SignBatchDigests is SignBatch for licenses whose digests (Digest) the
// caller computed already, as it validated them.
func SignBatchDigests(ctx context.Context, id string, licenses []License, digests [][]byte, sign SignFunc) ([]Document, error) {
	if len(digests) != len(licenses) {
		return nil, fmt.Errorf("%w: %d digests for %d licenses", ErrInvalid, len(digests), len(licenses))
	}
	h, batches, err := BuildBatch(id, digests)
	if err != nil {
		return nil, err
	}
	digest, err := BatchDigest(h)
	if err != nil {
		return nil, err
	}
	sig, err := sign(ctx, digest)
	if err != nil {
		return nil, err
	}
	docs := make([]Document, len(licenses))
	for i, l := range licenses {
		docs[i] = Document{License: l, Signature: sig, Batch: &batches[i]}
	}
	return docs, nil
}

// decodeBatch reads the batch member strictly, as Decode reads the
// license: every member known and present once, in its own case, no null,
// and written back to the same canonical content. A member received
// already canonical, as the platform writes it, is that content as it
// stands (it can repeat no name); any other is canonicalized to compare,
// which also refuses repeated names Go decoding would have let pass.
func decodeBatch(raw json.RawMessage) (*Batch, error) {
	var b Batch
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: batch: %w", ErrInvalid, err)
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	back := b.appendCanonical(nil)
	if bytes.Equal(back, raw) {
		return &b, nil
	}
	received, err := canon.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: batch: %w", ErrInvalid, err)
	}
	if !bytes.Equal(back, received) {
		return nil, invalid("batch", "%s", firstDifference(received, back))
	}
	return &b, nil
}

func checkBatchID(id string) error {
	if id == "" || len(id) > maxBatchID {
		return invalid("batch.header.id", "%d characters, want 1-%d", len(id), maxBatchID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if ok := c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' || c == '_' || c == '-'; !ok {
			return invalid("batch.header.id", "character %q at position %d is not one of [0-9A-Za-z._-]", c, i+1)
		}
	}
	return nil
}

// hashHex decodes a hash written as 64 lower-case hex digits, its one
// spelling.
func hashHex(field, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sm3.Size || hex.EncodeToString(b) != s {
		return nil, invalid(field, "not %d lower-case hex digits", 2*sm3.Size)
	}
	return b, nil
}
