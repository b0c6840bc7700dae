package seal

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle/compact"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// MaxBoundEach bounds the documents of one SignBoundEach: its use records
// and signatures are held and written in the caller's one transaction.
const MaxBoundEach = 10000

// BoundDoc is one document SignBoundEach signs by itself.
type BoundDoc struct {
	Digest       []byte // SM3 digest of the document
	Title        string // the document, for its use record
	PropertyInfo string // GB/T 38540 propertyInfo; default "zhengzhao"
}

// BoundEach is what SignBoundEach made: each document's use record (its
// Signature the SES_Signature, in the order of the documents) and the root
// the audit entry names.
type BoundEach struct {
	Uses []Use
	// Root is the hex root of the SM3 RFC 6962 tree over the documents'
	// digests in ascending byte order: it commits to every digest signed,
	// whatever order they came in.
	Root string
}

// SignBoundEach is SignBound for many documents, each signed by itself —
// each signature is exactly the one SignBound makes for that document, so
// it verifies as a single signature does — with one decision on the seal
// and its binding, one load of its key and certificates, the signatures
// computed on up to GOMAXPROCS goroutines (one, when the key does not sign
// concurrently), one use record per document written together, and ONE
// audit entry (seal.sign.bound.each) for all of them, naming their count
// and Root rather than an entry a document, so that a bulk import does not
// grow the audit log by an entry a license. req.Title titles that entry;
// req.Digest and req.PropertyInfo are unused. As with SignBound, the
// signatures count only if st commits, and a refusal writes nothing.
func (s *Service) SignBoundEach(ctx context.Context, st BoundTx, req BoundSign, docs []BoundDoc) (BoundEach, error) {
	var fs apperr.Fields
	if len(docs) < 1 || len(docs) > MaxBoundEach {
		fs.Add("docs", "count", fmt.Sprintf("1-%d documents, not %d", MaxBoundEach, len(docs)))
	}
	checkName(&fs, "title", req.Title, 200)
	for i, d := range docs {
		if len(d.Digest) != sm3.Size {
			fs.Add("docs["+strconv.Itoa(i)+"].digest", "sm3", "an SM3 digest is 32 bytes")
		}
		checkName(&fs, "docs["+strconv.Itoa(i)+"].title", d.Title, 200)
	}
	if err := fs.Err(); err != nil {
		return BoundEach{}, err
	}
	now := s.now()
	x, b, err := s.bound(ctx, st, &req, now)
	if err != nil {
		return BoundEach{}, err
	}
	sp, err := s.stamper(ctx, st, x, now)
	if err != nil {
		return BoundEach{}, err
	}
	sigs, err := sp.signAll(ctx, docs)
	if err != nil {
		return BoundEach{}, err
	}
	actor := req.Actor
	if actor == "" {
		actor = "system"
	}
	uses := make([]Use, len(docs))
	for i, d := range docs {
		id, err := s.newID("use")
		if err != nil {
			return BoundEach{}, err
		}
		uses[i] = Use{ID: id, SealID: x.ID, Kind: UseBound, BindingID: b.ID, Title: strings.TrimSpace(d.Title),
			DocHash: hex.EncodeToString(d.Digest), Signer: actor, SignedAt: now, CertFingerprint: sp.cert.Fingerprint, Signature: sigs[i]}
	}
	if err := st.InsertUses(ctx, uses); err != nil {
		return BoundEach{}, err
	}
	root, err := digestsRoot(docs)
	if err != nil {
		return BoundEach{}, err
	}
	details := map[string]string{"count": strconv.Itoa(len(uses)), "root": root, "hash": codec.BatchHash, "binding": b.ID,
		"service": string(b.Service), "certificate": sp.cert.Fingerprint, "title": strings.TrimSpace(req.Title)}
	if req.LicenseType != "" {
		details["license_type"] = req.LicenseType
	}
	if err := s.record(ctx, st, actor, x.Org, "seal.sign.bound.each", x.ID, details); err != nil {
		return BoundEach{}, err
	}
	return BoundEach{Uses: uses, Root: root}, nil
}

// signAll signs each document's digest, in parallel on up to GOMAXPROCS
// goroutines when the key signs concurrently, and returns the signatures
// in the order of docs; the first error stops the rest.
func (sp sealStamper) signAll(ctx context.Context, docs []BoundDoc) ([][]byte, error) {
	workers := 1
	if keys.SignsConcurrently(sp.signer) {
		workers = min(runtime.GOMAXPROCS(0), len(docs))
	}
	sigs := make([][]byte, len(docs))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(docs) && ctx.Err() == nil; i += workers {
				sg, err := sp.sign(ctx, docs[i].Digest, docs[i].PropertyInfo)
				if err != nil {
					cancel(err)
					return
				}
				sigs[i] = sg.signature
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return sigs, nil
}

// digestsRoot is the hex root of the SM3 RFC 6962 tree (the hashing of
// batch signatures, codec.BatchHash) over the documents' digests sorted
// in ascending byte order.
func digestsRoot(docs []BoundDoc) (string, error) {
	leaves := make([][]byte, len(docs))
	for i, d := range docs {
		leaves[i] = d.Digest
	}
	slices.SortFunc(leaves, bytes.Compare)
	rf := compact.RangeFactory{Hash: codec.NodeHash}
	r := rf.NewEmptyRange(0)
	for _, l := range leaves {
		if err := r.Append(codec.LeafHash(l), nil); err != nil {
			return "", fmt.Errorf("tree of signed digests: %w", err)
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return "", fmt.Errorf("tree of signed digests: %w", err)
	}
	return hex.EncodeToString(root), nil
}
