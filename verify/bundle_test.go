package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/verify"
)

func TestOpenBundle(t *testing.T) {
	p := newPlatform(t)
	rootFP := verify.Fingerprint(p.root.Raw)
	signed := sign(t, p.bundle(), p.rootKey, p.root)
	otherKey, otherRoot := newRoot(t, keys.SM2SM3, "an impostor's root")
	otherFP := verify.Fingerprint(otherRoot.Raw)

	// A bundle whose roots include another root, signed by that root.
	withOther := p.bundle()
	withOther.RootPEMs = append(withOther.RootPEMs, pemOf(otherRoot.Raw))
	// The impostor's own bundle: its root only, its signature.
	impostor := p.bundle()
	impostor.RootPEMs = []string{pemOf(otherRoot.Raw)}

	// Lookups search Seals and Revoked by halves: a signed bundle out of
	// order is refused rather than misread.
	unordered := p.bundle()
	unordered.Seals = append(unordered.Seals, verify.SealEntry{Seal: "0"})
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(signed, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name string
		data []byte
		pin  string
		want error // nil: opens
	}{
		{"pinned", signed, rootFP, nil},
		{"pinned as openssl prints it", signed, strings.ToUpper(colons(rootFP)), nil},
		{"not pinned", signed, "", nil},
		{"compacted", compact(t, signed), rootFP, nil},
		{"signed by another root of the bundle, pinned to the platform", sign(t, withOther, otherKey, otherRoot), rootFP, verify.ErrRootNotPinned},
		{"signed by another root of the bundle, not pinned", sign(t, withOther, otherKey, otherRoot), "", nil},
		{"impostor, pinned to the platform", sign(t, impostor, otherKey, otherRoot), rootFP, verify.ErrRootNotPinned},
		{"impostor, pinned to the impostor", sign(t, impostor, otherKey, otherRoot), otherFP, nil},
		{"signed by a root not in the bundle", sign(t, p.bundle(), otherKey, otherRoot), otherFP, verify.ErrBundleSignature},
		{"seal suspended", edit(func(m map[string]any) {
			m["seals"].([]any)[0].(map[string]any)["history"].([]any)[0].(map[string]any)["state"] = "suspended"
		}), rootFP, verify.ErrBundleSignature},
		{"seal history shortened", edit(func(m map[string]any) { m["seals"].([]any)[0].(map[string]any)["history"] = []any{} }), rootFP, verify.ErrBundleSignature},
		{"seal added", edit(func(m map[string]any) {
			m["seals"] = append(m["seals"].([]any), map[string]any{"seal": "x", "history": []any{}})
		}), rootFP, verify.ErrBundleSignature},
		{"revocation added", edit(func(m map[string]any) {
			m["revoked"] = []any{map[string]any{"fingerprint": verify.Fingerprint(p.signerCert), "at": "2026-11-23T08:00:00Z"}}
		}), rootFP, verify.ErrBundleSignature},
		{"generation time changed", edit(func(m map[string]any) { m["generated_at"] = "2030-01-01T00:00:00Z" }), rootFP, verify.ErrBundleSignature},
		{"root added", edit(func(m map[string]any) { m["roots"] = append(m["roots"].([]any), pemOf(otherRoot.Raw)) }), rootFP, verify.ErrBundleSignature},
		{"unknown member added", edit(func(m map[string]any) { m["comment"] = "trust me" }), rootFP, verify.ErrBundleSignature},
		// encoding/json would decode "Signature" as the signature; the
		// signature does not cover itself, but it covers that member.
		{"signature under another name", edit(func(m map[string]any) { m["Signature"] = m["signature"]; delete(m, "signature") }), "", verify.ErrBundleSignature},
		{"algorithm changed", edit(func(m map[string]any) { m["signature"].(map[string]any)["alg"] = "Ed25519" }), rootFP, verify.ErrBundleSignature},
		{"unsigned", edit(func(m map[string]any) { delete(m, "signature") }), "", verify.ErrUnsignedBundle},
		{"duplicate member", append([]byte(`{"seals":[],`), signed[1:]...), rootFP, verify.ErrMalformedBundle},
		{"seals out of order", sign(t, unordered, p.rootKey, p.root), rootFP, verify.ErrMalformedBundle},
		{"other format", edit(func(m map[string]any) { m["format"] = "zhengzhao-seal-trust/v0" }), rootFP, verify.ErrMalformedBundle},
		{"not JSON", []byte("-----BEGIN CERTIFICATE-----"), "", verify.ErrMalformedBundle},
		{"not an object", []byte(`["zhengzhao-seal-trust/v1"]`), "", verify.ErrMalformedBundle},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := verify.OpenBundle(c.data, c.pin)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("error %v, want %v", err, c.want)
			case c.want == nil && c.pin != "" && b.Signature.Root != mustNormalize(t, c.pin):
				t.Fatalf("opened, signed by %s, pinned %s", b.Signature.Root, c.pin)
			}
		})
	}
	if _, err := verify.OpenBundle(signed, "abc"); err == nil || errors.Is(err, verify.ErrRootNotPinned) {
		t.Fatalf("a pin that is no fingerprint: %v", err)
	}
}

// TestOpenBundleEveryByte flips one bit of every byte of a signed bundle:
// no changed file may open to a different bundle. (A flip of a base64
// padding bit in the signature decodes to the same signature; such a file
// opens, to the same bundle.)
func TestOpenBundleEveryByte(t *testing.T) {
	p := newPlatform(t)
	signed := sign(t, p.bundle(), p.rootKey, p.root)
	want, err := verify.OpenBundle(signed, verify.Fingerprint(p.root.Raw))
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for i := range signed {
		changed := bytes.Clone(signed)
		changed[i] ^= 1
		b, err := verify.OpenBundle(changed, verify.Fingerprint(p.root.Raw))
		if err != nil {
			continue
		}
		opened++
		if !reflect.DeepEqual(b, want) {
			t.Errorf("flipping byte %d (%q) opens to a different bundle", i, signed[i])
		}
	}
	if opened > 2 {
		t.Errorf("%d changed files opened, want at most the base64 padding bits", opened)
	}
}

// TestBundleAlgorithms signs with a root of every algorithm.
func TestBundleAlgorithms(t *testing.T) {
	p := newPlatform(t)
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			key, root := newRoot(t, alg, "root "+string(alg))
			b := p.bundle()
			b.RootPEMs = []string{pemOf(root.Raw)}
			data := sign(t, b, key, root)
			opened, err := verify.OpenBundle(data, verify.Fingerprint(root.Raw))
			if err != nil {
				t.Fatal(err)
			}
			if opened.Signature.Alg != string(alg) {
				t.Fatalf("alg %s, want %s", opened.Signature.Alg, alg)
			}
			roots, err := opened.Roots(context.Background())
			if err != nil || len(roots) != 1 || !roots[0].Equal(root) {
				t.Fatalf("roots %v %v", roots, err)
			}
		})
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	fp := strings.Repeat("0a", 32)
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{fp, fp, true},
		{strings.ToUpper(fp), fp, true},
		{colons(fp), fp, true},
		{" " + fp + "\n", fp, true},
		{fp[:62], "", false},
		{fp + "00", "", false},
		{strings.Repeat("zz", 32), "", false},
		{"", "", false},
	} {
		got, err := verify.NormalizeFingerprint(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("NormalizeFingerprint(%q) = %q, %v; want %q, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzOpenBundle feeds trust bundle files, which come from outside: no
// input may panic, and a bundle that opens pinned is signed by the pin.
func FuzzOpenBundle(f *testing.F) {
	p := newPlatform(f)
	signed := sign(f, p.bundle(), p.rootKey, p.root)
	pin := verify.Fingerprint(p.root.Raw)
	f.Add(signed)
	f.Add(compact(f, signed))
	f.Add([]byte(`{"format":"zhengzhao-seal-trust/v1","signature":{"alg":"SM2-SM3","root":"` + pin + `","value":""}}`))
	f.Add([]byte(`{"format":"zhengzhao-seal-trust/v1","roots":["-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"],"signature":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := verify.OpenBundle(data, pin)
		if err != nil {
			return
		}
		if b.Signature == nil || b.Signature.Root != pin {
			t.Fatalf("opened a bundle signed by %+v, pinned %s", b.Signature, pin)
		}
		ctx := context.Background()
		if _, err := b.Roots(ctx); err != nil {
			t.Fatalf("an opened bundle's roots do not parse: %v", err)
		}
		if _, _, err := b.SealHistory(ctx, sealCode); err != nil {
			t.Fatalf("seal history of an opened bundle: %v", err)
		}
		if _, err := b.RevokedAt(ctx, pin); err != nil {
			t.Fatalf("revocations of an opened bundle: %v", err)
		}
	})
}

func compact(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// colons spells a hex fingerprint as openssl does, "0a:0b:…".
func colons(hex string) string {
	var parts []string
	for i := 0; i < len(hex); i += 2 {
		parts = append(parts, hex[i:i+2])
	}
	return strings.Join(parts, ":")
}

func mustNormalize(t *testing.T, s string) string {
	t.Helper()
	f, err := verify.NormalizeFingerprint(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestBundleOrder checks that SetHistory and SetRevoked keep the order the
// lookups need, whatever order they are called in.
func TestBundleOrder(t *testing.T) {
	ctx := context.Background()
	var b verify.Bundle
	codes := []string{"c", "a", "d", "b", "a"}
	for i, c := range codes {
		b.SetHistory(c, []verify.StateChange{{At: t0.Add(time.Duration(i) * time.Second), State: verify.SealActive}})
		b.SetRevoked(c+"f", t0.Add(time.Duration(i)*time.Second))
	}
	if len(b.Seals) != 4 || len(b.Revoked) != 4 {
		t.Fatalf("%d seals, %d revocations; want 4 each", len(b.Seals), len(b.Revoked))
	}
	for i, c := range []string{"a", "b", "c", "d"} {
		if b.Seals[i].Seal != c || b.Revoked[i].Fingerprint != c+"f" {
			t.Fatalf("entry %d is %q/%q, want %q", i, b.Seals[i].Seal, b.Revoked[i].Fingerprint, c)
		}
	}
	// "a" was set twice: the second history and revocation replace the first.
	if h, ok, _ := b.SealHistory(ctx, "a"); !ok || !h[0].At.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("history of a: %v %v", h, ok)
	}
	if at, _ := b.RevokedAt(ctx, "af"); at == nil || !at.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("revocation of af: %v", at)
	}
	if _, ok, _ := b.SealHistory(ctx, "e"); ok {
		t.Fatal("a seal that is not in the bundle was found")
	}
}

// BenchmarkOpenBundle opens signed bundles of 1,000 and 10,000 seals: the
// time per seal stays flat because the bundle holds seals in arrays, which
// canonicalization does not sort.
func BenchmarkOpenBundle(b *testing.B) {
	p := newPlatform(b)
	for _, n := range []int{1000, 10000} {
		bundle := p.bundle()
		for i := range n {
			bundle.SetHistory(fmt.Sprintf("%s%06d", sealCode[:24], i), []verify.StateChange{{At: t0, State: verify.SealActive}})
		}
		data := sign(b, bundle, p.rootKey, p.root)
		pin := verify.Fingerprint(p.root.Raw)
		b.Run(fmt.Sprintf("seals=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := verify.OpenBundle(data, pin); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
