package statuslist

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"testing"
)

// specExampleList is the encodedList of the examples of Bitstring Status
// List v1.0 §2.2 and appendix A: 131,072 entries, none set.
const specExampleList = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"

func TestDecodeSpecExample(t *testing.T) {
	b, err := Decode(specExampleList)
	if err != nil {
		t.Fatalf("Decode(spec example) error = %v", err)
	}
	if b.Len() != MinSize {
		t.Fatalf("Len = %d, want %d", b.Len(), MinSize)
	}
	if !bytes.Equal(b.Bytes(), make([]byte, MinSize/8)) {
		t.Error("the spec example has a bit set, want none")
	}
}

// TestBitOrder pins entry 0 to the most significant bit of the first byte
// and the last entry to the least significant bit of the last byte
// (Bitstring Status List v1.0 §6.5).
func TestBitOrder(t *testing.T) {
	tests := []struct {
		index int
		byteN int
		want  byte
	}{
		{0, 0, 0x80},
		{1, 0, 0x40},
		{7, 0, 0x01},
		{8, 1, 0x80},
		{94567, 94567 / 8, 0x80 >> (94567 % 8)},
		{MinSize - 1, MinSize/8 - 1, 0x01},
	}
	for _, tt := range tests {
		b, err := New(MinSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Set(tt.index, true); err != nil {
			t.Fatalf("Set(%d) error = %v", tt.index, err)
		}
		raw := b.Bytes()
		if raw[tt.byteN] != tt.want {
			t.Errorf("Set(%d): byte %d = %#02x, want %#02x", tt.index, tt.byteN, raw[tt.byteN], tt.want)
		}
		raw[tt.byteN] = 0
		if !bytes.Equal(raw, make([]byte, MinSize/8)) {
			t.Errorf("Set(%d) changed another byte", tt.index)
		}
		if got, err := b.Get(tt.index); err != nil || !got {
			t.Errorf("Get(%d) = %v, %v; want true", tt.index, got, err)
		}
		if err := b.Set(tt.index, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.Get(tt.index); got {
			t.Errorf("Get(%d) after clearing = true", tt.index)
		}
	}
}

func TestGetSetRange(t *testing.T) {
	b, err := New(MinSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{-1, MinSize, MinSize + 8} {
		if _, err := b.Get(i); !errors.Is(err, ErrRange) {
			t.Errorf("Get(%d) error = %v, want ErrRange", i, err)
		}
		if err := b.Set(i, true); !errors.Is(err, ErrRange) {
			t.Errorf("Set(%d) error = %v, want ErrRange", i, err)
		}
	}
}

func TestNewSize(t *testing.T) {
	tests := []struct {
		size int
		ok   bool
	}{
		{MinSize, true},
		{MaxSize, true},
		{2 * MinSize, true},
		{MinSize - 8, false},
		{MinSize + 1, false},
		{MaxSize + 8, false},
		{0, false},
		{-8, false},
	}
	for _, tt := range tests {
		_, err := New(tt.size)
		if tt.ok != (err == nil) {
			t.Errorf("New(%d) error = %v, want ok=%v", tt.size, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrListLength) {
			t.Errorf("New(%d) error = %v, want ErrListLength", tt.size, err)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	b, err := New(2 * MinSize)
	if err != nil {
		t.Fatal(err)
	}
	set := []int{0, 3, 9, 94567, 131071, 131072, 2*MinSize - 1}
	for _, i := range set {
		if err := b.Set(i, true); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if enc[0] != 'u' {
		t.Fatalf("Encode = %.10q…, want the multibase prefix u", enc)
	}
	again, err := b.Encode()
	if err != nil || again != enc {
		t.Errorf("Encode is not deterministic")
	}
	d, err := Decode(enc)
	if err != nil {
		t.Fatalf("Decode(Encode) error = %v", err)
	}
	if !bytes.Equal(d.Bytes(), b.Bytes()) {
		t.Error("Decode(Encode(b)) differs from b")
	}
	// An empty list of the minimum size compresses well below 1 KiB.
	empty, _ := New(MinSize)
	enc, _ = empty.Encode()
	if len(enc) > 200 {
		t.Errorf("empty list encodes to %d characters, want a few dozen", len(enc))
	}
}

// gzipped returns encodedList text for raw, compressed with GZIP.
func gzipped(t testing.TB, raw []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

func TestDecodeRefuses(t *testing.T) {
	good := gzipped(t, make([]byte, MinSize/8))
	corrupt := []byte(good)
	corrupt[len(corrupt)-3] ^= 0x01 // inside the CRC-32 / size trailer
	tests := []struct {
		name    string
		encoded string
		want    error
	}{
		{"empty", "", ErrMalformed},
		{"base58 prefix", "z" + good[1:], ErrMalformed},
		{"no prefix", good[1:], ErrMalformed},
		{"padding", good + "==", ErrMalformed},
		{"standard base64", "u+/+/", ErrMalformed},
		{"not gzip", "u" + base64.RawURLEncoding.EncodeToString(make([]byte, MinSize/8)), ErrMalformed},
		{"truncated gzip", good[:len(good)-8], ErrMalformed},
		{"bad trailer", string(corrupt), ErrMalformed},
		{"too short", gzipped(t, make([]byte, MinSize/8-1)), ErrListLength},
		{"empty list", gzipped(t, nil), ErrListLength},
		{"bomb", gzipped(t, make([]byte, MaxSize/8+1)), ErrListLength},
		{"huge text", "u" + string(bytes.Repeat([]byte("A"), maxEncodedLen)), ErrListLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.encoded); !errors.Is(err, tt.want) {
				t.Errorf("Decode error = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Decode(good); err != nil {
		t.Errorf("Decode(good) error = %v", err)
	}
	if b, err := Decode(gzipped(t, make([]byte, MaxSize/8))); err != nil || b.Len() != MaxSize {
		t.Errorf("Decode(MaxSize list) error = %v", err)
	}
}
