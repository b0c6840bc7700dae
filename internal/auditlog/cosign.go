package auditlog

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// Witnesses cosign the log's checkpoints (C2SP tlog-cosignature v1,
// https://c2sp.org/tlog-cosignature): each holds its own Ed25519 key, keeps
// the last checkpoint it cosigned and cosigns a newer one only after
// checking that it extends the older. A checkpoint carrying the
// cosignatures of k independent witnesses was shown to all k: a platform
// that showed two histories would need k witnesses to sign both.

// Witness is a witness whose cosignatures the platform accepts.
type Witness struct {
	Name        string
	VerifierKey string // "name+hash+base64(0x04 || key)", as the witness publishes it
	verifier    note.Verifier
}

// ParseWitness reads a witness's verifier key: a cosignature/v1 Ed25519
// key (type 0x04), or a plain Ed25519 note key (type 0x01) taken as one.
func ParseWitness(vkey string) (Witness, error) {
	v, err := fnote.NewVerifierForCosignatureV1(strings.TrimSpace(vkey))
	if err != nil {
		return Witness{}, fmt.Errorf("witness verifier key: %w", err)
	}
	return Witness{Name: v.Name(), VerifierKey: strings.TrimSpace(vkey), verifier: v}, nil
}

// Verifier returns the note verifier of w's cosignatures.
func (w Witness) Verifier() note.Verifier { return w.verifier }

// Cosignature is one witness's cosignature of the checkpoint of Size.
type Cosignature struct {
	Witness    string
	Size       uint64
	Root       []byte
	Timestamp  uint64 // seconds since the Unix epoch, as the witness signed it
	Line       string // the signature line, "— name base64\n"
	ReceivedAt time.Time
	// Stored reports whether Submit stored it: false when the witness's
	// cosignature of that size was stored already.
	Stored bool
}

// CosignatureReader reads stored cosignatures.
type CosignatureReader interface {
	// AuditCosignatures returns the cosignatures of the checkpoint of size,
	// ordered by witness.
	AuditCosignatures(ctx context.Context, size uint64) ([]Cosignature, error)
	// NewestAuditCosignature returns the cosignature of the largest size
	// cosigned, the one of that size received first; apperr.NotFound when
	// none is stored.
	NewestAuditCosignature(ctx context.Context) (Cosignature, error)
}

// CosignatureTx is a transaction that stores cosignatures.
type CosignatureTx interface {
	Appender
	// LatestAuditCosignature returns the witness's cosignature of the
	// largest size, or apperr.NotFound.
	LatestAuditCosignature(ctx context.Context, witness string) (Cosignature, error)
	InsertAuditCosignature(ctx context.Context, c Cosignature) error
}

// CosignatureTxFunc runs fn in one transaction.
type CosignatureTxFunc func(ctx context.Context, fn func(CosignatureTx) error) error

// WitnessWindow is how long the newest cosigned checkpoint is served as
// the log's checkpoint (Witnessing.Checkpoint) after its first
// cosignature arrived, so that the other witnesses, fetching it within the
// window, cosign the same checkpoint and it gathers k of n cosignatures;
// after it the checkpoint of the current tree is served again.
const WitnessWindow = 30 * time.Second

// maxClockSkew is how far in the future a cosignature's timestamp may lie.
const maxClockSkew = 10 * time.Minute

// WitnessingDeps are what Witnessing is built from.
type WitnessingDeps struct {
	Log          Reader
	Cosignatures CosignatureReader
	Tx           CosignatureTxFunc
	Checkpoints  *Checkpointer
	Witnesses    []Witness
	Now          func() time.Time
}

// Witnessing accepts the cosignatures of the configured witnesses and
// serves checkpoints with the cosignatures they gathered.
type Witnessing struct {
	d         WitnessingDeps
	witnesses map[string]Witness
}

// NewWitnessing returns the witnessing service; two witnesses of one name
// are refused, since a cosignature names its witness by name.
func NewWitnessing(d WitnessingDeps) (*Witnessing, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	w := &Witnessing{d: d, witnesses: map[string]Witness{}}
	for _, wit := range d.Witnesses {
		if _, dup := w.witnesses[wit.Name]; dup {
			return nil, fmt.Errorf("two witnesses named %q", wit.Name)
		}
		w.witnesses[wit.Name] = wit
	}
	return w, nil
}

// Witnesses returns the configured witnesses.
func (w *Witnessing) Witnesses() []Witness { return w.d.Witnesses }

// Checkpoint returns the signed checkpoint the log serves, its stored
// cosignatures appended as further signature lines: the newest cosigned
// checkpoint while it is in its WitnessWindow, otherwise the current tree.
func (w *Witnessing) Checkpoint(ctx context.Context) ([]byte, error) {
	t, err := w.d.Log.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	size := t.Size
	newest, err := w.d.Cosignatures.NewestAuditCosignature(ctx)
	switch {
	case err == nil && newest.Size <= t.Size && w.d.Now().Sub(newest.ReceivedAt) < WitnessWindow:
		size = newest.Size
	case err != nil && !errors.Is(err, apperr.NotFound):
		return nil, err
	}
	msg, err := w.d.Checkpoints.CheckpointAt(ctx, size)
	if err != nil {
		return nil, err
	}
	cosigs, err := w.d.Cosignatures.AuditCosignatures(ctx, size)
	if err != nil {
		return nil, err
	}
	for _, c := range cosigs {
		if _, ok := w.witnesses[c.Witness]; ok { // a witness no longer configured is not vouched for
			msg = append(msg, c.Line...)
		}
	}
	return msg, nil
}

// rule is a refused submission: the field and rule the API names.
func rule(kind apperr.Kind, field, name, format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	return &apperr.Error{Kind: kind, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: name, Detail: detail}}}
}

// Submit checks a checkpoint note carrying cosignatures and stores those of
// configured witnesses. The note's body must be a checkpoint this log
// serves or served: its origin, and the root of the tree at its size. Each
// cosignature must verify under its witness's key (cosignature/v1, with
// its timestamp), lie no further than ten minutes in the future, and be
// no older than the witness's newest stored one: a witness only moves
// forward, so an older checkpoint's cosignature is a replay. Submitting a
// cosignature stored already changes nothing. The platform's own signature
// line, which the note carries as served, is not needed and not checked.
func (w *Witnessing) Submit(ctx context.Context, msg []byte) ([]Cosignature, error) {
	// Opened with no verifier, a well-formed note is "unverified" and
	// carries every signature line for the checks below.
	_, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil, rule(apperr.Invalid, "body", "signed-note", "not a signed note (C2SP signed-note)")
	}
	n := unverified.Note
	size, root, err := w.served(ctx, n.Text)
	if err != nil {
		return nil, err
	}
	origin, _, _ := strings.Cut(n.Text, "\n")
	var cosigs []Cosignature
	for _, sig := range n.UnverifiedSigs {
		wit, ok := w.witnesses[sig.Name]
		if !ok || wit.verifier.KeyHash() != sig.Hash {
			if sig.Name == origin {
				continue // the log's own signature
			}
			return nil, rule(apperr.Invalid, "body", "witness-unknown", "%q is not a configured witness of this log", sig.Name)
		}
		c, err := w.cosignature(msg, wit, sig)
		if err != nil {
			return nil, err
		}
		c.Size, c.Root = size, root
		cosigs = append(cosigs, c)
	}
	if len(cosigs) == 0 {
		return nil, rule(apperr.Invalid, "body", "cosignature", "the note carries no cosignature of a configured witness")
	}
	err = w.d.Tx(ctx, func(tx CosignatureTx) error {
		for i := range cosigs {
			if err := w.store(ctx, tx, &cosigs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cosigs, nil
}

// served returns the size and root of the checkpoint text if the log
// serves or served it: the text must be exactly the one the log signs for
// that size.
func (w *Witnessing) served(ctx context.Context, text string) (uint64, []byte, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return 0, nil, rule(apperr.Invalid, "body", "checkpoint", "the note's body is not a checkpoint of three lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || lines[1] != strconv.FormatUint(size, 10) {
		return 0, nil, rule(apperr.Invalid, "body", "checkpoint", "the checkpoint's size is not a decimal number")
	}
	origin, err := w.d.Checkpoints.Origin(ctx)
	if err != nil {
		return 0, nil, err
	}
	if lines[0] != origin {
		return 0, nil, rule(apperr.Invalid, "body", "origin", "the checkpoint is of %q, not of this log (%q)", lines[0], origin)
	}
	t, err := w.d.Log.AuditTree(ctx)
	if err != nil {
		return 0, nil, err
	}
	if size > t.Size {
		return 0, nil, rule(apperr.Invalid, "body", "served", "this log has %d entries, never %d", t.Size, size)
	}
	root, err := RootAt(ctx, w.d.Log, size)
	if err != nil {
		return 0, nil, err
	}
	if checkpointText(origin, size, root) != text {
		return 0, nil, rule(apperr.Invalid, "body", "served", "this log never served this checkpoint: its root at size %d differs", size)
	}
	return size, root, nil
}

// cosignature verifies the witness's signature line in msg.
func (w *Witnessing) cosignature(msg []byte, wit Witness, sig note.Signature) (Cosignature, error) {
	if _, err := note.Open(msg, note.VerifierList(wit.verifier)); err != nil {
		return Cosignature{}, rule(apperr.Invalid, "body", "cosignature", "the cosignature of %q does not verify (cosignature/v1)", wit.Name)
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Base64)
	if err != nil || len(raw) < 4+8 {
		return Cosignature{}, rule(apperr.Invalid, "body", "cosignature", "the cosignature of %q has no timestamp", wit.Name)
	}
	ts := binary.BigEndian.Uint64(raw[4:12])
	now := w.d.Now()
	if ts > uint64(now.Add(maxClockSkew).Unix()) { //nolint:gosec // the clock is past 1970
		return Cosignature{}, rule(apperr.Invalid, "body", "timestamp", "the cosignature of %q is dated %d, in the future", wit.Name, ts)
	}
	return Cosignature{Witness: wit.Name, Timestamp: ts, Line: "— " + sig.Name + " " + sig.Base64 + "\n", ReceivedAt: now.UTC()}, nil
}

// store keeps c unless the witness has cosigned a later checkpoint or the
// same one already, deciding on what the transaction reads.
func (w *Witnessing) store(ctx context.Context, tx CosignatureTx, c *Cosignature) error {
	latest, err := tx.LatestAuditCosignature(ctx, c.Witness)
	switch {
	case errors.Is(err, apperr.NotFound):
	case err != nil:
		return err
	case latest.Size > c.Size || (latest.Size < c.Size && latest.Timestamp > c.Timestamp):
		return rule(apperr.Conflict, "body", "replay", "witness %q has cosigned the checkpoint of size %d already; an older cosignature is refused",
			c.Witness, latest.Size)
	case latest.Size == c.Size:
		*c = latest
		c.Stored = false
		return nil
	}
	if err := tx.InsertAuditCosignature(ctx, *c); err != nil {
		return err
	}
	c.Stored = true
	return Append(ctx, tx, Entry{At: c.ReceivedAt, Actor: "system", Action: "audit.cosigned", Subject: c.Witness,
		Details: map[string]string{"size": strconv.FormatUint(c.Size, 10), "timestamp": strconv.FormatUint(c.Timestamp, 10)}})
}

// checkpointText is the body of the log's checkpoint of size (C2SP
// tlog-checkpoint, no extension lines).
func checkpointText(origin string, size uint64, root []byte) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root))
}

// RootAt returns the root of the tree of the first size entries, folded
// from the kept hashes of the complete subtrees that make it up.
func RootAt(ctx context.Context, st Reader, size uint64) ([]byte, error) {
	t, err := st.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case size > t.Size:
		return nil, apperr.New(apperr.NotFound, "the log has %d entries, not %d", t.Size, size)
	case size == 0:
		h := sha256.Sum256(nil) // RFC 6962: the root of the empty tree
		return h[:], nil
	case size == t.Size:
		return t.Root, nil
	}
	return rootAt(ctx, st, size)
}
