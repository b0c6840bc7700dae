package web_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/web"
)

// TestPages: the verifier page, its modules and every file its service
// worker caches, and the holder page and its modules, are served with a
// strict CSP, nosniff and cache headers; an ETag revalidates to 304;
// neither page has inline script or style; unknown paths are 404.
func TestPages(t *testing.T) {
	h := web.New()
	sw, err := os.ReadFile("static/verify/sw.js")
	if err != nil {
		t.Fatal(err)
	}
	assets := regexp.MustCompile(`(?m)^  '(/(?:verify|web)/[^']*)'`).FindAllStringSubmatch(string(sw), -1)
	if len(assets) < 5 {
		t.Fatalf("service worker lists %d assets", len(assets))
	}
	paths := []string{"/holder/", "/holder/app.js", "/holder/strings.js", "/holder/style.css", "/web/shared/labels.js", "/web/shared/i18n.js", "/web/shared/tlog.js"}
	for _, a := range assets {
		paths = append(paths, a[1])
	}
	for _, p := range paths {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", p, w.Code)
			continue
		}
		hd := w.Header()
		if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", p, hd)
		}
		wantCache := "no-cache"
		if strings.HasPrefix(p, "/web/vendor/") {
			wantCache = "public, max-age=31536000, immutable"
		}
		if got := hd.Get("Cache-Control"); got != wantCache {
			t.Errorf("GET %s: Cache-Control %q, want %q", p, got, wantCache)
		}
		if strings.HasSuffix(p, ".js") && hd.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", p, hd.Get("Content-Type"))
		}
		r := httptest.NewRequest(http.MethodGet, p, nil)
		r.Header.Set("If-None-Match", hd.Get("ETag"))
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", p, w.Code)
		}
	}
	for _, page := range []string{"/verify/", "/holder/"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, page, nil))
		if body := w.Body.String(); !strings.Contains(body, `<html lang="zh-CN">`) || strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
			t.Errorf("%s: inline script or style, or not zh-CN:\n%s", page, body)
		}
	}
	for _, p := range []string{"/verify/nope.js", "/web/verify/index.html", "/web/holder/index.html", "/holder/nope.js", "/web/../go.mod"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
}
