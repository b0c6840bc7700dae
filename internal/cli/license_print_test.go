package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/printout"
	"github.com/zhengzhao/zhengzhao/internal/testskip"
)

// TestLicensePrint prints a license on the host, rasterizes the page with
// poppler as a scanner would, and verifies the QR code of the picture with
// verify-qr and the trust bundle: valid, with no face field disclosed.
// A masked English copy prints too; --out is required.
func TestLicensePrint(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		testskip.Missing(t, "poppler-utils", "pdftoppm not found; apt-get install poppler-utils")
	}
	if _, _, err := printout.FindFont(""); errors.Is(err, printout.ErrNoFont) {
		testskip.Missing(t, "a CJK TrueType font", "apt-get install "+printout.FontPackage)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	doc, _ := issueInDataDir(t, data)
	d, err := codec.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	id := d.License.ID
	d2 := []string{"--data", data, "--lang", "en"}
	pdf := filepath.Join(dir, "copy.pdf")
	if code, out, errOut := run(t, append([]string{"license", "print", "--account", "issuer", "--out", pdf, id}, d2...)...); code != 0 || strings.TrimSpace(out) != pdf {
		t.Fatalf("print: exit %d %q %q", code, out, errOut)
	}
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %v", err)
	}
	page := filepath.Join(dir, "page")
	if out, err := exec.Command("pdftoppm", "-r", "150", "-png", "-singlefile", pdf, page).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	bundle := filepath.Join(dir, "trust.json")
	if code, _, errOut := run(t, append([]string{"license", "trust-bundle", "-o", bundle}, d2...)...); code != 0 {
		t.Fatalf("trust-bundle: %s", errOut)
	}
	code, out, errOut := run(t, "verify-qr", "--lang", "en", "--trust", bundle, page+".png")
	if code != 0 || !strings.Contains(out, id+" valid") || !strings.Contains(out, "✓ status") {
		t.Fatalf("verify-qr of the printed page: exit %d\n%s%s", code, out, errOut)
	}
	masked := filepath.Join(dir, "masked.pdf")
	if code, _, errOut := run(t, append([]string{"license", "print", "--account", "issuer", "--masked", "--out", masked, id}, d2...)...); code != 0 {
		t.Fatalf("print --masked: exit %d %s", code, errOut)
	}
	if code, _, _ := run(t, append([]string{"license", "print", "--account", "issuer", id}, d2...)...); code == 0 {
		t.Error("print without --out: exit 0")
	}
}
