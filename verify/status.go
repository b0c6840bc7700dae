package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
)

// StatusSource answers whether a license's bit is set in a status list
// (W3C Bitstring Status List v1.0): for the purpose "revocation" a set bit
// means the license has ended, for "suspension" that it is suspended. The
// platform's store answers online with the lists as they are; a Bundle
// answers offline from the snapshots it carries.
type StatusSource interface {
	// Status returns the bit at index of the list published at listURL
	// for purpose, and when the list was read (asOf): the answer is true
	// of that instant, not necessarily of now. It returns an error
	// wrapping ErrNoStatus when it has no such list.
	Status(ctx context.Context, listURL, purpose string, index int64) (set bool, asOf time.Time, err error)
}

// ErrNoStatus: the status source has no snapshot of the list a license
// names, so its status is unknown — not good. Get a fresh trust bundle.
var ErrNoStatus = errors.New("no snapshot of the status list")

// StatusSnapshot is one status list in a trust bundle, as it was at
// FetchedAt.
type StatusSnapshot struct {
	ListURL string `json:"list_url"`
	Purpose string `json:"purpose"`
	// EncodedList is the list's bitstring as W3C Bitstring Status List
	// v1.0 encodes it: GZIP-compressed, then base64url without padding,
	// with the multibase prefix "u".
	EncodedList string    `json:"encoded_list"`
	FetchedAt   time.Time `json:"fetched_at"`
}

// DecodeBitstring decodes a W3C Bitstring Status List v1.0 encodedList:
// the multibase prefix "u", base64url without padding, then GZIP. It
// refuses what the platform's own codec refuses: a list shorter than the
// specification's minimum of 131,072 entries (a short list would let its
// publisher tell which entry a verifier looks at), longer than 2^24
// entries, or not a whole number of bytes. The codec is the one place
// that knows the encoding; verification and publishing thus agree on
// what a list is.
func DecodeBitstring(encoded string) ([]byte, error) {
	bits, err := statuslist.Decode(encoded)
	if err != nil {
		return nil, fmt.Errorf("encoded list: %w", err)
	}
	return bits.Bytes(), nil
}

// bitAt returns bit index of a bitstring: bit 0 is the most significant
// bit of byte 0, as W3C Bitstring Status List v1.0 numbers them.
func bitAt(bits []byte, index int64) (bool, error) {
	if index < 0 || index/8 >= int64(len(bits)) {
		return false, fmt.Errorf("index %d is outside the list of %d bits", index, int64(len(bits))*8)
	}
	return bits[index/8]&(0x80>>(index%8)) != 0, nil
}

// compareSnapshot orders a bundle's status lists: by list URL, then purpose.
func compareSnapshot(s StatusSnapshot, listURL, purpose string) int {
	if c := strings.Compare(s.ListURL, listURL); c != 0 {
		return c
	}
	return strings.Compare(s.Purpose, purpose)
}

// SetStatusList records a status list snapshot, keeping StatusLists in
// order of list URL and purpose.
func (b *Bundle) SetStatusList(s StatusSnapshot) {
	i, found := slices.BinarySearchFunc(b.StatusLists, s, func(e, t StatusSnapshot) int { return compareSnapshot(e, t.ListURL, t.Purpose) })
	if found {
		b.StatusLists[i] = s
		return
	}
	b.StatusLists = slices.Insert(b.StatusLists, i, s)
}

// Status implements StatusSource from the bundle's snapshots. A bundle
// from OpenBundle decoded them once; a bundle built by hand decodes the
// list on every call.
func (b *Bundle) Status(_ context.Context, listURL, purpose string, index int64) (bool, time.Time, error) {
	i, found := slices.BinarySearchFunc(b.StatusLists, listURL, func(e StatusSnapshot, u string) int { return compareSnapshot(e, u, purpose) })
	if !found {
		return false, time.Time{}, fmt.Errorf("%w: %s list %s", ErrNoStatus, purpose, listURL)
	}
	s := b.StatusLists[i]
	bits, ok := b.bitstrings[s.ListURL+" "+s.Purpose]
	if !ok || b.bitstringsFrom == nil || !slices.Equal(b.bitstringsFrom, b.StatusLists) {
		var err error
		if bits, err = DecodeBitstring(s.EncodedList); err != nil {
			return false, time.Time{}, fmt.Errorf("%s list %s: %w", purpose, listURL, err)
		}
	}
	set, err := bitAt(bits, index)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("%s list %s: %w", purpose, listURL, err)
	}
	return set, s.FetchedAt, nil
}

// decodeStatusLists decodes every snapshot of an opened bundle once, so
// that verdicts only look bits up; a snapshot that does not decode makes
// the bundle malformed.
func (b *Bundle) decodeStatusLists() error {
	out := make(map[string][]byte, len(b.StatusLists))
	for _, s := range b.StatusLists {
		bits, err := DecodeBitstring(s.EncodedList)
		if err != nil {
			return fmt.Errorf("%w: %s list %s: %w", ErrMalformedBundle, s.Purpose, s.ListURL, err)
		}
		out[s.ListURL+" "+s.Purpose] = bits
	}
	b.bitstrings, b.bitstringsFrom = out, slices.Clone(b.StatusLists)
	return nil
}
