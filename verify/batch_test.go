package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/verify"
)

// The sample license's neighbours in its batch: the 41st and 43rd
// business licenses of the same issuer.
var batchIDs = []string{"BL000111350102003603210T00000000411", licenseID, "BL000111350102003603210T00000000439"}

// batchLicenses are three licenses of the issuer, the sample second.
func batchLicenses() []license.License {
	var ls []license.License
	for i, id := range batchIDs {
		l := sampleLicense()
		l.ID = id
		l.Number = "35010220260000004" + string(rune('1'+i))
		for j := range l.Status {
			l.Status[j].Index = int64(licenseIndex - 1 + i)
		}
		ls = append(ls, l)
	}
	return ls
}

// signBatch signs ls as one batch with the platform's seal at
// p.signedAt, as batch issuance will, and returns the documents.
func (p *platform) signBatch(t testing.TB, id string, ls []license.License) [][]byte {
	t.Helper()
	docs, err := license.SignBatch(context.Background(), id, ls, func(ctx context.Context, digest []byte) ([]byte, error) {
		_, sig, err := ses.Sign(ctx, p.seal, digest, p.signedAt, id, p.signerCert, p.signer)
		return sig, err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(docs))
	for i, d := range docs {
		if out[i], err = license.Encode(d); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// batchBundle is licenseBundle with the bits of the batch's other
// licenses clear.
func (p *platform) batchBundle(t testing.TB) verify.Bundle {
	b := p.licenseBundle(t)
	b.SetStatusList(verify.StatusSnapshot{ListURL: suspensionList, Purpose: "suspension", EncodedList: encodeList(t, 3), FetchedAt: fetched})
	b.SetStatusList(verify.StatusSnapshot{ListURL: revocationList, Purpose: "revocation", EncodedList: encodeList(t, 0), FetchedAt: fetched})
	return b
}

// rewrite decodes doc, changes it and encodes it again.
func rewrite(t *testing.T, doc []byte, change func(d *license.Document)) []byte {
	t.Helper()
	d, err := license.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	change(&d)
	out, err := license.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLicenseBatch verifies the middle license of a batch of three as it
// was signed and changed in each way a forger could: only the changed
// license fails, and it fails the check that names what changed.
func TestLicenseBatch(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	docs := p.signBatch(t, "20261123-0001", batchLicenses())
	other := p.signBatch(t, "20261123-0002", batchLicenses()[:2])
	at := t0.Add(24 * time.Hour)
	tests := []struct {
		name   string
		change func(doc []byte) []byte
		fail   map[string]string
	}{
		{name: "good", change: func(doc []byte) []byte { return doc }},
		{name: "one byte changed in the face", change: func(doc []byte) []byte {
			return bytes.Replace(doc, []byte("林晓峰"), []byte("林晓锋"), 1)
		}, fail: map[string]string{verify.CheckBatchInclusion: "changed after it was signed"}},
		{name: "one byte changed in the identifier", change: func(doc []byte) []byte {
			return bytes.Replace(doc, []byte(licenseID), []byte(licenseID[:34]+"6"), 1)
		}, fail: map[string]string{verify.CheckStructure: "check character", verify.CheckBatchInclusion: "changed after it was signed"}},
		{name: "another number, written well", change: func(doc []byte) []byte {
			return rewrite(t, doc, func(d *license.Document) { d.License.Number = "350102202600000099" })
		}, fail: map[string]string{verify.CheckBatchInclusion: "not leaf 1 of batch 20261123-0001 (3 licenses)"}},
		{name: "changed proof", change: func(doc []byte) []byte {
			return rewrite(t, doc, func(d *license.Document) { d.Batch.Proof[0] = d.Batch.Proof[1] })
		}, fail: map[string]string{verify.CheckBatchInclusion: "not leaf 1"}},
		{name: "proof of another leaf", change: func(doc []byte) []byte {
			d0, err := license.Decode(docs[0])
			if err != nil {
				t.Fatal(err)
			}
			return rewrite(t, doc, func(d *license.Document) { d.Batch.Proof = d0.Batch.Proof })
		}, fail: map[string]string{verify.CheckBatchInclusion: "not leaf 1"}},
		{name: "wrong index", change: func(doc []byte) []byte {
			return rewrite(t, doc, func(d *license.Document) { d.Batch.Index = 0 })
		}, fail: map[string]string{verify.CheckBatchInclusion: "not leaf 0"}},
		{name: "wrong size", change: func(doc []byte) []byte {
			// A tree of four gives leaf 1 a path of the same shape, so
			// the proof still leads to the root: the signed header
			// is what binds the size.
			return rewrite(t, doc, func(d *license.Document) { d.Batch.Header.Size = 4 })
		}, fail: map[string]string{verify.CheckSignature: "not the SM3 of this batch header"}},
		{name: "wrong root", change: func(doc []byte) []byte {
			return rewrite(t, doc, func(d *license.Document) { d.Batch.Header.Root = d.Batch.Proof[0] })
		}, fail: map[string]string{verify.CheckSignature: "not the SM3 of this batch header", verify.CheckBatchInclusion: "not leaf 1"}},
		{name: "swapped signature of another batch", change: func(doc []byte) []byte {
			d1, err := license.Decode(other[1])
			if err != nil {
				t.Fatal(err)
			}
			return rewrite(t, doc, func(d *license.Document) { d.Signature = d1.Signature })
		}, fail: map[string]string{verify.CheckSignature: "the signature is another batch's"}},
		{name: "the batch's header and signature from another batch", change: func(doc []byte) []byte {
			d1, err := license.Decode(other[1])
			if err != nil {
				t.Fatal(err)
			}
			return rewrite(t, doc, func(d *license.Document) { d.Signature, d.Batch.Header = d1.Signature, d1.Batch.Header })
		}, fail: map[string]string{verify.CheckBatchInclusion: "not leaf 1 of batch 20261123-0002 (2 licenses)"}},
		{name: "the batch signature as a single signature", change: func(doc []byte) []byte {
			return rewrite(t, doc, func(d *license.Document) { d.Batch = nil })
		}, fail: map[string]string{verify.CheckSignature: "the license was changed after it was signed"}},
		{name: "a single signature on a batch document", change: func(doc []byte) []byte {
			single, err := license.Decode(p.signLicense(t, sampleLicense()))
			if err != nil {
				t.Fatal(err)
			}
			return rewrite(t, doc, func(d *license.Document) { d.Signature = single.Signature })
		}, fail: map[string]string{verify.CheckSignature: "not the SM3 of this batch header"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := p.batchBundle(t)
			v := verify.License(context.Background(), tc.change(bytes.Clone(docs[1])), &b, at)
			checkLicenseVerdict(t, v, tc.fail, nil)
			// The batch's other licenses are untouched by what was done
			// to this one.
			for i, doc := range [][]byte{docs[0], docs[2]} {
				if v := verify.License(context.Background(), doc, &b, at); !v.Valid {
					t.Errorf("license %d of the batch: %+v", 2*i, v.Checks)
				}
			}
		})
	}
}

// TestEveryChangedByteFailsBatch changes, one at a time, every letter and
// digit of a batch-signed document's license and batch members: each
// change that leaves the document JSON makes the verdict not valid, by a
// failed signature (the header) or batch-inclusion (the license, index,
// proof).
func TestEveryChangedByteFailsBatch(t *testing.T) {
	p := newPlatformWith(t, platformOptions{sealCode: licenseSealCode})
	b := p.batchBundle(t)
	doc := p.signBatch(t, "20261123-0001", batchLicenses())[1]
	end := bytes.LastIndex(doc, []byte(`,"signature":`))
	ctx, at := context.Background(), t0.Add(time.Hour)
	changed := 0
	for i := len(`{"batch":`); i < end; i++ {
		c := doc[i]
		other, ok := nextOfKind(c)
		if !ok {
			continue
		}
		bad := bytes.Clone(doc)
		bad[i] = other
		if !json.Valid(bad) {
			continue
		}
		changed++
		v := verify.License(ctx, bad, &b, at)
		failed := false
		for _, c := range v.Checks {
			failed = failed || ((c.Name == verify.CheckSignature || c.Name == verify.CheckBatchInclusion || c.Name == verify.CheckStructure) && !c.OK)
		}
		if v.Valid || !failed {
			t.Fatalf("byte %d changed from %q to %q: valid %v: %+v", i, c, other, v.Valid, v.Checks)
		}
	}
	if changed < 600 {
		t.Fatalf("%d changes tried: the walk is broken", changed)
	}
}
