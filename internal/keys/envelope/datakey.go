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
	fieldVersion      = 1
)

const (
	nonceSize = 12 // GCM standard nonce
	tagSize   = 16 // GCM tag
	// wrapped key: version, suite, master key ID, nonce, sealed key.
	wrappedHeaderSize = 2 + idSize
	// field ciphertext: version, suite, nonce, sealed value.
	fieldHeaderSize = 2
)

// Domain-separation prefixes of the GCM additional data.
const (
	adWrappedKey = "zhengzhao/envelope/v1/wrapped-key\x00"
	adField      = "zhengzhao/envelope/v1/field\x00"
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
// values (NIST SP 800-38D); rotate data keys well before that.
type DataKey struct {
	suite Suite
	aead  cipher.AEAD
	rand  io.Reader
}

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

// Seal encrypts plaintext for the place named by ad and returns
//
//	version(1) | suite(1) | nonce(12) | GCM ciphertext and tag
func (k *DataKey) Seal(plaintext []byte, ad AD) ([]byte, error) {
	// One allocation holds the output and, past the output's capacity, the
	// additional data, which therefore never overlaps what Seal writes.
	outLen := fieldHeaderSize + nonceSize + len(plaintext) + tagSize
	buf := make([]byte, fieldHeaderSize+nonceSize, outLen+adLen(ad))
	buf[0] = fieldVersion
	buf[1] = byte(k.suite)
	nonce := buf[fieldHeaderSize : fieldHeaderSize+nonceSize]
	if _, err := io.ReadFull(orDefault(k.rand), nonce); err != nil {
		return nil, fmt.Errorf("seal %s.%s: read nonce: %w", ad.Table, ad.Column, err)
	}
	add, err := appendAD(buf[outLen:outLen], buf[:fieldHeaderSize], ad)
	if err != nil {
		return nil, fmt.Errorf("seal %s.%s: %w", ad.Table, ad.Column, err)
	}
	return k.aead.Seal(buf[:fieldHeaderSize+nonceSize:outLen], nonce, plaintext, add), nil
}

// adLen is the length of the encoding appendAD makes.
func adLen(ad AD) int {
	return len(adField) + fieldHeaderSize + 12 + len(ad.Table) + len(ad.Row) + len(ad.Column)
}

// Open decrypts a value sealed by Seal for the same ad. Any failure gives an
// error wrapping ErrDecrypt and no plaintext.
func (k *DataKey) Open(ciphertext []byte, ad AD) ([]byte, error) {
	if len(ciphertext) < fieldHeaderSize+nonceSize+tagSize {
		return nil, fmt.Errorf("open %s.%s: %w: %d bytes is too short", ad.Table, ad.Column, ErrDecrypt, len(ciphertext))
	}
	if ciphertext[0] != fieldVersion {
		return nil, fmt.Errorf("open %s.%s: %w: unsupported version %d", ad.Table, ad.Column, ErrDecrypt, ciphertext[0])
	}
	if Suite(ciphertext[1]) != k.suite {
		return nil, fmt.Errorf("open %s.%s: %w: ciphertext suite %s, data key suite %s", ad.Table, ad.Column, ErrDecrypt, Suite(ciphertext[1]), k.suite)
	}
	// As in Seal, one allocation holds the plaintext and, past its
	// capacity, the additional data.
	ptLen := len(ciphertext) - fieldHeaderSize - nonceSize - tagSize
	buf := make([]byte, ptLen, ptLen+adLen(ad))
	add, err := appendAD(buf[ptLen:], ciphertext[:fieldHeaderSize], ad)
	if err != nil {
		return nil, fmt.Errorf("open %s.%s: %w: %w", ad.Table, ad.Column, ErrDecrypt, err)
	}
	nonce := ciphertext[fieldHeaderSize : fieldHeaderSize+nonceSize]
	pt, err := k.aead.Open(buf[:0:ptLen], nonce, ciphertext[fieldHeaderSize+nonceSize:], add)
	if err != nil {
		return nil, fmt.Errorf("open %s.%s: %w", ad.Table, ad.Column, ErrDecrypt)
	}
	return pt, nil
}
