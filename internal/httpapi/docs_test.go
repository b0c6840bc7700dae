package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
)

func docsServer(t *testing.T) *httptest.Server {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	a := httpapi.New(httpapi.Services{}, httpapi.NewProblems(cat, slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // a test server's URL
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestDocsServedFromTheBinary: the docs page loads its renderer from this
// server only (no CDN), the renderer and its licence are served, and the
// page still lists every operation without scripts.
func TestDocsServedFromTheBinary(t *testing.T) {
	srv := docsServer(t)
	resp, page := get(t, srv.URL+"/api/docs")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/api/docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Every URL the page loads or links to is on this server: no scheme,
	// no protocol-relative host.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"|from "([^"]*)"|https?://[^\s"'<)]+`).FindAllStringSubmatch(page, -1) {
		ref := m[1] + m[2]
		if ref == "" {
			t.Errorf("the docs page names an external URL: %s", m[0])
		} else if strings.HasPrefix(ref, "//") || strings.Contains(ref, "://") {
			t.Errorf("the docs page loads %s from elsewhere", ref)
		}
	}
	asset := regexp.MustCompile(`from "([^"]+)"`).FindStringSubmatch(page)
	if asset == nil {
		t.Fatal("the docs page loads no renderer")
	}
	path := strings.ReplaceAll(asset[1], `\/`, "/")
	resp, js := get(t, srv.URL+path)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(js, "Redoc") || len(js) < 1<<20 {
		t.Fatalf("%s: %d %s, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(js))
	}
	if resp, lic := get(t, srv.URL+"/api/docs/LICENSE.redoc"); resp.StatusCode != http.StatusOK || !strings.Contains(lic, "MIT") {
		t.Fatalf("/api/docs/LICENSE.redoc: %d %q", resp.StatusCode, lic)
	}
	for _, id := range []string{"create-org", "list-accounts"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("the page without scripts lacks %s", id)
		}
	}
}

// TestDocsRenderInChromium loads the page in headless Chromium and looks
// for what the old page lacked: the request body schema of POST
// /api/v1/orgs, its fields, and Markdown rendered rather than printed.
func TestDocsRenderInChromium(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium to render the API docs with (apt-get install chromium)")
		}
		t.Skip("*** no Chromium (apt-get install chromium): the API docs are not rendered in a browser ***")
	}
	srv := docsServer(t)
	render := func(fragment string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
			"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", srv.URL + "/api/docs" + fragment}
		out, err := exec.CommandContext(ctx, browser, args...).Output()

		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		return string(out)
	}
	// The overview renders the description's Markdown: backticks become code.
	if dom := render(""); !strings.Contains(dom, "<code>Authorization: Bearer &lt;token&gt;</code>") {
		t.Errorf("the API description's Markdown is not rendered (%d bytes of DOM)", len(dom))
	}
	// Each operation has its page (hash routing); text is compared without
	// the markup, which is the renderer's business.
	dom := render("#/organizations/create-org")
	text := strings.Join(strings.Fields(regexp.MustCompile(`(?s)<style.*?</style>|<svg.*?</svg>|<[^>]+>`).ReplaceAllString(dom, " ")), " ")
	op := strings.Index(text, "Create an organization Copy")
	if op < 0 {
		t.Fatalf("the create-org operation is not rendered: %.1500s", text)
	}
	text = text[op:]
	for _, want := range []string{
		"Headers Idempotency-Key",
		"Body application/json required credit_code string",
		"responsible object (Responsible) required",
		"POST /api/v1/orgs Payload {",
		"Responses 201",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered create-org operation lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("rendered text: %.3000s", text)
	}
}
