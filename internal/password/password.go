// Package password hashes secrets that people type — console passwords and
// seal PINs — with argon2id (RFC 9106), so that a stolen database does not
// give them away.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters for console passwords (RFC 9106, second recommended
// option: 64 MiB, 3 passes).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// maxKeyLen is the longest key Verify accepts in a hash: far above what
// Hash makes, far below what would make verification slow.
const maxKeyLen = 1024

// Hash returns the argon2id hash of password as a PHC string.
func Hash(password string, rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// ErrMismatch means the password is wrong; show the same message as
// for an unknown account.
var ErrMismatch = errors.New("password does not match")

// Verify checks password against a PHC argon2id hash made by
// Hash, with the parameters the hash names.
func Verify(hash, password string) error {
	var v, m, t, p int
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return fmt.Errorf("not an argon2id hash")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return fmt.Errorf("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m <= 0 || m > 1<<22 || t <= 0 || t > 100 || p <= 0 || p > 255 {
		return fmt.Errorf("bad argon2 parameters")
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	// The key length comes from the stored string. Hash makes 32 bytes; the
	// cap keeps the conversion below exact and a forged hash from asking
	// argon2 for an arbitrarily long output.
	keyLen := len(want)
	if err1 != nil || err2 != nil || keyLen == 0 || keyLen > maxKeyLen {
		return fmt.Errorf("bad argon2 encoding")
	}
	got := argon2.IDKey([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(keyLen))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}
