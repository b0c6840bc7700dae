package envelope

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
)

// Format versions. A new layout gets a new number; old ones stay readable.
const (
	wrappedKeyVersion = 1
	// fieldVersion1 is the first field layout. It does not say which data
	// key sealed the value: it is always the purpose's original key (the
	// store's version 1). Seal writes it only for a key without an ID.
	fieldVersion1 = 1
	// fieldVersion2 names the data key that sealed the value, so that a
	// purpose can have several data keys while values move to the newest.
	fieldVersion2 = 2
)

const (
	nonceSize = 12 // GCM standard nonce
	tagSize   = 16 // GCM tag
	keyIDSize = 4  // KeyID, big-endian, in field layout 2
	// wrapped key: version, suite, master key ID, nonce, sealed key.
	wrappedHeaderSize = 2 + idSize
	// field ciphertext layout 1: version, suite, nonce, sealed value.
	fieldHeaderSize1 = 2
	// field ciphertext layout 2: version, suite, key ID, nonce, sealed value.
	fieldHeaderSize2 = 2 + keyIDSize
)

// Domain-separation prefixes of the GCM additional data.
const (
	adWrappedKey = "github.com/zhengzhao/zhengzhao/envelope/v1/wrapped-key\x00"
	adField      = "github.com/zhengzhao/zhengzhao/envelope/v1/field\x00"
)

// ErrDecrypt is returned (wrapped) whenever a wrapped key or ciphertext
// cannot be decrypted: wrong master or data key, wrong AD (the value was
// moved to another table, row or column), truncation, corruption or an
// unknown format. No plaintext is ever returned with it. Callers treat the
// stored value as tampered or misconfigured: log it, alert, and do not
// retry; never fall back to showing the raw bytes.
var ErrDecrypt = errors.New("envelope: decryption failed")

// ErrWrongMasterKey is returned, wrapped together with ErrDecrypt, when a
// wrapped key names a master key other than the one given. Callers can use
// WrappedKey.MasterKeyID to find the right one (for example during a
// master key rotation).
var ErrWrongMasterKey = errors.New("envelope: wrapped under another master key")

// WrappedKey is a data key encrypted under a master key. It is a
// self-describing byte string safe to store next to the data:
//
//	version(1) | suite(1) | master key ID(8) | nonce(12) | GCM(data key)
//
// The header is authenticated as additional data.
type WrappedKey []byte

// MasterKeyID returns the ID of the master key that wrapped w, in the form
// of MasterKey.ID.
func (w WrappedKey) MasterKeyID() (string, error) {
	if _, err := w.check(); err != nil {
		return "", err
	}
	return hex.EncodeToString(w[2:wrappedHeaderSize]), nil
}

// Suite returns the cipher suite of the data key in w.
func (w WrappedKey) Suite() (Suite, error) {
	return w.check()
}

// check validates the layout of w and returns its suite.
func (w WrappedKey) check() (Suite, error) {
	if len(w) < wrappedHeaderSize {
		return 0, fmt.Errorf("wrapped key: %w: %d bytes is too short", ErrDecrypt, len(w))
	}
	if w[0] != wrappedKeyVersion {
		return 0, fmt.Errorf("wrapped key: %w: unsupported version %d", ErrDecrypt, w[0])
	}
	s := Suite(w[1])
	if !s.valid() {
		return 0, fmt.Errorf("wrapped key: %w: %w: %d", ErrDecrypt, ErrUnknownSuite, w[1])
	}
	if want := wrappedHeaderSize + nonceSize + s.keySize() + tagSize; len(w) != want {
		return 0, fmt.Errorf("wrapped key: %w: %d bytes, want %d for %s", ErrDecrypt, len(w), want, s)
	}
	return s, nil
}

// DataKey encrypts and decrypts column values. It is safe for concurrent
// use. With random 96-bit nonces, one data key must seal at most 2^32
// values (NIST SP 800-38D); rotate data keys well before that. A key made
// by NewDataKey or Unwrap has no ID (Unnamed); give it one with WithID.
type DataKey struct {
	suite Suite
	id    KeyID // Unnamed: seal field layout 1
	aead  cipher.AEAD
	rand  io.Reader
}

// KeyID names one data key among the data keys of a purpose (the store
// uses its version number, counting from 1). Field layout 2 carries it, so
// a reader knows which data key to open a value with.
type KeyID uint32

// Unnamed is the KeyID of a data key that has none, and what
// CiphertextKeyID reports for field layout 1, which names no key: such
// values were sealed by the purpose's original data key.
const Unnamed KeyID = 0

// NewDataKey creates a data key for suite with randomness from rand
// (crypto/rand.Reader when nil) and returns it together with its wrapped
// form under m, to be stored.
func (m *MasterKey) NewDataKey(suite Suite, rand io.Reader) (*DataKey, WrappedKey, error) {
	if !suite.valid() {
		return nil, nil, fmt.Errorf("new data key: %w: %d", ErrUnknownSuite, uint8(suite))
	}
	r := orDefault(rand)
	raw := make([]byte, suite.keySize())
	defer clear(raw)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, nil, fmt.Errorf("new %s data key: read randomness: %w", suite, err)
	}
	w, err := m.wrap(suite, raw, r)
	if err != nil {
		return nil, nil, fmt.Errorf("new %s data key: %w", suite, err)
	}
	k, err := newDataKey(suite, raw, rand)
	if err != nil {
		return nil, nil, fmt.Errorf("new %s data key: %w", suite, err)
	}
	return k, w, nil
}

// Unwrap decrypts a wrapped data key. Any failure, including a key wrapped
// under another master key, gives an error wrapping ErrDecrypt.
func (m *MasterKey) Unwrap(w WrappedKey) (*DataKey, error) {
	suite, raw, err := m.unwrap(w)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	k, err := newDataKey(suite, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("unwrap: %w", err)
	}
	return k, nil
}

// Rewrap decrypts w with from and wraps the same data key under to, so
// data encrypted with it stays readable after a master key rotation. Fresh
// nonces come from crypto/rand.Reader. Failures to unwrap with from wrap
// ErrDecrypt.
func Rewrap(from, to *MasterKey, w WrappedKey) (WrappedKey, error) {
	suite, raw, err := from.unwrap(w)
	if err != nil {
		return nil, fmt.Errorf("rewrap: %w", err)
	}
	defer clear(raw)
	nw, err := to.wrap(suite, raw, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("rewrap under master key %s: %w", to.ID(), err)
	}
	return nw, nil
}

// wrap seals raw under the suite's wrapping key derived from m.
func (m *MasterKey) wrap(suite Suite, raw []byte, r io.Reader) (WrappedKey, error) {
	aead, err := m.wrapAEAD(suite)
	if err != nil {
		return nil, err
	}
	out := make([]byte, wrappedHeaderSize+nonceSize, wrappedHeaderSize+nonceSize+len(raw)+tagSize)
	out[0] = wrappedKeyVersion
	out[1] = byte(suite)
	copy(out[2:wrappedHeaderSize], m.id[:])
	nonce := out[wrappedHeaderSize:]
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, fmt.Errorf("wrap: read nonce: %w", err)
	}
	ad := append([]byte(adWrappedKey), out[:wrappedHeaderSize]...)
	return aead.Seal(out, nonce, raw, ad), nil
}

// unwrap opens w and returns the suite and raw data key.
func (m *MasterKey) unwrap(w WrappedKey) (Suite, []byte, error) {
	suite, err := w.check()
	if err != nil {
		return 0, nil, fmt.Errorf("unwrap: %w", err)
	}
	if string(w[2:wrappedHeaderSize]) != string(m.id[:]) {
		return 0, nil, fmt.Errorf("unwrap: %w: %w: key names master key %x, have %s", ErrDecrypt, ErrWrongMasterKey, []byte(w[2:wrappedHeaderSize]), m.ID())
	}
	aead, err := m.wrapAEAD(suite)
	if err != nil {
		return 0, nil, fmt.Errorf("unwrap: %w", err)
	}
	ad := append([]byte(adWrappedKey), w[:wrappedHeaderSize]...)
	nonce := w[wrappedHeaderSize : wrappedHeaderSize+nonceSize]
	raw, err := aead.Open(nil, nonce, w[wrappedHeaderSize+nonceSize:], ad)
	if err != nil {
		return 0, nil, fmt.Errorf("unwrap %s data key: %w", suite, ErrDecrypt)
	}
	return suite, raw, nil
}

// wrapAEAD returns the key-wrapping AEAD of suite, keyed with a key derived
// from m for that suite only.
func (m *MasterKey) wrapAEAD(suite Suite) (cipher.AEAD, error) {
	kek, err := m.deriveKey("wrap/"+suite.String(), suite.keySize())
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	return suite.newAEAD(kek)
}

// newDataKey builds a DataKey from raw key bytes.
func newDataKey(suite Suite, raw []byte, r io.Reader) (*DataKey, error) {
	aead, err := suite.newAEAD(raw)
	if err != nil {
		return nil, err
	}
	return &DataKey{suite: suite, aead: aead, rand: r}, nil
}

// Suite returns the cipher suite of k.
func (k *DataKey) Suite() Suite { return k.suite }

// WithRand returns a copy of k that draws nonces from r instead of
// crypto/rand.Reader. Nonces must never repeat under one key: use it only
// for tests or with a proper DRBG.
func (k *DataKey) WithRand(r io.Reader) *DataKey {
	c := *k
	c.rand = r
	return &c
}

// ID returns the ID k seals under, Unnamed unless set with WithID.
func (k *DataKey) ID() KeyID { return k.id }

// WithID returns a copy of k that seals field layout 2 naming id, or, for
// Unnamed, layout 1. The ID is authenticated with every value, so a value
// whose header is changed to name another key does not open. It is the
// caller's job to give each data key of a purpose its own ID.
func (k *DataKey) WithID(id KeyID) *DataKey {
	c := *k
	c.id = id
	return &c
}

// AD names where a value is stored. It is authenticated with the value, so a
// ciphertext copied to another table, row or column fails to decrypt.
type AD struct {
	Table, Row, Column string
}

// appendAD appends the unambiguous encoding of ad to b: a domain label,
// the ciphertext header, then each field as a 4-byte big-endian length
// followed by its bytes.
func appendAD(b, header []byte, ad AD) ([]byte, error) {
	b = append(b, adField...)
	b = append(b, header...)
	for _, f := range [...]string{ad.Table, ad.Row, ad.Column} {
		n := uint64(len(f))
		if n > math.MaxUint32 {
			return nil, errors.New("additional data field longer than 2^32-1 bytes")
		}
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		b = append(b, f...)
	}
	return b, nil
}

// Seal encrypts plaintext for the place named by ad. A key with an ID
// (WithID) returns field layout 2:
//
//	version(1)=2 | suite(1) | key ID(4, big-endian) | nonce(12) | GCM ciphertext and tag
//
// and a key without one (Unnamed) layout 1, kept for values sealed before
// data keys had IDs:
//
//	version(1)=1 | suite(1) | nonce(12) | GCM ciphertext and tag
//
// The header (everything before the nonce) is part of the additional data,
// so neither the suite nor the key ID can be changed unnoticed.
func (k *DataKey) Seal(plaintext []byte, ad AD) ([]byte, error) {
	hdrLen := fieldHeaderSize1
	if k.id != Unnamed {
		hdrLen = fieldHeaderSize2
	}
	// One allocation holds the output and, past the output's capacity, the
	// additional data, which therefore never overlaps what Seal writes.
	outLen := hdrLen + nonceSize + len(plaintext) + tagSize
	buf := make([]byte, hdrLen+nonceSize, outLen+adLen(ad, hdrLen))
	k.putHeader(buf[:hdrLen])
	nonce := buf[hdrLen : hdrLen+nonceSize]
	if _, err := io.ReadFull(orDefault(k.rand), nonce); err != nil {
		return nil, fmt.Errorf("seal %s.%s: read nonce: %w", ad.Table, ad.Column, err)
	}
	add, err := appendAD(buf[outLen:outLen], buf[:hdrLen], ad)
	if err != nil {
		return nil, fmt.Errorf("seal %s.%s: %w", ad.Table, ad.Column, err)
	}
	return k.aead.Seal(buf[:hdrLen+nonceSize:outLen], nonce, plaintext, add), nil //nolint:gosec // G407: the nonce is read fresh from k.rand above; the constants written into buf are the header before it

}

// putHeader writes the field header of k's layout into hdr, which has the
// header's length.
func (k *DataKey) putHeader(hdr []byte) {
	hdr[1] = byte(k.suite)
	if k.id == Unnamed {
		hdr[0] = fieldVersion1
		return
	}
	hdr[0] = fieldVersion2
	binary.BigEndian.PutUint32(hdr[2:fieldHeaderSize2], uint32(k.id))
}

// adLen is the length of the encoding appendAD makes for a header of
// hdrLen bytes.
func adLen(ad AD, hdrLen int) int {
	return len(adField) + hdrLen + 12 + len(ad.Table) + len(ad.Row) + len(ad.Column)
}

// fieldHeader checks the layout of a field ciphertext and returns its
// header length, suite and key ID (Unnamed for layout 1). Errors wrap
// ErrDecrypt.
func fieldHeader(ciphertext []byte) (hdrLen int, suite Suite, id KeyID, err error) {
	if len(ciphertext) < 1 {
		return 0, 0, 0, fmt.Errorf("%w: empty ciphertext", ErrDecrypt)
	}
	switch ciphertext[0] {
	case fieldVersion1:
		hdrLen = fieldHeaderSize1
	case fieldVersion2:
		hdrLen = fieldHeaderSize2
	default:
		return 0, 0, 0, fmt.Errorf("%w: unsupported version %d", ErrDecrypt, ciphertext[0])
	}
	if len(ciphertext) < hdrLen+nonceSize+tagSize {
		return 0, 0, 0, fmt.Errorf("%w: %d bytes is too short for layout %d", ErrDecrypt, len(ciphertext), ciphertext[0])
	}
	suite = Suite(ciphertext[1])
	if !suite.valid() {
		return 0, 0, 0, fmt.Errorf("%w: %w: %d", ErrDecrypt, ErrUnknownSuite, ciphertext[1])
	}
	if ciphertext[0] == fieldVersion2 {
		id = KeyID(binary.BigEndian.Uint32(ciphertext[2:fieldHeaderSize2]))
		if id == Unnamed {
			// Layout 2 always names a key; 0 would be read as layout 1's
			// original key and let one value have two readings.
			return 0, 0, 0, fmt.Errorf("%w: layout 2 names key ID 0", ErrDecrypt)
		}
	}
	return hdrLen, suite, id, nil
}

// CiphertextKeyID returns the ID of the data key that sealed a field
// ciphertext: the ID named by layout 2, or Unnamed for layout 1 (sealed by
// the purpose's original data key). It only reads the header; the ID is
// authenticated when the value is opened. Errors wrap ErrDecrypt.
func CiphertextKeyID(ciphertext []byte) (KeyID, error) {
	_, _, id, err := fieldHeader(ciphertext)
	if err != nil {
		return 0, fmt.Errorf("field ciphertext: %w", err)
	}
	return id, nil
}

// Open decrypts a value sealed by Seal for the same ad, in either layout.
// A layout 2 value naming another key than k's ID (when k has one) is
// refused before decryption. Any failure gives an error wrapping
// ErrDecrypt and no plaintext.
func (k *DataKey) Open(ciphertext []byte, ad AD) ([]byte, error) {
	hdrLen, suite, id, err := fieldHeader(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("open %s.%s: %w", ad.Table, ad.Column, err)
	}
	if suite != k.suite {
		return nil, fmt.Errorf("open %s.%s: %w: ciphertext suite %s, data key suite %s", ad.Table, ad.Column, ErrDecrypt, suite, k.suite)
	}
	if id != Unnamed && k.id != Unnamed && id != k.id {
		return nil, fmt.Errorf("open %s.%s: %w: sealed by data key %d, this is data key %d", ad.Table, ad.Column, ErrDecrypt, id, k.id)
	}
	// As in Seal, one allocation holds the plaintext and, past its
	// capacity, the additional data.
	ptLen := len(ciphertext) - hdrLen - nonceSize - tagSize
	buf := make([]byte, ptLen, ptLen+adLen(ad, hdrLen))
	add, err := appendAD(buf[ptLen:], ciphertext[:hdrLen], ad)
	if err != nil {
		return nil, fmt.Errorf("open %s.%s: %w: %w", ad.Table, ad.Column, ErrDecrypt, err)
	}
	nonce := ciphertext[hdrLen : hdrLen+nonceSize]
	pt, err := k.aead.Open(buf[:0:ptLen], nonce, ciphertext[hdrLen+nonceSize:], add)
	if err != nil {
		return nil, fmt.Errorf("open %s.%s: %w", ad.Table, ad.Column, ErrDecrypt)
	}
	return pt, nil
}
