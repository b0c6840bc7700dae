package statuslist

import (
	"errors"
	"fmt"
	"math/big"
)

// The Bitcoin base58 alphabet of draft-msporny-base58-03 §2, which
// multibase calls base58btc (prefix 'z').
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// maxBase58Input bounds what decodeBase58 accepts. The conversion is
// quadratic in the length, and the longest value read here, a 64-byte
// signature, is 88 characters; anything far longer is not a proof value.
const maxBase58Input = 256

// errBase58 reports a string that is not base58btc.
var errBase58 = errors.New("not base58btc")

// base58Index maps an ASCII byte to its digit value, or -1.
var base58Index = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i := range len(base58Alphabet) {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// encodeBase58 encodes b in base58btc (draft-msporny-base58-03 §3): every
// leading zero byte becomes a '1', the rest is the big-endian number b in
// base 58.
func encodeBase58(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	var digits []byte // little-endian
	n := new(big.Int).SetBytes(b[zeros:])
	radix, rem := big.NewInt(58), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, radix, rem)
		digits = append(digits, base58Alphabet[rem.Int64()])
	}
	out := make([]byte, zeros, zeros+len(digits))
	for i := range out {
		out[i] = '1'
	}
	for i := len(digits) - 1; i >= 0; i-- {
		out = append(out, digits[i])
	}
	return string(out)
}

// decodeBase58 decodes a base58btc string (draft-msporny-base58-03 §4). A
// character outside the alphabet or a string longer than maxBase58Input is
// an error.
func decodeBase58(s string) ([]byte, error) {
	if len(s) > maxBase58Input {
		return nil, fmt.Errorf("%w: %d characters, at most %d", errBase58, len(s), maxBase58Input)
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	n, radix, digit := new(big.Int), big.NewInt(58), new(big.Int)
	for i := zeros; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("%w: character %q at %d", errBase58, s[i], i)
		}
		n.Mul(n, radix)
		n.Add(n, digit.SetInt64(int64(v)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}
