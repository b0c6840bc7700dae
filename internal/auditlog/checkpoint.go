package auditlog

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// Checkpoints are C2SP tlog-checkpoint notes: the origin, the tree size and
// the root hash, signed (C2SP signed-note, Ed25519) with the platform's
// checkpoint key, so that auditors and witnesses can hold the platform to
// one history.

// SignerFunc returns the platform's Ed25519 checkpoint signer, making its
// key on first use (keyring.Service.CheckpointSigner).
type SignerFunc func(ctx context.Context, platform string) (keys.Signer, error)

// Checkpointer signs checkpoints of the log.
type Checkpointer struct {
	store    Reader
	signer   SignerFunc
	platform func(ctx context.Context) (string, error) // the platform organization's credit code
}

// NewCheckpointer returns a checkpointer over the log in store.
func NewCheckpointer(store Reader, signer SignerFunc, platform func(ctx context.Context) (string, error)) *Checkpointer {
	return &Checkpointer{store: store, signer: signer, platform: platform}
}

// Origin names the log in its checkpoints.
func Origin(platform string) string { return "zhengzhao.audit/" + platform }

// key returns the checkpoint note signer.
func (c *Checkpointer) key(ctx context.Context) (*noteSigner, error) {
	platform, err := c.platform(ctx)
	if err != nil {
		return nil, err
	}
	signer, err := c.signer(ctx, platform)
	if err != nil {
		return nil, err
	}
	return newNoteSigner(ctx, Origin(platform), signer)
}

// VerifierKey returns the signed-note verifier key of the checkpoints
// ("name+hash+key"), which auditors pin.
func (c *Checkpointer) VerifierKey(ctx context.Context) (string, error) {
	ns, err := c.key(ctx)
	if err != nil {
		return "", err
	}
	return note.NewEd25519VerifierKey(ns.name, ns.signer.Public().(ed25519.PublicKey))
}

// Checkpoint signs the current tree head.
func (c *Checkpointer) Checkpoint(ctx context.Context) ([]byte, error) {
	t, err := c.store.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	return c.CheckpointAt(ctx, t.Size)
}

// CheckpointAt signs the head of the tree of the first size entries, which
// the log had when it was that size: the same bytes as the checkpoint
// signed then (Ed25519 signatures are deterministic).
func (c *Checkpointer) CheckpointAt(ctx context.Context, size uint64) ([]byte, error) {
	ns, err := c.key(ctx)
	if err != nil {
		return nil, err
	}
	root, err := RootAt(ctx, c.store, size)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: checkpointText(ns.name, size, root)}, ns)
}

// Origin returns the origin line of the log's checkpoints.
func (c *Checkpointer) Origin(ctx context.Context) (string, error) {
	platform, err := c.platform(ctx)
	if err != nil {
		return "", err
	}
	return Origin(platform), nil
}

// noteSigner signs notes with a key ring signer (Ed25519).
type noteSigner struct {
	ctx    context.Context
	name   string
	hash   uint32
	signer keys.Signer
}

func newNoteSigner(ctx context.Context, name string, s keys.Signer) (*noteSigner, error) {
	pub, ok := s.Public().(ed25519.PublicKey)
	if !ok || s.Algorithm() != keys.Ed25519 {
		return nil, fmt.Errorf("signed notes need an Ed25519 key, not %s", s.Algorithm())
	}
	// C2SP signed-note key hash: SHA-256(name || "\n" || 0x01 || key)[:4].
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(append([]byte{0x01}, pub...))
	return &noteSigner{ctx: ctx, name: name, hash: binary.BigEndian.Uint32(h.Sum(nil)), signer: s}, nil
}

func (n *noteSigner) Name() string                    { return n.name }
func (n *noteSigner) KeyHash() uint32                 { return n.hash }
func (n *noteSigner) Sign(msg []byte) ([]byte, error) { return n.signer.Sign(n.ctx, msg) }

// VerifyCheckpoint checks a checkpoint against a verifier key and returns
// its origin, size and root.
func VerifyCheckpoint(msg []byte, verifierKey string) (origin string, size uint64, root []byte, err error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return "", 0, nil, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return "", 0, nil, fmt.Errorf("checkpoint: %w", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return "", 0, nil, errors.New("checkpoint: fewer than three lines")
	}
	if size, err = strconv.ParseUint(lines[1], 10, 64); err != nil {
		return "", 0, nil, fmt.Errorf("checkpoint size: %w", err)
	}
	if root, err = base64.StdEncoding.DecodeString(lines[2]); err != nil || len(root) != sha256.Size {
		return "", 0, nil, errors.New("checkpoint root is not a base64 SHA-256 hash")
	}
	return lines[0], size, root, nil
}
