package qr

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// updateEnv names the environment variable that rewrites the golden files.
const updateEnv = "ZHENGZHAO_UPDATE_QR"

// The worked example of docs/qr-format.md: the payload and the public
// presentation key that verifies it.
var (
	goldenPayload = filepath.Join("testdata", "business-license.zz1")
	goldenKey     = filepath.Join("testdata", "presentation-key.pem")
)

// TestGolden rebuilds the worked example deterministically (seeded key and
// signature randomness, fixed claims, nonce and time), compares it with
// the committed files (rewritten with ZHENGZHAO_UPDATE_QR=1), and checks
// that the committed payload verifies under the committed key.
func TestGolden(t *testing.T) {
	k := sm2Key(t)
	payload := encode(t, sampleClaims(), k)
	pem, err := keys.MarshalPublicPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(updateEnv) != "" {
		if err := os.WriteFile(goldenPayload, []byte(payload+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenKey, pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(goldenPayload)
	if err != nil {
		t.Fatal(err)
	}
	committedKey, err := os.ReadFile(goldenKey)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(string(committed), "\n")
	if payload != want || !bytes.Equal(pem, committedKey) {
		t.Fatalf("the worked example changed; rerun with %s=1 and update docs/qr-format.md\n got %s\nwant %s", updateEnv, payload, want)
	}

	pub, alg, err := keys.ParsePublicPEM(committedKey)
	if err != nil {
		t.Fatal(err)
	}
	p := mustDecode(t, want)
	if p.Algorithm != alg || string(p.KID) != string(sampleKID) {
		t.Fatalf("golden payload: %s kid %q", p.Algorithm, p.KID)
	}
	got, err := Verify(p, pub, t0.Add(30*time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	c := sampleClaims()
	c.Expires = t0.Add(DefaultLifetime)
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("golden claims\n got %+v\nwant %+v", got, c)
	}
}
