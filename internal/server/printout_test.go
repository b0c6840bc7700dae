package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/zhengzhao/zhengzhao/internal/printout"
	"github.com/zhengzhao/zhengzhao/internal/qrimage"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/testskip"
	"github.com/zhengzhao/zhengzhao/verify"
)

// pdfReader reads PDFs back with poppler-utils, independent of the
// writer; it skips the test (fails under CI=true) without them or a CJK
// font to print with.
type pdfReader struct {
	t   *testing.T
	dir string
}

func newPDFReader(t *testing.T) pdfReader {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdfdetach", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			testskip.Missing(t, "poppler-utils", tool+" not found; apt-get install poppler-utils")
		}
	}
	if _, _, err := printout.FindFont(""); errors.Is(err, printout.ErrNoFont) {
		testskip.Missing(t, "a CJK TrueType font", "apt-get install "+printout.FontPackage)
	}
	return pdfReader{t: t, dir: t.TempDir()}
}

// run runs a poppler tool on the PDF, whose path stands for "{}" among
// args, and returns its output.
func (r pdfReader) run(pdf []byte, tool string, args ...string) []byte {
	r.t.Helper()
	f, err := os.CreateTemp(r.dir, "*.pdf")
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := f.Write(pdf); err != nil {
		r.t.Fatal(err)
	}
	f.Close()
	var stderr bytes.Buffer
	args = slices.Clone(args)
	for i, a := range args {
		if a == "{}" {
			args[i] = f.Name()
		}
	}
	cmd := exec.Command(tool, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("%s: %v: %s", tool, err, stderr.Bytes())
	}
	return out
}

// qr rasterizes the page at 150 dpi, as a printer and a scanner would,
// and decodes its QR code with gozxing; when its detector misses the code
// (it does for about one synthetic page in fifty), at 200 and 300 dpi, as
// a scanner tries again.
func (r pdfReader) qr(pdf []byte) string {
	r.t.Helper()
	var errs []error
	for _, dpi := range []string{"150", "200", "300"} {
		prefix := filepath.Join(r.t.TempDir(), "page")
		r.run(pdf, "pdftoppm", "-r", dpi, "-png", "-singlefile", "{}", prefix)
		raw, err := os.ReadFile(prefix + ".png")
		if err != nil {
			r.t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			r.t.Fatal(err)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			r.t.Fatal(err)
		}
		res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
		if err == nil {
			return res.GetText()
		}
		errs = append(errs, fmt.Errorf("%s dpi: %w", dpi, err))
	}
	r.t.Fatalf("decode the QR code of the page: %v", errors.Join(errs...))
	return ""
}

// TestLicensePrintoutOverTheAPI prints an issued license: the PDF shows
// its number, carries its signed document byte for byte, and its QR code,
// read from the rasterized page, verifies offline with the trust bundle
// until the license's end; a masked English copy attaches nothing; a bad
// language is a field problem, and refusals record nothing.
func TestLicensePrintoutOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		pr := newPDFReader(t)
		le := newLicenseEnv(t, db)
		l, doc := le.issued(t)
		url := "/api/v1/licenses/" + l.ID + "/printout"
		r := le.do(http.MethodGet, url, le.issuer, "").want(t, http.StatusOK, "printout")
		if ct := r.header.Get("Content-Type"); ct != "application/pdf" || !strings.Contains(r.header.Get("Content-Disposition"), l.ID+".pdf") {
			t.Errorf("headers %v", r.header)
		}
		if text := string(pr.run(r.body, "pdftotext", "-enc", "UTF-8", "{}", "-")); !strings.Contains(text, l.Number) || !strings.Contains(text, "电子证照打印件") {
			t.Errorf("the page does not show the number %s:\n%s", l.Number, text)
		}
		attached := filepath.Join(t.TempDir(), "license.json")
		pr.run(r.body, "pdfdetach", "-save", "1", "-o", attached, "{}")
		if got, err := os.ReadFile(attached); err != nil || !bytes.Equal(got, doc) {
			t.Errorf("the attachment is not the signed document (%v)", err)
		}
		bundle, err := verify.OpenBundle(le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "bundle").body, "")
		if err != nil {
			t.Fatal(err)
		}
		if v := verify.License(context.Background(), doc, bundle, time.Now()); !v.Valid {
			t.Errorf("the attached document: %+v", v.Checks)
		}
		payload := pr.qr(r.body)
		if bits, err := qrimage.Modules(payload); err == nil {
			t.Logf("the printed payload: %d characters, QR version %d-M", len(payload), (len(bits)-17)/4)
		}
		v := verify.Presentation(context.Background(), payload, bundle, time.Now().Add(time.Hour))
		if !v.Valid || v.Presented.LicenseID != l.ID || len(v.Presented.Fields) != 0 {
			t.Fatalf("the printed QR an hour later: %+v", v.Checks)
		}
		if l.ValidUntil == nil || !v.Presented.Expires.Equal(l.ValidUntil.Truncate(time.Second)) {
			t.Errorf("the printed QR expires %s, want the license's end %v", v.Presented.Expires, l.ValidUntil)
		}

		r = le.do(http.MethodGet, url+"?masked=true&lang=en", le.issuer, "").want(t, http.StatusOK, "masked printout")
		if text := string(pr.run(r.body, "pdftotext", "-enc", "UTF-8", "{}", "-")); !strings.Contains(text, "Printed copy") || strings.Contains(text, l.HolderName) {
			t.Errorf("the masked English page:\n%s", text)
		}
		if list := string(pr.run(r.body, "pdfdetach", "-list", "{}")); strings.Contains(list, "license.json") {
			t.Errorf("a masked copy attaches the document: %s", list)
		}
		printed := func() int {
			entries, err := db.AuditPending(context.Background(), "", 100000)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range entries {
				if e.Action == "license.printed" && e.Subject == l.ID {
					n++
				}
			}
			return n
		}
		if n := printed(); n != 2 {
			t.Errorf("%d license.printed entries, want 2", n)
		}
		pb := le.do(http.MethodGet, url+"?lang=fr", le.issuer, "").want(t, http.StatusUnprocessableEntity, "lang fr").problem(t)
		if len(pb.Errors) == 0 || pb.Errors[0].Field != "lang" {
			t.Errorf("problem names %+v, want lang", pb.Errors)
		}
		le.do(http.MethodGet, url, le.otherIssuer, "").want(t, http.StatusNotFound, "another organization prints it")
		le.do(http.MethodGet, url, le.admin, "").want(t, http.StatusForbidden, "an org admin prints it")
		if n := printed(); n != 2 {
			t.Errorf("%d license.printed entries after refusals, want 2", n)
		}
	})
}

// TestConcurrentPrintout: twenty copies of one license printed at once
// all succeed, each with its own audit entry.
func TestConcurrentPrintout(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		newPDFReader(t)
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		url := "/api/v1/licenses/" + l.ID + "/printout?masked=true"
		const n = 20
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if r := le.do(http.MethodGet, url, le.issuer, ""); r.status != http.StatusOK || !bytes.HasPrefix(r.body, []byte("%PDF")) {
					t.Errorf("status %d: %.200s", r.status, r.body)
				}
			})
		}
		wg.Wait()
		entries, err := db.AuditPending(context.Background(), "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, e := range entries {
			if e.Action == "license.printed" && e.Subject == l.ID {
				got++
			}
		}
		if got != n {
			t.Errorf("%d license.printed entries, want %d", got, n)
		}
	})
}
