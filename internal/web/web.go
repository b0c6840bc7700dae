// Package web serves the platform's browser pages: static files embedded
// in the binary, one directory per page under static/ (static/verify: the
// offline verifier of holders' QR payloads; static/holder: the holder's
// licenses and dynamic QR code), the modules the pages share
// in static/shared and the browser libraries they use, vendored with their
// licences and versions, in static/vendor (docs/verifier-page.md,
// docs/holder-page.md). No file carries data (the holder page fetches the
// holder's own with the holder's session), so every path is public.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy allows the pages nothing but their own origin: no
// inline script or style, no CDN; the camera's frames are blob: and data:
// images; the trust bundle is fetched from the same origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// file is one embedded file, ready to serve.
type file struct {
	body  []byte
	ctype string
	etag  string
	// immutable: a vendored library, whose path names its version.
	immutable bool
}

// Handler serves the pages. Each file carries a strong ETag (its SHA-256)
// and is revalidated on every use (Cache-Control: no-cache), so a new
// binary's page is seen at once; the vendored libraries, whose paths name
// their versions, are cached for a year. Offline, the page's service
// worker answers from its own cache.
type Handler struct {
	files map[string]file
}

// New reads the embedded files once. Walking and reading an embed.FS
// cannot fail on the paths it lists itself, so an error is dropped there
// and TestPages checks that every page is served.
func New() *Handler {
	h := &Handler{files: map[string]file{}}
	_ = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel := strings.TrimPrefix(p, "static/")
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js", ".mjs":
			ctype = "text/javascript; charset=utf-8" // mime tables differ between systems
		case "":
			ctype = "text/plain; charset=utf-8" // LICENSE files
		}
		f := file{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, immutable: strings.HasPrefix(rel, "vendor/")}
		// /verify/… is static/verify/…, /holder/… static/holder/…; /web/…
		// is everything else.
		if page, rest, ok := strings.Cut(rel, "/"); ok && (page == "verify" || page == "holder") {
			h.files["/"+page+"/"+rest] = f
		} else {
			h.files["/web/"+rel] = f
		}
		return nil
	})
	return h
}

// Prefixes are the paths the pages are served under: the verifier page,
// the holder page, and the shared modules and libraries every page loads.
func (h *Handler) Prefixes() []string { return []string{"/verify/", "/holder/", "/web/"} }

// ServeHTTP answers GET and HEAD; a directory is its index.html.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasSuffix(p, "/") {
		p += "index.html"
	}
	f, ok := h.files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("ETag", f.etag)
	if f.immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	// ServeContent answers If-None-Match with 304 and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
