// Package envelope protects personal data stored in the database (citizen
// ID numbers, names, phone numbers on licences) with envelope encryption.
//
// One long-lived master key, kept in a file readable only by the service
// account, wraps short data keys; data keys encrypt individual column
// values with an AEAD (SM4-GCM by default, as Chinese commercial
// cryptography rules expect, or AES-256-GCM). Every ciphertext is bound to
// its table, row and column, so a value copied elsewhere does not decrypt.
// Wrapped keys name the master key that wrapped them, so the master key can
// be rotated by rewrapping without touching the data; field ciphertexts
// (layout 2) name the data key that sealed them, so a purpose can have
// several data keys while its values are re-encrypted under the newest. Blind indexes
// (HMAC-SM3 under a key derived from the master key) allow equality lookups
// on encrypted columns without decrypting them.
//
// SM3 is not a FIPS 140 approved hash: this package does not work with
// GODEBUG=fips140=only.
package envelope

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/emmansun/gmsm/sm3"
)

// MasterKeySize is the length in bytes of a master key.
const MasterKeySize = 32

// masterKeyHeader is the first line of a master key file; the second line
// is the key in lower-case hex.
const masterKeyHeader = "zhengzhao-master-key v1"

// maxKeyFileSize bounds how much of a key file is read.
const maxKeyFileSize = 1024

// idSize is the number of SM3 bytes forming a master key ID.
const idSize = 8

// ErrMalformedKeyFile is returned (wrapped) when a master key file does not
// have the expected content. Callers report it to the operator; the file
// must be restored from backup, never regenerated, or existing data is lost.
var ErrMalformedKeyFile = errors.New("envelope: malformed master key file")

// InsecureKeyFileError reports a master key file that group or other users
// may access. Callers report it to the operator, who must chmod 600 it.
type InsecureKeyFileError struct {
	Path string
	Mode fs.FileMode
}

// Error describes the file and its mode.
func (e *InsecureKeyFileError) Error() string {
	return fmt.Sprintf("envelope: master key file %s has mode %#o, refusing to use it: it must not be accessible to group or others (chmod 600 %s)", e.Path, e.Mode.Perm(), e.Path)
}

// MasterKey is the root key of the envelope hierarchy. It is safe for
// concurrent use.
type MasterKey struct {
	key [MasterKeySize]byte
	id  [idSize]byte
}

// NewMasterKey returns the MasterKey with the given 32 raw bytes, for
// example from a KMS or an HSM export. The bytes are copied.
func NewMasterKey(raw []byte) (*MasterKey, error) {
	if len(raw) != MasterKeySize {
		return nil, fmt.Errorf("new master key: got %d bytes, want %d", len(raw), MasterKeySize)
	}
	m := &MasterKey{}
	copy(m.key[:], raw)
	sum := sm3.Sum(m.key[:])
	copy(m.id[:], sum[:idSize])
	return m, nil
}

// ID returns the key identifier: the first 8 bytes of SM3(key) in lower-case
// hex. It is recorded in wrapped keys and is not secret.
func (m *MasterKey) ID() string { return hex.EncodeToString(m.id[:]) }

// Equal reports whether m and o hold the same key, in constant time.
func (m *MasterKey) Equal(o *MasterKey) bool {
	return o != nil && subtle.ConstantTimeCompare(m.key[:], o.key[:]) == 1
}

// GenerateMasterKeyFile creates a new master key from rand
// (crypto/rand.Reader when nil) and writes it to path with mode 0600. It
// refuses to overwrite an existing file: the error then satisfies
// errors.Is(err, fs.ErrExist).
func GenerateMasterKeyFile(path string, rand io.Reader) (err error) {
	var raw [MasterKeySize]byte
	if _, err := io.ReadFull(orDefault(rand), raw[:]); err != nil {
		return fmt.Errorf("generate master key: read randomness: %w", err)
	}
	content := fmt.Appendf(nil, "%s\n%s\n", masterKeyHeader, hex.EncodeToString(raw[:]))
	defer clear(raw[:])
	defer clear(content)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("generate master key file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("generate master key file %s: close: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path) // never leave a partial key behind
		}
	}()
	if _, err := f.Write(content); err != nil {
		return fmt.Errorf("generate master key file %s: write: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("generate master key file %s: sync: %w", path, err)
	}
	return nil
}

// LoadMasterKeyFile reads a master key written by GenerateMasterKeyFile. It
// refuses a file that group or others may access (*InsecureKeyFileError),
// a file that is not a regular file, and malformed content
// (ErrMalformedKeyFile).
func LoadMasterKeyFile(path string) (*MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load master key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load master key %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("load master key %s: %w: not a regular file (mode %s)", path, ErrMalformedKeyFile, st.Mode())
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, &InsecureKeyFileError{Path: path, Mode: st.Mode()}
	}
	content, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load master key %s: read: %w", path, err)
	}
	defer clear(content)
	m, err := parseMasterKeyFile(content)
	if err != nil {
		return nil, fmt.Errorf("load master key %s: %w", path, err)
	}
	return m, nil
}

// parseMasterKeyFile parses "header\nhex\n" (final newline optional, CRLF
// tolerated).
func parseMasterKeyFile(content []byte) (*MasterKey, error) {
	if len(content) > maxKeyFileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedKeyFile, maxKeyFileSize)
	}
	lines := bytes.Split(bytes.TrimRight(content, "\r\n"), []byte("\n"))
	if len(lines) != 2 {
		return nil, fmt.Errorf("%w: want 2 lines (header, hex key), got %d", ErrMalformedKeyFile, len(lines))
	}
	if string(bytes.TrimRight(lines[0], "\r")) != masterKeyHeader {
		return nil, fmt.Errorf("%w: first line is not %q", ErrMalformedKeyFile, masterKeyHeader)
	}
	hexKey := bytes.TrimRight(lines[1], "\r")
	if len(hexKey) != 2*MasterKeySize {
		return nil, fmt.Errorf("%w: key line has %d characters, want %d hex digits", ErrMalformedKeyFile, len(hexKey), 2*MasterKeySize)
	}
	var raw [MasterKeySize]byte
	defer clear(raw[:])
	if _, err := hex.Decode(raw[:], hexKey); err != nil {
		return nil, fmt.Errorf("%w: key line is not hex", ErrMalformedKeyFile)
	}
	return NewMasterKey(raw[:])
}

// deriveKey derives a purpose-specific key from m with HKDF-SM3
// (RFC 5869 instantiated with SM3). Distinct labels give independent keys.
func (m *MasterKey) deriveKey(label string, n int) ([]byte, error) {
	k, err := hkdf.Key(sm3.New, m.key[:], nil, "github.com/zhengzhao/zhengzhao/envelope/v1/"+label, n)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", label, err)
	}
	return k, nil
}

// orDefault returns r, or crypto/rand.Reader when r is nil.
func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
