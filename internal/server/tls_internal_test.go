package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/server/servertest"
)

// TestCertificateReload serves HTTPS and replaces the certificate files
// under it: a broken pair leaves the previous certificate in service and is
// logged once, a good one takes over without a restart.
func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	t0 := time.Now().Add(-time.Minute)
	first := servertest.WriteCert(t, certFile, keyFile, "first", t0)
	var logs bytes.Buffer
	cfg, err := TLSConfig(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("minimum TLS version %x", cfg.MinVersion)
	}
	// The same reloader, looking at the files at every handshake.
	r := &certReloader{certFile: certFile, keyFile: keyFile, now: time.Now, log: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := r.reload(); err != nil {
		t.Fatal(err)
	}
	cfg.GetCertificate = r.get
	// As serve does: no Certificates, so every handshake asks GetCertificate
	// (httptest would add a certificate of its own).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: HSTS(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})), TLSConfig: cfg,
		ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer srv.Close()
	url := "https://" + ln.Addr().String()

	served := func(trusted *x509.Certificate) string {
		t.Helper()
		pool := x509.NewCertPool()
		pool.AddCert(trusted)
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
		resp, err := client.Get(url)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no Strict-Transport-Security header over HTTPS")
		}
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if got := served(first); got != "first" {
		t.Fatalf("served %q, want first", got)
	}
	// A renewal half done: the new certificate file is not a certificate.
	if err := os.WriteFile(certFile, []byte("not yet"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(certFile, t0.Add(time.Second), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := served(first); got != "first" {
			t.Fatalf("during a broken renewal served %q, want the previous certificate", got)
		}
	}
	if n := strings.Count(logs.String(), "TLS certificate not reloaded"); n != 1 {
		t.Fatalf("the broken renewal was logged %d times, want once:\n%s", n, logs.String())
	}
	second := servertest.WriteCert(t, certFile, keyFile, "second", t0.Add(2*time.Second))
	if got := served(second); got != "second" {
		t.Fatalf("after the renewal served %q, want second", got)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Fatalf("the renewal was not logged:\n%s", logs.String())
	}
}

func TestTLSConfigRefusesMissingFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := TLSConfig(filepath.Join(dir, "none.crt"), filepath.Join(dir, "none.key"), slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "none.crt") {
		t.Fatalf("missing files: %v", err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	servertest.WriteCert(t, certFile, keyFile, "a", time.Now())
	otherKey := filepath.Join(dir, "other.key")
	servertest.WriteCert(t, filepath.Join(dir, "other.crt"), otherKey, "b", time.Now())
	if _, err := TLSConfig(certFile, otherKey, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "tls.crt") {
		t.Fatalf("a key of another certificate: %v", err)
	}
}
