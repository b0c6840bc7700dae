package statuslist

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

const (
	// MinSize is the smallest list, in entries (bits), that this package
	// makes or accepts: 131,072 entries, 16 KiB uncompressed, the minimum
	// of Bitstring Status List v1.0 §2.2 (encodedList) and §3.2 (Validate
	// Algorithm, minimumNumberOfEntries). A list this large hides which
	// entry a verifier looks at among many (§6.1 herd privacy).
	MinSize = 131072
	// MaxSize is the largest list, in entries, this package makes or
	// accepts: 2^24 entries, 2 MiB uncompressed. Decode refuses a list
	// that decompresses to more, so that a small encodedList cannot make a
	// verifier allocate without bound (a gzip bomb). The platform makes
	// lists of MinSize; the margin is for lists from other platforms.
	MaxSize = 1 << 24
	// maxEncodedLen bounds the encodedList string Decode reads before it
	// decompresses anything: the base64url length of a MaxSize list that
	// does not compress at all, plus the gzip header and deflate's
	// per-block overhead, rounded up generously.
	maxEncodedLen = 1 + (MaxSize/8+64*1024)*4/3
)

// Multibase prefix of base64url without padding (multibase table), which
// Bitstring Status List v1.0 §2.2 requires for encodedList.
const multibaseBase64URL = 'u'

// Errors of the bitstring. Each is wrapped with the details; callers test
// them with errors.Is.
var (
	// ErrMalformed reports a value that breaks a MUST of the specification
	// (Bitstring Status List v1.0 §3, MALFORMED_VALUE_ERROR): an
	// encodedList that is not multibase base64url of GZIP data, a size
	// that is not a whole number of bytes, a document of the wrong shape.
	// The document is bad input; retrying cannot help.
	ErrMalformed = errors.New("statuslist: malformed value")
	// ErrListLength reports a list shorter than MinSize or longer than
	// MaxSize entries (STATUS_LIST_LENGTH_ERROR). A verifier must not use
	// the list: a short list would let its publisher tell which entry is
	// checked.
	ErrListLength = errors.New("statuslist: status list length out of bounds")
	// ErrRange reports an index outside the list (RANGE_ERROR): the entry
	// and the list do not belong together, the entry is not usable.
	ErrRange = errors.New("statuslist: index out of range")
)

// Bitstring is a status list of statusSize 1: one bit per entry, entry 0
// being the most significant (left-most) bit of the first byte
// (Bitstring Status List v1.0 §2.2 and §6.5 "Bitstring Encoding"). Larger
// statusSize values and the message purpose are not supported: the
// platform needs only revocation and suspension, each a yes or no.
//
// A Bitstring is not safe for concurrent writes.
type Bitstring struct {
	bits []byte
}

// New returns a list of size entries, all 0. size must be a multiple of 8
// between MinSize and MaxSize; otherwise the error wraps ErrListLength.
func New(size int) (*Bitstring, error) {
	if err := checkSize(size); err != nil {
		return nil, err
	}
	return &Bitstring{bits: make([]byte, size/8)}, nil
}

// checkSize reports whether size entries make a list this package handles.
func checkSize(size int) error {
	if size < MinSize || size > MaxSize {
		return fmt.Errorf("%w: %d entries, want %d to %d", ErrListLength, size, MinSize, MaxSize)
	}
	if size%8 != 0 {
		return fmt.Errorf("%w: %d entries is not a whole number of bytes", ErrListLength, size)
	}
	return nil
}

// Len returns the number of entries of b.
func (b *Bitstring) Len() int { return len(b.bits) * 8 }

// Get returns the bit of entry i; an i outside the list gives an error
// wrapping ErrRange.
func (b *Bitstring) Get(i int) (bool, error) {
	if i < 0 || i >= b.Len() {
		return false, fmt.Errorf("%w: entry %d of %d", ErrRange, i, b.Len())
	}
	return b.bits[i/8]&(0x80>>(i%8)) != 0, nil
}

// Set sets the bit of entry i to v; an i outside the list gives an error
// wrapping ErrRange.
func (b *Bitstring) Set(i int, v bool) error {
	if i < 0 || i >= b.Len() {
		return fmt.Errorf("%w: entry %d of %d", ErrRange, i, b.Len())
	}
	mask := byte(0x80) >> (i % 8)
	if v {
		b.bits[i/8] |= mask
	} else {
		b.bits[i/8] &^= mask
	}
	return nil
}

// Bytes returns a copy of the uncompressed bits, entry 0 in the most
// significant bit of the first byte.
func (b *Bitstring) Bytes() []byte { return bytes.Clone(b.bits) }

// Encode returns the encodedList of b (Bitstring Status List v1.0 §2.2 and
// §3.3): GZIP (RFC 1952) of the bits, base64url without padding (RFC 4648
// §5), prefixed with the multibase code 'u'. The output is deterministic:
// the GZIP header carries no name and no time.
func (b *Bitstring) Encode() (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", fmt.Errorf("encode status list: %w", err)
	}
	if _, err := zw.Write(b.bits); err != nil {
		return "", fmt.Errorf("encode status list: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("encode status list: %w", err)
	}
	return string(multibaseBase64URL) + base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// Decode expands an encodedList (Bitstring Status List v1.0 §3.4, Bitstring
// Expansion Algorithm). It reads at most MaxSize/8 bytes of decompressed
// data, whatever the input claims, and refuses:
//   - input that is not 'u' and base64url without padding, or not one
//     valid GZIP stream (its checksum included), with ErrMalformed;
//   - a list shorter than MinSize or longer than MaxSize entries, with
//     ErrListLength.
func Decode(encoded string) (*Bitstring, error) {
	if len(encoded) == 0 || encoded[0] != multibaseBase64URL {
		return nil, fmt.Errorf("%w: encodedList is not multibase base64url (prefix 'u')", ErrMalformed)
	}
	if len(encoded) > maxEncodedLen {
		return nil, fmt.Errorf("%w: encodedList of %d characters cannot hold at most %d entries", ErrListLength, len(encoded), MaxSize)
	}
	compressed, err := base64.RawURLEncoding.Strict().DecodeString(encoded[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList: %w", ErrMalformed, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList is not GZIP: %w", ErrMalformed, err)
	}
	// One byte past the limit tells a list that is too long from one
	// that is exactly MaxSize entries.
	bits, err := io.ReadAll(io.LimitReader(zr, MaxSize/8+1))
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList GZIP stream: %w", ErrMalformed, err)
	}
	if len(bits) > MaxSize/8 {
		return nil, fmt.Errorf("%w: encodedList expands to more than %d entries", ErrListLength, MaxSize)
	}
	if err := zr.Close(); err != nil {
		return nil, fmt.Errorf("%w: encodedList GZIP stream: %w", ErrMalformed, err)
	}
	if err := checkSize(len(bits) * 8); err != nil {
		return nil, err
	}
	return &Bitstring{bits: bits}, nil
}
