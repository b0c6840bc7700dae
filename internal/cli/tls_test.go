package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/server/servertest"
)

// syncBuffer is a buffer the server goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeHTTPS serves over TLS with a certificate from files: probes
// answer over HTTPS with HSTS, plain HTTP is refused, and a half-given
// pair or a missing file stops serve with one line.
func TestServeHTTPS(t *testing.T) {
	data := t.TempDir()
	certFile, keyFile := filepath.Join(data, "tls.crt"), filepath.Join(data, "tls.key")
	cert := servertest.WriteCert(t, certFile, keyFile, "zhengzhao.test", time.Now())
	addrFile := filepath.Join(data, "addr")

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--data", data, "--addr", "127.0.0.1:0", "--addr-file", addrFile,
			"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--lang", "en"}, &stdout, &stderr)
	}()
	var addr string
	for range 200 {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			addr = strings.TrimSpace(string(b))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		cancel()
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" || resp.TLS == nil {
		t.Fatalf("readyz over HTTPS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if !strings.Contains(stdout.String(), "https://"+addr) {
		t.Errorf("serve announced %q, want the https URL", stdout.String())
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served on the HTTPS port")
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve stopped with %d: %s", code, stderr.String())
	}

	for _, args := range [][]string{
		{"--tls-cert-file", certFile},
		{"--tls-key-file", keyFile},
		{"--tls-cert-file", filepath.Join(data, "missing.crt"), "--tls-key-file", keyFile},
	} {
		code, out, errOut := run(t, append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, args...)...)
		if code == 0 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(strings.ToLower(errOut), "tls") {
			t.Errorf("serve %v: exit %d, out %q, err %q; want one line about TLS", args, code, out, errOut)
		}
	}
}
