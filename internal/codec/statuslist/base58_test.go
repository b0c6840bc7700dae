package statuslist

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBase58Vectors checks the examples of draft-msporny-base58-03 §5 and
// the signature of the ecdsa-jcs-2019 test vector, in hex and base58btc.
func TestBase58Vectors(t *testing.T) {
	sigHex := readVector(t, "sigHexJCSECDSAP256.txt")
	sigB58 := readVector(t, "sigBTC58JCSECDSAP256.txt")
	tests := []struct {
		name    string
		decoded string // hex
		encoded string
	}{
		{"empty", "", ""},
		{"Hello World!", hex.EncodeToString([]byte("Hello World!")), "2NEpo7TZRRrLZSi2U"},
		{"quick brown fox", hex.EncodeToString([]byte("The quick brown fox jumps over the lazy dog.")), "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"},
		{"leading zeros", "0000287fb4cd", "11233QC4"},
		{"one zero", "00", "1"},
		{"ecdsa-jcs-2019 P-256 signature", sigHex, strings.TrimPrefix(sigB58, "z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := hex.DecodeString(tt.decoded)
			if err != nil {
				t.Fatal(err)
			}
			if got := encodeBase58(raw); got != tt.encoded {
				t.Errorf("encodeBase58 = %q, want %q", got, tt.encoded)
			}
			got, err := decodeBase58(tt.encoded)
			if err != nil || !bytes.Equal(got, raw) {
				t.Errorf("decodeBase58(%q) = %x, %v; want %x", tt.encoded, got, err, raw)
			}
		})
	}
}

func TestBase58Refuses(t *testing.T) {
	for _, s := range []string{"0", "O", "I", "l", "2NEpo7TZRRrLZSi2U+", strings.Repeat("2", maxBase58Input+1)} {
		if _, err := decodeBase58(s); !errors.Is(err, errBase58) {
			t.Errorf("decodeBase58(%.20q) error = %v, want errBase58", s, err)
		}
	}
}

// readVector returns a file of testdata/ecdsa-jcs-2019-p256 without its
// trailing white space.
func readVector(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ecdsa-jcs-2019-p256", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
