package qr

import (
	"bytes"
	"errors"
	"testing"
)

// TestBase45 checks the examples of RFC 9285 §4.3 and §4.4 and the
// refusals of §4.2.
func TestBase45(t *testing.T) {
	for _, tc := range []struct{ raw, enc string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
		{"\xff\xff", "FGW"},
		{"\x00", "00"},
	} {
		if got := base45Encode([]byte(tc.raw)); got != tc.enc {
			t.Errorf("encode %q = %q, want %q", tc.raw, got, tc.enc)
		}
		got, err := base45Decode(tc.enc)
		if err != nil || !bytes.Equal(got, []byte(tc.raw)) {
			t.Errorf("decode %q = %q, %v; want %q", tc.enc, got, err, tc.raw)
		}
	}
	for _, bad := range []string{
		"GGW",      // 65536
		"QED8WEX",  // length 1 modulo 3
		"qed8wex0", // lower case is not in the alphabet
		"QED8W\x00X0",
		":::",
		"BB8:9", // last pair 9*45+... above 255
	} {
		if got, err := base45Decode(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("decode %q = %q, %v; want ErrEncoding", bad, got, err)
		}
	}
}
