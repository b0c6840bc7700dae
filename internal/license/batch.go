package license

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/seal"
)

// MaxBatch bounds the licenses of one IssueBatch: they are recorded in
// one transaction with their one signature, which a bulk import should
// keep to seconds, not minutes.
const MaxBatch = 10000

// IssueBatch issues licenses of one type as one batch (batch seal signing of R-ISS-3;
// docs/license-format.md, "Batch signatures"): the bound license-issuing
// seal signs once, over the root of a tree of the licenses' digests, and
// each document carries that signature and its own inclusion proof. It
// checks every license as Issue does and refuses the whole batch, naming
// each broken rule as licenses[i].field, before anything is written but
// the sequences; then, in ONE transaction, it claims each status slot and
// records each license (the intents), has the seal sign the batch (one
// use record, one seal audit entry), stores each signed version and its
// materials, and appends each license's audit entry (naming the batch)
// and outbox event. A refusal writes nothing.
//
// It is the Go API a bulk import builds on; no route reaches it yet.
func (s *Service) IssueBatch(ctx context.Context, actor *authz.Actor, ns []NewLicense) ([]Issued, error) {
	out, err := s.issueBatch(ctx, actor, ns)
	typ := ""
	if len(ns) > 0 {
		typ = ns[0].Type
	}
	return out, s.refused(ctx, actor, "issue", typ, err)
}

// batchItem is one license of a batch as checks leave it, before it is
// signed.
type batchItem struct {
	l    License
	face []byte
}

func (s *Service) issueBatch(ctx context.Context, actor *authz.Actor, ns []NewLicense) ([]Issued, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return nil, err
	}
	if len(ns) < 1 || len(ns) > MaxBatch {
		return nil, fieldErr(apperr.Invalid, "licenses", "count", fmt.Sprintf("a batch has 1-%d licenses, not %d", MaxBatch, len(ns)))
	}
	// The first license names the batch's type: a refusal of the type
	// (unknown, not issued by this organization) is the whole batch's.
	e, _, err := s.usableType(ctx, issuer, ns[0])
	if err != nil {
		return nil, prefixed("licenses[0].", err)
	}
	o, err := s.orgs.GetOrg(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("issuing organization %s: %w", issuer, err)
	}
	now := s.now().UTC().Truncate(time.Second)
	items := make([]batchItem, len(ns))
	var fs apperr.Fields
	for i, n := range ns {
		prefix := "licenses[" + strconv.Itoa(i) + "]."
		if strings.TrimSpace(n.Type) != e.Code {
			fs.Add(prefix+"type", "same-type", fmt.Sprintf("a batch is of one license type, %s", e.Code))
			continue
		}
		_, v, err := s.usableType(ctx, issuer, n)
		if err != nil {
			if !addFields(&fs, prefix, err) {
				return nil, err
			}
			continue
		}
		face, holderID, from, until, err := s.check(e, v, n, now)
		if err != nil {
			if !addFields(&fs, prefix, err) {
				return nil, err
			}
			continue
		}
		items[i] = batchItem{face: face, l: License{TypeCode: e.Code, TypeVersion: v.Number, Issuer: issuer, HolderKind: e.HolderKind,
			HolderID: holderID, HolderName: strings.TrimSpace(n.HolderName), ValidFrom: from, ValidUntil: until, State: Active, Version: 1,
			IssuedBy: actor.AccountID, IssuedAt: now, UpdatedAt: now}}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	sealID, err := s.sealOf(ctx, issuer)
	if err != nil {
		return nil, err
	}
	if err := s.seals.CheckBound(ctx, seal.BoundSign{Org: issuer, SealID: sealID, LicenseType: e.Code}); err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].l.ID, items[i].l.Number, err = s.identifiers(ctx, e, o, now); err != nil {
			return nil, err
		}
		items[i].l.SealID = sealID
	}
	batchID, err := timeID("lba", now)
	if err != nil {
		return nil, err
	}
	out := make([]Issued, len(items))
	err = s.tx(ctx, func(st Tx) error {
		docs := make([]codec.License, len(items))
		ins, digests := make([][]byte, len(items)), make([][]byte, len(items))
		allocs, err := s.status.AllocateN(ctx, st, issuer, len(items))
		if err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			if docs[i], ins[i], digests[i], err = s.draftIn(ctx, &it.l, o, it.face, allocs[i], st.InsertLicense); err != nil {
				return err
			}
		}
		signed, useID, err := s.sealBatch(ctx, st, batchID, seal.BoundSign{Org: issuer, SealID: sealID, LicenseType: e.Code,
			Title: fmt.Sprintf("license batch %s (%d licenses)", batchID, len(docs)), Actor: actor.AccountID}, docs, digests)
		if err != nil {
			return err
		}
		for i, it := range items {
			doc, err := s.keep(ctx, st, it.l, signed[i], ins[i], useID, now)
			if err != nil {
				return err
			}
			ms, err := storeMaterials(ctx, st, it.l, ns[i].Materials)
			if err != nil {
				return err
			}
			out[i] = Issued{License: it.l, Document: doc, Materials: ms}
			if err := s.recordIssuedIn(ctx, st, it.l, ms, batchID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sealBatch has the bound seal b names sign docs, whose digests are
// given, as the batch id in st: one signature, one seal use, whose
// identifier it returns with the signed documents.
func (s *Service) sealBatch(ctx context.Context, st Tx, id string, b seal.BoundSign, docs []codec.License, digests [][]byte) ([]codec.Document, string, error) {
	var useID string
	signed, err := codec.SignBatchDigests(ctx, id, docs, digests, func(ctx context.Context, digest []byte) ([]byte, error) {
		b.Digest, b.PropertyInfo = digest, id
		sig, use, err := s.seals.SignBound(ctx, st, b)
		useID = use.ID
		return sig, err
	})
	return signed, useID, err
}

// sealEach has the bound seal b names sign each of docs by itself, as
// sign signs one license (its title and propertyInfo), in st: one
// decision, one audit entry for all the signatures. It returns the signed
// documents, each one's seal use and the root that entry names.
func (s *Service) sealEach(ctx context.Context, st Tx, b seal.BoundSign, docs []codec.License, digests [][]byte) ([]codec.Document, []string, string, error) {
	in := make([]seal.BoundDoc, len(docs))
	for i, d := range docs {
		in[i] = seal.BoundDoc{Digest: digests[i], Title: "license " + d.ID, PropertyInfo: d.ID}
	}
	out, err := s.seals.SignBoundEach(ctx, st, b, in)
	if err != nil {
		return nil, nil, "", err
	}
	signed, useIDs := make([]codec.Document, len(docs)), make([]string, len(docs))
	for i, u := range out.Uses {
		signed[i], useIDs[i] = codec.Document{License: docs[i], Signature: u.Signature}, u.ID
	}
	return signed, useIDs, out.Root, nil
}

// prefixed is err with each of its fields under prefix, its kind kept.
func prefixed(prefix string, err error) error {
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return err
	}
	out := *ae
	out.Fields = make([]apperr.FieldError, len(ae.Fields))
	for i, f := range ae.Fields {
		f.Field = prefix + f.Field
		out.Fields[i] = f
	}
	return &out
}

// addFields adds the field errors of err to fs, each field under prefix,
// and reports whether err was such a refusal.
func addFields(fs *apperr.Fields, prefix string, err error) bool {
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return false
	}
	for _, f := range ae.Fields {
		fs.Add(prefix+f.Field, f.Rule, f.Detail)
	}
	return true
}
