package qr

import (
	"fmt"
	"strings"
)

// base45Alphabet is the RFC 9285 alphabet: the 45 characters of the QR
// alphanumeric mode, so a Base45 text is carried at 5.5 bits per character.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a byte to its Base45 value, or -1.
var base45Value = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := range len(base45Alphabet) {
		v[base45Alphabet[i]] = int8(i)
	}
	return v
}()

// base45Encode encodes b as RFC 9285 §4 does: each pair of bytes as three
// characters, least significant first, and a last odd byte as two.
func base45Encode(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b)/2*3 + len(b)%2*2)
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])<<8 | int(b[i+1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[n/45%45])
		sb.WriteByte(base45Alphabet[n/2025])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[n/45])
	}
	return sb.String()
}

// base45Decode decodes an RFC 9285 text. It refuses a character outside the
// alphabet, a length of 1 modulo 3, and a triplet above 65535 or a last pair
// above 255, as §4.2 requires; every refusal wraps ErrEncoding.
func base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("%w: Base45 length %d is 1 modulo 3", ErrEncoding, len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		end := min(i+3, len(s))
		n, w := 0, 1
		for j := i; j < end; j++ {
			d := base45Value[s[j]]
			if d < 0 {
				return nil, fmt.Errorf("%w: byte %#02x at %d is not Base45", ErrEncoding, s[j], j)
			}
			n += int(d) * w
			w *= 45
		}
		if end-i == 3 {
			if n > 0xffff {
				return nil, fmt.Errorf("%w: Base45 triplet at %d is %d, above 65535", ErrEncoding, i, n)
			}
			out = append(out, byte(n>>8), byte(n))
			continue
		}
		if n > 0xff {
			return nil, fmt.Errorf("%w: Base45 last pair is %d, above 255", ErrEncoding, n)
		}
		out = append(out, byte(n))
	}
	return out, nil
}
