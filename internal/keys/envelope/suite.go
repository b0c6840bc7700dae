package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm4"
)

// Suite identifies an AEAD cipher suite. Its numeric value is stored in
// wrapped keys and ciphertexts and must never be reassigned.
type Suite uint8

const (
	// SM4GCM is SM4 (GB/T 32907) in GCM mode with a 128-bit key, 96-bit
	// random nonce and 128-bit tag. It is the default.
	SM4GCM Suite = 1
	// AES256GCM is AES-256 in GCM mode with a 96-bit random nonce and
	// 128-bit tag.
	AES256GCM Suite = 2
)

// DefaultSuite is the suite used when the operator does not choose one.
const DefaultSuite = SM4GCM

// ErrUnknownSuite is returned (wrapped) for a suite name or number this
// version does not support. Callers treat it as a configuration error, or,
// when it comes from stored data, as data written by a newer version.
var ErrUnknownSuite = errors.New("envelope: unknown cipher suite")

// String returns the suite name, "SM4-GCM" or "AES-256-GCM".
func (s Suite) String() string {
	switch s {
	case SM4GCM:
		return "SM4-GCM"
	case AES256GCM:
		return "AES-256-GCM"
	}
	return fmt.Sprintf("Suite(%d)", uint8(s))
}

// ParseSuite returns the suite named name, ignoring ASCII case.
func ParseSuite(name string) (Suite, error) {
	for _, s := range [...]Suite{SM4GCM, AES256GCM} {
		if strings.EqualFold(strings.TrimSpace(name), s.String()) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want SM4-GCM or AES-256-GCM)", ErrUnknownSuite, name)
}

// valid reports whether s is a supported suite.
func (s Suite) valid() bool { return s == SM4GCM || s == AES256GCM }

// keySize returns the data key length of s in bytes.
func (s Suite) keySize() int {
	if s == SM4GCM {
		return sm4.BlockSize // SM4 keys are 128 bits, like its block
	}
	return 32
}

// newAEAD returns the GCM AEAD of s under key.
func (s Suite) newAEAD(key []byte) (cipher.AEAD, error) {
	var (
		block cipher.Block
		err   error
	)
	switch s {
	case SM4GCM:
		block, err = sm4.NewCipher(key)
	case AES256GCM:
		if len(key) != 32 {
			return nil, fmt.Errorf("%s: key is %d bytes, want 32", s, len(key))
		}
		block, err = aes.NewCipher(key)
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownSuite, uint8(s))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return aead, nil
}
