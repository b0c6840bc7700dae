package license

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// numbered is the sample license with the n-th identifier and number of
// its type and issuer, and the n-th status index.
func numbered(n int) License {
	l := sample()
	id := fmt.Sprintf("BL0001%s%010d", issuerCode, n)
	l.ID = id + string(checkChar(id))
	l.Number = fmt.Sprintf("3501022026%08d", n)
	for i := range l.Status {
		l.Status[i].Index = int64(n - 1)
	}
	return l
}

func digestOf(t testing.TB, l License) []byte {
	t.Helper()
	d, err := Digest(l)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mth is RFC 6962 section 2.1's Merkle Tree Hash, written as the RFC
// defines it, against which BuildBatch's level-by-level tree is checked.
func mth(leaves [][]byte) []byte {
	if len(leaves) == 1 {
		return LeafHash(leaves[0])
	}
	k := 1
	for k<<1 < len(leaves) {
		k <<= 1
	}
	return NodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

// TestBuildBatchIsRFC6962 checks the tree and every proof of every size up
// to 130 against the RFC's definition, transparency-dev/merkle's compact
// ranges (the root) and its proof verifier (each proof).
func TestBuildBatchIsRFC6962(t *testing.T) {
	var digests [][]byte
	for n := 1; n <= 130; n++ {
		d := sm3.Sum([]byte{byte(n), byte(n >> 8)})
		digests = append(digests, d[:])
		h, batches, err := BuildBatch("b", digests)
		if err != nil {
			t.Fatal(err)
		}
		in, err := BatchSigningInput(h)
		if err != nil {
			t.Fatal(err)
		}
		if canonical, err := canon.JSON(h); err != nil || !bytes.Equal(in, canonical) {
			t.Fatalf("size %d: signing input %s, want the canonical JSON %s (%v)", n, in, canonical, err)
		}
		want := mth(digests)
		if h.Root != hex.EncodeToString(want) {
			t.Fatalf("size %d: root %s, want %s", n, h.Root, hex.EncodeToString(want))
		}
		rf := compact.RangeFactory{Hash: NodeHash}
		r := rf.NewEmptyRange(0)
		for _, d := range digests {
			if err := r.Append(LeafHash(d), nil); err != nil {
				t.Fatal(err)
			}
		}
		if root, err := r.GetRootHash(nil); err != nil || !bytes.Equal(root, want) {
			t.Fatalf("size %d: compact range root %x (err %v), want %x", n, root, err, want)
		}
		for i, b := range batches {
			if b.Header != h || b.Index != int64(i) {
				t.Fatalf("size %d leaf %d: batch %+v", n, i, b)
			}
			path := make([][]byte, len(b.Proof))
			for j, p := range b.Proof {
				path[j], _ = hex.DecodeString(p)
			}
			if err := proof.VerifyInclusion(Hasher{}, uint64(i), uint64(n), LeafHash(digests[i]), path, want); err != nil {
				t.Fatalf("size %d leaf %d: %v", n, i, err)
			}
			if err := b.Verify(digests[i]); err != nil {
				t.Fatalf("size %d leaf %d: %v", n, i, err)
			}
		}
	}
}

// TestBatchVerifyRefuses changes one thing at a time in a valid batch
// member and expects Verify to refuse it.
func TestBatchVerifyRefuses(t *testing.T) {
	var digests [][]byte
	for n := 1; n <= 11; n++ {
		digests = append(digests, digestOf(t, numbered(n)))
	}
	_, batches, err := BuildBatch("b-1", digests)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string) string { // changes the first hex digit
		c := "0"
		if s[0] == '0' {
			c = "1"
		}
		return c + s[1:]
	}
	tests := []struct {
		name   string
		change func(b *Batch, d *[]byte)
		want   error
	}{
		{"another license", func(_ *Batch, d *[]byte) { *d = digests[4] }, ErrNotIncluded},
		{"wrong index", func(b *Batch, _ *[]byte) { b.Index = 4 }, ErrNotIncluded},
		{"index of a sibling", func(b *Batch, _ *[]byte) { b.Index ^= 1 }, ErrNotIncluded},
		// A size whose tree gives leaf 2 a path of the same shape (12, 16)
		// passes Verify alone: the size is bound by the signed header.
		{"wrong size", func(b *Batch, _ *[]byte) { b.Header.Size = 4 }, ErrNotIncluded},
		{"smaller size", func(b *Batch, _ *[]byte) { b.Header.Size = 8 }, ErrNotIncluded},
		{"changed proof hash", func(b *Batch, _ *[]byte) { b.Proof[1] = flip(b.Proof[1]) }, ErrNotIncluded},
		{"proof too short", func(b *Batch, _ *[]byte) { b.Proof = b.Proof[:len(b.Proof)-1] }, ErrNotIncluded},
		{"proof too long", func(b *Batch, _ *[]byte) { b.Proof = append(b.Proof, b.Proof[0]) }, ErrNotIncluded},
		{"changed root", func(b *Batch, _ *[]byte) { b.Header.Root = flip(b.Header.Root) }, ErrNotIncluded},
		{"index beyond size", func(b *Batch, _ *[]byte) { b.Index = 11 }, ErrInvalid},
		{"upper-case hex", func(b *Batch, _ *[]byte) { b.Proof[0] = strings.ToUpper(b.Proof[0]) }, ErrInvalid},
		{"short digest", func(_ *Batch, d *[]byte) { *d = (*d)[:31] }, ErrNotIncluded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := batches[2]
			b.Proof = append([]string(nil), b.Proof...)
			d := digests[2]
			if err := b.Verify(d); err != nil {
				t.Fatalf("unchanged: %v", err)
			}
			tt.change(&b, &d)
			if err := b.Verify(d); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDecodeBatchStrict checks that the batch member is read as strictly
// as the license: another spelling of the same content is refused.
func TestDecodeBatchStrict(t *testing.T) {
	docs, err := SignBatch(context.Background(), "b-1", []License{numbered(1), numbered(2), numbered(3)},
		func(context.Context, []byte) ([]byte, error) { return []byte{0x30, 0x03, 0x02, 0x01, 0x04}, nil })
	if err != nil {
		t.Fatal(err)
	}
	good, err := Encode(docs[1])
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	if d.Batch == nil || d.Batch.Index != 1 || len(d.Batch.Proof) != 2 {
		t.Fatalf("decoded batch %+v", d.Batch)
	}
	again, err := Encode(d)
	if err != nil || !bytes.Equal(again, good) {
		t.Fatalf("Encode(Decode(doc)) differs (err %v)", err)
	}
	if !bytes.HasPrefix(good, []byte(`{"batch":{"header":{"format":"`+BatchFormat+`","hash":"`+BatchHash+`","id":"b-1","root":"`)) {
		t.Errorf("document does not begin with its batch header: %.120s", good)
	}
	tests := []struct{ name, from, to string }{
		{"unknown member", `"index":1,`, `"index":1,"note":"x",`},
		{"member in another case", `"index":1,`, `"Index":1,`},
		{"null proof", `"proof":[`, `"proof":null,"x":[`},
		{"index beyond size", `"index":1,`, `"index":3,`},
		{"negative index", `"index":1,`, `"index":-1,`},
		{"fractional index", `"index":1,`, `"index":1.5,`},
		{"other format", BatchFormat, "zhengzhao-license-batch/v2"},
		{"other hash", BatchHash, "SHA256-RFC6962"},
		{"size zero", `"size":3`, `"size":0`},
		{"bad id", `"id":"b-1"`, `"id":"b 1"`},
		{"repeated member", `"index":1,`, `"index":1,"index":1,`},
		{"batch null", `{"batch":{`, `{"batch":null,"x":{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(tt.from), []byte(tt.to), 1)
			if bytes.Equal(bad, good) {
				t.Fatalf("fixture: %q not in the document", tt.from)
			}
			if _, err := Decode(bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("Decode = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestBuildBatchRefuses checks the limits of a batch.
func TestBuildBatchRefuses(t *testing.T) {
	d := sm3.Sum(nil)
	tests := []struct {
		name    string
		id      string
		digests [][]byte
	}{
		{"empty", "b", nil},
		{"no id", "", [][]byte{d[:]}},
		{"id too long", strings.Repeat("b", 65), [][]byte{d[:]}},
		{"id with a slash", "a/b", [][]byte{d[:]}},
		{"short digest", "b", [][]byte{d[:31]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := BuildBatch(tt.id, tt.digests); !errors.Is(err, ErrInvalid) {
				t.Errorf("BuildBatch = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := SignBatch(context.Background(), "b", []License{{}}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("SignBatch of an invalid license = %v, want ErrInvalid", err)
	}
}

// The worked example of docs/license-format.md, "Batch signatures": a
// batch of three business licenses signed once by the seal of the single
// example, the second license's document, and the tree's vectors.
var (
	goldenBatchDoc     = filepath.Join("testdata", "batch-license-2.json")
	goldenBatchVectors = filepath.Join("testdata", "batch-vectors.txt")
)

// TestGoldenBatch keeps the worked example reproducible and checks it as
// a GB/T 38540 reader would: the signature's dataHash is the SM3 of the
// canonical header, and the license's proof leads to the header's root.
func TestGoldenBatch(t *testing.T) {
	sign, _ := goldenSealer(t)
	ls := []License{numbered(41), numbered(42), numbered(43)}
	var signedDigest []byte
	docs, err := SignBatch(context.Background(), "20261123-0001", ls, func(_ context.Context, digest []byte) ([]byte, error) {
		signedDigest = digest
		return sign(digest, "20261123-0001"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Encode(docs[1])
	if err != nil {
		t.Fatal(err)
	}
	h := docs[1].Batch.Header
	header, err := BatchSigningInput(h)
	if err != nil {
		t.Fatal(err)
	}
	var v strings.Builder
	fmt.Fprintf(&v, "header (signing input, %d bytes): %s\n", len(header), header)
	fmt.Fprintf(&v, "header SM3 (the SES_Signature's dataHash): %x\n", signedDigest)
	var leaves [][]byte
	for i, l := range ls {
		d := digestOf(t, l)
		leaves = append(leaves, LeafHash(d))
		fmt.Fprintf(&v, "license %d %s: digest %x\n", i, l.ID, d)
		fmt.Fprintf(&v, "leaf hash %d = SM3(00 || digest %d): %x\n", i, i, leaves[i])
	}
	n01 := NodeHash(leaves[0], leaves[1])
	fmt.Fprintf(&v, "node hash 0-1 = SM3(01 || leaf 0 || leaf 1): %x\n", n01)
	root := NodeHash(n01, leaves[2])
	fmt.Fprintf(&v, "root = SM3(01 || node 0-1 || leaf 2): %x\n", root)
	for i, d := range docs {
		fmt.Fprintf(&v, "proof %d: [%s]\n", i, strings.Join(d.Batch.Proof, ", "))
	}
	files := map[string][]byte{goldenBatchDoc: doc, goldenBatchVectors: []byte(v.String())}
	checkGolden(t, files)
	if h.Root != hex.EncodeToString(root) {
		t.Errorf("header root %s, want %x", h.Root, root)
	}
	if want := sm3.Sum(header); !bytes.Equal(signedDigest, want[:]) {
		t.Errorf("signed digest %x, want the SM3 of the header %x", signedDigest, want)
	}
	if got := docs[1].Batch.Proof; len(got) != 2 || got[0] != hex.EncodeToString(leaves[0]) || got[1] != hex.EncodeToString(leaves[2]) {
		t.Errorf("proof of leaf 1 %v, want [leaf 0, leaf 2]", got)
	}

	d, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ses.ParseSignature(d.Signature)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := d.SignedData()
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"signer signature": sig.VerifySignature(),
		"header digest":    sig.CheckDocument(signed),
		"maker signature":  sig.TBS.Seal.VerifyMaker(),
		"inclusion":        d.Batch.Verify(digestOf(t, d.License)),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The signature covers the header, not any one license: a license's
	// own digest is not what it signed.
	if err := sig.CheckDigest(digestOf(t, d.License)); err == nil {
		t.Error("the batch signature passes as the signature of one license")
	}
	changed := d.License
	changed.Holder.Name = "福州闽江示例科技有限责任公司"
	if err := d.Batch.Verify(digestOf(t, changed)); !errors.Is(err, ErrNotIncluded) {
		t.Errorf("changed license: %v, want ErrNotIncluded", err)
	}
}

// FuzzDecodeBatch checks the batch proof decoder on outside input: never
// a panic, errors wrap ErrInvalid, what it accepts it writes back to the
// same canonical content, and Verify on it answers ErrNotIncluded or nil.
func FuzzDecodeBatch(f *testing.F) {
	_, batches, err := BuildBatch("b-1", [][]byte{digestOf(f, numbered(1)), digestOf(f, numbered(2)), digestOf(f, numbered(3))})
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range batches {
		raw, err := canon.JSON(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"header":{},"index":0,"proof":[]}`))
	f.Add([]byte(`{"header":{"format":"zhengzhao-license-batch/v1","hash":"SM3-RFC6962","id":"x","root":"00","size":1},"index":0,"proof":null}`))
	leaf := digestOf(f, numbered(1))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		back, err := canon.JSON(*b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeBatch(back)
		received, cerr := canon.Transform(data)
		if err != nil || cerr != nil || !bytes.Equal(received, back) {
			t.Fatalf("accepted batch does not round-trip (err %v)", err)
		}
		if again.Index != b.Index || again.Header != b.Header {
			t.Fatal("round trip changed the batch")
		}
		if err := b.Verify(leaf); err != nil && !errors.Is(err, ErrNotIncluded) {
			t.Fatalf("Verify error without ErrNotIncluded: %v", err)
		}
	})
}

// TestEncodeSignedIsEncode puts documents together around their signing
// input, batch-signed and alone, with signatures of every length mod 3:
// the bytes are Encode's.
func TestEncodeSignedIsEncode(t *testing.T) {
	ls := []License{numbered(1), numbered(2), numbered(3)}
	sig := []byte{}
	docs, err := SignBatch(context.Background(), "b-1", ls, func(context.Context, []byte) ([]byte, error) {
		sig = append(sig, 0x30, 0xff, '"')
		return sig, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, Document{License: ls[0], Signature: []byte{1}}, Document{License: ls[1], Signature: []byte{1, 2}},
		Document{License: ls[2], Signature: []byte{1, 2, 3, 0xfb}})
	for i, d := range docs {
		in, err := SigningInput(d.License)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeSigned(d, in)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("document %d: EncodeSigned\n%s (%v)\nEncode\n%s", i, got, err, want)
		}
	}
	if _, err := EncodeSigned(Document{License: ls[0]}, []byte("{}")); err == nil {
		t.Error("a document without a signature was encoded")
	}
}
