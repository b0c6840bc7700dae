package cli

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/qrimage"
)

// TestPresentAndVerifyQR makes a payload and its QR picture on the host,
// then verifies the picture and the text offline with the trust bundle
// where there is no data directory: valid; then refuses a picture without
// a code, a changed payload and a bundle older than the key.
func TestPresentAndVerifyQR(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	doc, _ := issueInDataDir(t, data)
	d, err := codec.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	id := d.License.ID
	d2 := []string{"--data", data, "--lang", "en"}
	// A bundle made before the presentation key exists lists no key.
	oldBundle := filepath.Join(dir, "old-trust.json")
	if code, _, errOut := run(t, append([]string{"license", "trust-bundle", "-o", oldBundle}, d2...)...); code != 0 {
		t.Fatalf("trust-bundle: %s", errOut)
	}
	pic := filepath.Join(dir, "qr.png")
	code, out, errOut := run(t, append([]string{"license", "present", "--account", "issuer", "--disclose", "issuing_authority,residence_address", "--png", pic, id}, d2...)...)
	if code != 0 || !strings.HasPrefix(out, "ZZ1:") {
		t.Fatalf("present: exit %d %q %q", code, out, errOut)
	}
	payload := strings.TrimSpace(out)
	bundle := filepath.Join(dir, "trust.json")
	if code, _, errOut := run(t, append([]string{"license", "trust-bundle", "-o", bundle}, d2...)...); code != 0 {
		t.Fatalf("trust-bundle: %s", errOut)
	}

	none := filepath.Join(dir, "no-such-dir")
	off := func(args ...string) (int, string, string) {
		return run(t, append([]string{"verify-qr", "--lang", "en", "--data", none}, args...)...)
	}
	code, out, errOut = off("--trust", bundle, pic)
	for _, want := range []string{"✓ format", "✓ key", "✓ signature", "✓ expiry", "✓ status", id + " valid", "王**", "issuing_authority: "} {
		if !strings.Contains(out, want) {
			t.Fatalf("verify-qr of the picture: exit %d, no %q in\n%s%s", code, want, out, errOut)
		}
	}
	if code != 0 {
		t.Fatalf("verify-qr of the picture: exit %d\n%s", code, out)
	}
	code, out, _ = off("--trust", bundle, payload, "--json")
	var v struct {
		Valid     bool `json:"valid"`
		Presented struct {
			Fields map[string]any `json:"fields"`
		} `json:"presented"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.Valid || len(v.Presented.Fields) != 2 {
		t.Fatalf("verify-qr --json of the text: exit %d %s", code, out)
	}
	textFile := filepath.Join(dir, "payload.txt")
	writeFile(t, textFile, []byte(payload+"\n"))
	if code, out, _ := off("--trust", bundle, textFile); code != 0 {
		t.Fatalf("verify-qr of a file holding the text: exit %d\n%s", code, out)
	}
	// Online, against the store.
	if code, out, _ := run(t, append([]string{"verify-qr", payload}, d2...)...); code != 0 || !strings.Contains(out, "✓ status") {
		t.Fatalf("verify-qr online: exit %d\n%s", code, out)
	}

	blank := filepath.Join(dir, "blank.png")
	f, err := os.Create(blank)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"a picture without a code", []string{"--trust", bundle, blank}, "no QR code found"},
		{"a changed payload", []string{"--trust", bundle, payload[:len(payload)-3] + "AAA"}, "✗ format"},
		{"another prefix", []string{"--trust", bundle, "XX" + payload[2:]}, "not a ZZ1 payload"},
		{"a key the bundle does not list", []string{"--trust", oldBundle, payload}, "✗ key"},
	} {
		if code, out, errOut := off(c.args...); code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, want 1 and %q\n%s%s", c.name, code, c.want, out, errOut)
		}
	}
	if code, _, _ := run(t, append([]string{"license", "present", "--account", "issuer", "--disclose", "citizen_id", id}, d2...)...); code == 0 {
		t.Error("present disclosing a sensitive field: exit 0")
	}
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Errorf("offline verify-qr made %s", none)
	}
}

// TestDecodeQRImageReadsEveryCode: pictures of 200 random payloads of a
// business license's length, drawn as `license present --png` draws them,
// all read back, also those gozxing's finder-pattern search misses.
func TestDecodeQRImageReadsEveryCode(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	r := mathrand.New(mathrand.NewPCG(1, 2)) // fixed, so that a failure repeats
	for i := range 200 {
		b := make([]byte, 556)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		payload := "ZZ1:" + string(b)
		pic, err := qrimage.PNG(payload, qrimage.DefaultScale)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(pic))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := decodeQRImage("qr.png", img); err != nil || got != payload {
			t.Fatalf("payload %d does not read back: %v", i, err)
		}
	}
}
