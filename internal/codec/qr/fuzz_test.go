package qr

import (
	"errors"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// FuzzDecode checks that Decode and Verify never panic, refuse with one of
// the package's reasons, and that what they accept are claims the encoder
// could have written.
func FuzzDecode(f *testing.F) {
	k := sm2Key(f)
	good := encode(f, sampleClaims(), k)
	es := encode(f, sampleClaims(), newKey(f, keys.ECDSAP256))
	f.Add(good)
	f.Add(es)
	f.Add(good[:len(good)/2])
	f.Add(Prefix)
	f.Add(Prefix + "00")
	f.Add(wrap(f, unwrap(f, good)[:100]))
	f.Add(wrap(f, []byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}))
	f.Fuzz(func(t *testing.T, payload string) {
		checkDecode(t, k, payload)
	})
}

// FuzzDecodeContent fuzzes what lies under zlib and Base45, the COSE_Sign1
// and its claims, which mutating whole payloads seldom reaches.
func FuzzDecodeContent(f *testing.F) {
	k := sm2Key(f)
	f.Add(unwrap(f, encode(f, sampleClaims(), k)))
	f.Add(unwrap(f, encode(f, sampleClaims(), newKey(f, keys.ECDSAP256))))
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, content []byte) {
		checkDecode(t, k, wrap(t, content))
	})
}

// reasons are the errors Decode and Verify may wrap.
var reasons = []error{ErrPrefix, ErrEncoding, ErrTooLarge, ErrStructure, ErrAlgorithm, ErrClaims, ErrSignature, ErrExpired}

func known(err error) bool {
	for _, r := range reasons {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// checkDecode decodes and verifies payload, failing on a panic (by not
// recovering), an error of no known reason, or accepted invalid claims.
func checkDecode(t *testing.T, k keys.Signer, payload string) {
	t.Helper()
	p, err := Decode(payload)
	if err != nil {
		if !known(err) {
			t.Fatalf("error of no known kind: %v", err)
		}
		return
	}
	if err := p.Claims.check(); err != nil {
		t.Fatalf("accepted invalid claims: %v", err)
	}
	if _, err := Verify(p, k.Public(), t0, time.Minute); err != nil && !known(err) {
		t.Fatalf("verify: error of no known kind: %v", err)
	}
}
