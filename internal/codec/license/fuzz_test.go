package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// FuzzDecode checks that Decode and Split never panic and refuse with
// ErrInvalid, that Split finds in every document Decode accepts its
// signing input and signature, and that whatever Decode accepts is the canonical form of its input once
// encoded, decodes again to the same document, and has a signing input.
func FuzzDecode(f *testing.F) {
	golden, err := os.ReadFile(goldenDoc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	batch, err := os.ReadFile(goldenBatchDoc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(batch)
	f.Add(encoded(f, sample()))
	f.Add([]byte(`{"license":{},"signature":""}`))
	f.Add([]byte(`{"license":{"face":{"a":1e2}},"signature":"AA=="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, splitErr := Split(data)
		in, sig := frame.SigningInput, frame.Signature
		if splitErr != nil && !errors.Is(splitErr, ErrInvalid) {
			t.Fatalf("Split error without ErrInvalid: %v", splitErr)
		}
		d, err := Decode(data)
		// The canonical fast path must answer exactly as the strict one.
		strict, strictErr := decodeStrict(data)
		if (err == nil) != (strictErr == nil) || (err != nil && err.Error() != strictErr.Error()) || !reflect.DeepEqual(d, strict) {
			t.Fatalf("Decode (%v) and decodeStrict (%v) disagree", err, strictErr)
		}
		if err == nil {
			signed, _ := d.SigningInput()
			if splitErr != nil || !bytes.Equal(in, signed) || !bytes.Equal(sig, d.Signature) || !reflect.DeepEqual(frame.Batch, d.Batch) {
				t.Fatalf("Split disagrees with Decode (err %v)", splitErr)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		out, err := Encode(d)
		if err != nil {
			t.Fatalf("accepted document does not encode: %v", err)
		}
		want, err := canon.Transform(data)
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("accepted document encodes to other content (err %v):\n%s\n%s", err, out, want)
		}
		again, err := Decode(out)
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("encoded document decodes differently (err %v)", err)
		}
		if _, err := SigningInput(d.License); err != nil {
			t.Fatalf("accepted license has no signing input: %v", err)
		}
	})
}

// FuzzSignature: the quick reading of a plain signature member answers
// exactly as the general one, on whatever JSON value it is given.
func FuzzSignature(f *testing.F) {
	for _, s := range []string{`"AA=="`, `"AAE="`, `"AB=="`, `"AA"`, `""`, `"A\nA=="`, `"AA\u003d="`, `"AA\r\n=="`, `"A A=="`,
		`"AA==AA=="`, `"=AA="`, `"_-=="`, `1`, `null`, `"中"`, `"AAAA"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // members hands signature only JSON values
		}
		got, err := signature(raw)
		want, wantErr := signatureStrict(raw)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) || !bytes.Equal(got, want) {
			t.Fatalf("%q: signature %x (%v), signatureStrict %x (%v)", raw, got, err, want, wantErr)
		}
	})
}

// TestDecodePathsAgree: documents the quick canonical path takes and those
// it leaves to the strict one decode, or are refused, alike.
func TestDecodePathsAgree(t *testing.T) {
	golden, err := os.ReadFile(goldenDoc)
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := canon.Transform(golden)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, canonical, "", "  "); err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		return bytes.Replace(canonical, []byte(old), []byte(new), 1)
	}
	for _, tc := range []struct {
		name  string
		doc   []byte
		quick bool
	}{
		{"canonical", canonical, true},
		{"indented", indented.Bytes(), false},
		{"member in another case", replace(`"license":{"`, `"license":{"Face":{},"`), false},
		{"repeated member", replace(`"license":{"`, `"license":{"face":{},"`), false},
		{"null member", replace(`"license":{"`, `"license":{"supersedes":null,"`), false},
		{"signature with a line break", replace(`"signature":"`, `"signature":"\n`), false},
		{"signature escaped", replace(`"signature":"M`, `"signature":"\u004d`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.doc)
			want, wantErr := decodeStrict(tc.doc)
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) || !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode (%v) and decodeStrict (%v) disagree", err, wantErr)
			}
			if _, quick := decodeCanonical(tc.doc); quick != tc.quick {
				t.Fatalf("canonical path taken: %v", quick)
			}
		})
	}
}
