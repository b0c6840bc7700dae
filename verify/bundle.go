package verify

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// BundleFormat names trust bundle files.
const BundleFormat = "zhengzhao-seal-trust/v1"

// Bundle is a trust bundle: what offline seal and license verification
// needs, as one JSON file — the trusted roots, every seal's state history,
// the revoked certificates and, for licenses, the status lists and the
// approved license type versions, as of GeneratedAt — signed by the
// platform's internal root. It implements Trust and LicenseTrust. Get one from OpenBundle, which checks
// the signature; a Bundle built by hand is only as trustworthy as its
// builder.
type Bundle struct {
	Format      string    `json:"format"`
	GeneratedAt time.Time `json:"generated_at"`
	RootPEMs    []string  `json:"roots"` // PEM
	// Seals and Revoked are arrays in ascending order of seal code and of
	// fingerprint, not JSON objects keyed by them: RFC 8785 sorts object
	// members, which gowebpki/jcs does in quadratic time, while arrays keep
	// signing and opening a bundle linear in the number of seals. Use
	// SetHistory and SetRevoked to keep the order.
	Seals   []SealEntry  `json:"seals"`
	Revoked []Revocation `json:"revoked"`
	// StatusLists are the license status lists as the platform last read
	// them, in ascending order of list URL and purpose (SetStatusList),
	// and TypeVersions the approved versions of each license type, in
	// ascending order of type code (SetTypeVersions). Both are left out
	// of a bundle for seals only, which then reads and signs as before.
	StatusLists  []StatusSnapshot `json:"status_lists,omitempty"`
	TypeVersions []TypeVersions   `json:"type_versions,omitempty"`
	// PresentationKeys are the platform's keys that sign holders' QR
	// payloads, in ascending order of kid (SetPresentationKey); left out
	// of a bundle for seals only.
	PresentationKeys []PresentationKey `json:"presentation_keys,omitempty"`
	// Signature is the root's signature over SigningInput. The platform
	// always sets it; OpenBundle rejects a bundle without one.
	Signature *BundleSignature `json:"signature,omitempty"`

	// What OpenBundle prepared for verdicts: the parsed roots (valid while
	// RootPEMs is what they were parsed from) and the cache of verified
	// chains and seal structures.
	roots     []*smx509.Certificate
	rootsFrom []string
	memo      *Cache
	// The decoded status lists (valid while StatusLists is what they were
	// decoded from), keyed by list URL and purpose.
	bitstrings     map[string][]byte
	bitstringsFrom []StatusSnapshot
	// The parsed presentation keys (valid while PresentationKeys is what
	// they were parsed from), keyed by kid.
	presentationPubs map[string]crypto.PublicKey
	presentationFrom []PresentationKey
}

// bundleCacheSize bounds a bundle's cache: a few entries per seal.
const bundleCacheSize = 4096

// VerifyCache implements Caching: a bundle from OpenBundle remembers the
// chains and seal structures it verified. A bundle built by hand has no
// cache.
func (b *Bundle) VerifyCache() *Cache { return b.memo }

// SealEntry is one seal's state history in a trust bundle.
type SealEntry struct {
	Seal    string        `json:"seal"` // seal code
	History []StateChange `json:"history"`
	// Structures are the SHA-256 (hex) of the seal structures the platform
	// made for the seal (see Trust.SealStructures).
	Structures []string `json:"structures"`
}

// Revocation is a revoked certificate in a trust bundle.
type Revocation struct {
	Fingerprint string    `json:"fingerprint"` // SHA-256 of the certificate, hex
	At          time.Time `json:"at"`
}

// SetHistory sets the state history of a seal, keeping Seals in order.
func (b *Bundle) SetHistory(code string, h []StateChange) { b.entry(code).History = h }

// SetStructures sets the hashes of the structures made for a seal, keeping
// Seals in order.
func (b *Bundle) SetStructures(code string, hashes []string) { b.entry(code).Structures = hashes }

// find searches Seals, which is in order, for a seal.
func (b *Bundle) find(code string) (int, bool) {
	return slices.BinarySearchFunc(b.Seals, code, func(e SealEntry, c string) int { return strings.Compare(e.Seal, c) })
}

// entry returns the seal's entry, inserting it in order when it is new.
func (b *Bundle) entry(code string) *SealEntry {
	i, found := b.find(code)
	if !found {
		b.Seals = slices.Insert(b.Seals, i, SealEntry{Seal: code})
	}
	return &b.Seals[i]
}

// SetRevoked records a certificate's revocation, keeping Revoked in order.
func (b *Bundle) SetRevoked(fingerprint string, at time.Time) {
	i, found := slices.BinarySearchFunc(b.Revoked, fingerprint, func(r Revocation, f string) int { return strings.Compare(r.Fingerprint, f) })
	if found {
		b.Revoked[i].At = at
		return
	}
	b.Revoked = slices.Insert(b.Revoked, i, Revocation{Fingerprint: fingerprint, At: at})
}

// ordered checks that Seals and Revoked are in strictly ascending order,
// which lookups rely on and the platform always writes.
func (b *Bundle) ordered() error {
	for i := 1; i < len(b.Seals); i++ {
		if b.Seals[i-1].Seal >= b.Seals[i].Seal {
			return fmt.Errorf("%w: seals are not in ascending order of seal code at %q", ErrMalformedBundle, b.Seals[i].Seal)
		}
	}
	for i := 1; i < len(b.StatusLists); i++ {
		if s := b.StatusLists[i]; compareSnapshot(b.StatusLists[i-1], s.ListURL, s.Purpose) >= 0 {
			return fmt.Errorf("%w: status lists are not in ascending order of list URL and purpose at %q", ErrMalformedBundle, s.ListURL)
		}
	}
	for i := 1; i < len(b.TypeVersions); i++ {
		if b.TypeVersions[i-1].Type >= b.TypeVersions[i].Type {
			return fmt.Errorf("%w: type versions are not in ascending order of type code at %q", ErrMalformedBundle, b.TypeVersions[i].Type)
		}
	}
	for i := 1; i < len(b.Revoked); i++ {
		if b.Revoked[i-1].Fingerprint >= b.Revoked[i].Fingerprint {
			return fmt.Errorf("%w: revoked certificates are not in ascending order at %q", ErrMalformedBundle, b.Revoked[i].Fingerprint)
		}
	}
	return nil
}

// BundleSignature is the signature of a trust bundle.
type BundleSignature struct {
	// Alg is the signature algorithm: SM2-SM3 (the default), ECDSA-P256-SHA256
	// or Ed25519, as the root's key is.
	Alg string `json:"alg"`
	// Root is the SHA-256 fingerprint (lower-case hex) of the root
	// certificate, listed in the bundle's roots, whose key signed.
	Root string `json:"root"`
	// Value is the signature (base64 in JSON): ASN.1 DER for SM2 and ECDSA,
	// the raw 64 bytes for Ed25519.
	Value []byte `json:"value"`
}

// Errors of OpenBundle. Each means the bundle must not be used for
// verification; a caller reports it as bad input (the file, not a seal
// signature, is at fault) and gets a fresh bundle from the platform.
var (
	// ErrMalformedBundle: the file is not a trust bundle of this format.
	ErrMalformedBundle = errors.New("malformed trust bundle")
	// ErrUnsignedBundle: the bundle carries no signature.
	ErrUnsignedBundle = errors.New("trust bundle is not signed")
	// ErrBundleSignature: the signature does not verify — the bundle was
	// changed after the platform signed it, or was never signed by the
	// root it names.
	ErrBundleSignature = errors.New("trust bundle signature does not verify")
	// ErrRootNotPinned: the bundle is signed by another root than the one
	// the relying party pinned.
	ErrRootNotPinned = errors.New("trust bundle is signed by another root than the pinned one")
)

// SigningInput returns the bytes a bundle's signature covers: the RFC 8785
// canonical JSON of the bundle without its signature member. The platform
// signs them; OpenBundle recomputes them from the file it reads.
func (b Bundle) SigningInput() ([]byte, error) {
	b.Signature = nil
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	return signingInput(raw)
}

// signingInput canonicalizes the JSON object raw without its "signature"
// member. It works on the document as received, not on what Go decodes
// from it, so every byte of content — including members this version does
// not know — is covered, and decoding quirks (encoding/json matches names
// case-insensitively) cannot smuggle in unsigned content: any member but
// "signature" is signed. Canonicalizing is the expensive step (see
// OpenBundle), so it runs once, on the content; the top level is checked
// here for what decoding into a map would hide.
func signingInput(raw []byte) ([]byte, error) {
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrMalformedBundle)
	}
	members, err := topLevel(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBundle, err)
	}
	delete(members, "signature")
	content, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBundle, err)
	}
	// canon rejects what RFC 8785 forbids inside the members (duplicate
	// names, lone surrogates); the values are the received bytes.
	out, err := canon.Transform(content)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBundle, err)
	}
	return out, nil
}

// topLevel splits a JSON object into its members, rejecting duplicate
// names, which a map would silently merge.
func topLevel(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("duplicate member %q", name)
		}
		members[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// NormalizeFingerprint accepts a SHA-256 fingerprint as people copy it —
// upper or lower case, with or without colons or spaces (openssl prints
// "AB:CD:…") — and returns the platform's spelling, 64 lower-case hex
// digits.
func NormalizeFingerprint(s string) (string, error) {
	f := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(s)))
	if b, err := hex.DecodeString(f); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%q is not a SHA-256 fingerprint (64 hex digits)", s)
	}
	return f, nil
}

// OpenBundle parses a trust bundle file and checks its signature: the
// bundle must name, in signature.root, one of its own roots, and that
// root's key must have signed the canonical content (SigningInput). With
// pinnedRoot (a SHA-256 fingerprint, see NormalizeFingerprint) the signing
// root must be that one; without it, the bundle is only self-consistent,
// and the caller should show Signature.Root to a person who compares it
// with the fingerprint the platform publishes.
//
// Errors wrap ErrMalformedBundle, ErrUnsignedBundle, ErrBundleSignature or
// ErrRootNotPinned. Canonicalizing is quadratic in the number of members
// of one object, which the platform keeps small (see Bundle); bound the
// size of the file before calling OpenBundle on input from an untrusted
// channel.
func OpenBundle(data []byte, pinnedRoot string) (*Bundle, error) {
	var pin string
	if pinnedRoot != "" {
		p, err := NormalizeFingerprint(pinnedRoot)
		if err != nil {
			return nil, fmt.Errorf("pinned root: %w", err)
		}
		pin = p
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBundle, err)
	}
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformedBundle, b.Format, BundleFormat)
	}
	if b.Signature == nil {
		return nil, ErrUnsignedBundle
	}
	if err := b.ordered(); err != nil {
		return nil, err
	}
	sig := b.Signature
	if pin != "" && sig.Root != pin {
		return nil, fmt.Errorf("%w: signed by root %s, pinned %s", ErrRootNotPinned, sig.Root, pin)
	}
	roots, err := b.Roots(context.Background())
	if err != nil {
		return nil, err
	}
	var signer *smx509.Certificate
	for _, r := range roots {
		if Fingerprint(r.Raw) == sig.Root {
			signer = r
			break
		}
	}
	if signer == nil {
		return nil, fmt.Errorf("%w: the signing root %q is not among the bundle's roots", ErrBundleSignature, sig.Root)
	}
	alg, err := keys.AlgorithmOf(signer.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: root %s: %w", ErrBundleSignature, sig.Root, err)
	}
	if string(alg) != sig.Alg {
		return nil, fmt.Errorf("%w: algorithm %q, but root %s has a %s key", ErrBundleSignature, sig.Alg, sig.Root, alg)
	}
	msg, err := signingInput(data)
	if err != nil {
		return nil, err
	}
	if err := keys.Verify(alg, signer.PublicKey, msg, sig.Value); err != nil {
		return nil, fmt.Errorf("%w with root %s", ErrBundleSignature, sig.Root)
	}
	if err := b.decodeStatusLists(); err != nil {
		return nil, err
	}
	if err := b.parsePresentationKeys(); err != nil {
		return nil, err
	}
	b.roots, b.rootsFrom, b.memo = roots, slices.Clone(b.RootPEMs), NewCache(bundleCacheSize)
	return &b, nil
}

// Roots implements Trust.
func (b *Bundle) Roots(context.Context) ([]*smx509.Certificate, error) {
	if b.roots != nil && slices.Equal(b.rootsFrom, b.RootPEMs) {
		return slices.Clone(b.roots), nil
	}
	var out []*smx509.Certificate
	for _, p := range b.RootPEMs {
		certs, err := ca.ParsePEM([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("%w: root: %w", ErrMalformedBundle, err)
		}
		out = append(out, certs...)
	}
	return out, nil
}

// SealHistory implements Trust.
func (b *Bundle) SealHistory(_ context.Context, code string) ([]StateChange, bool, error) {
	i, found := b.find(code)
	if !found {
		return nil, false, nil
	}
	return b.Seals[i].History, true, nil
}

// SealStructures implements Trust.
func (b *Bundle) SealStructures(_ context.Context, code string) ([]string, error) {
	i, found := b.find(code)
	if !found {
		return nil, nil
	}
	return b.Seals[i].Structures, nil
}

// RevokedAt implements Trust.
func (b *Bundle) RevokedAt(_ context.Context, fingerprint string) (*time.Time, error) {
	i, found := slices.BinarySearchFunc(b.Revoked, fingerprint, func(r Revocation, f string) int { return strings.Compare(r.Fingerprint, f) })
	if !found {
		return nil, nil
	}
	at := b.Revoked[i].At
	return &at, nil
}
