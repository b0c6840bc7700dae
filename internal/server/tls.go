package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

// TLSConfig returns the settings of the platform's HTTPS listener
// (R-SEC-1, encryption in transit): TLS 1.2 or later, with the certificate
// chain and private key read from PEM files. The files are read again when
// either changes (looked at no more than every few seconds), so a renewed
// certificate takes effect without a restart; a renewal that does not load
// (a key written after its certificate, say) leaves the previous
// certificate in use, is logged, and is tried again.
func TLSConfig(certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, every: 5 * time.Second, now: time.Now, log: log}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}, nil
}

// certReloader keeps the serving certificate current with its files.
type certReloader struct {
	certFile, keyFile string
	every             time.Duration
	now               func() time.Time
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the newer modification time of the two files when loaded
	checked time.Time
	failed  string // the last reload error logged, so it is logged once
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= r.every {
		r.checked = now
		if m, err := r.newest(); err != nil || !m.Equal(r.modTime) {
			switch err := r.reloadLocked(); {
			case err == nil:
				r.failed = ""
				r.log.Info("TLS certificate reloaded", "file", r.certFile)
			case err.Error() != r.failed:
				r.failed = err.Error()
				r.log.Warn("TLS certificate not reloaded; serving the previous one", "error", r.failed)
			}
		}
	}
	return r.cert, nil
}

func (r *certReloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

func (r *certReloader) reloadLocked() error {
	m, err := r.newest()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.modTime = &cert, m
	return nil
}

// newest is the later modification time of the certificate and key files.
func (r *certReloader) newest() (time.Time, error) {
	var m time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return time.Time{}, fmt.Errorf("TLS: %w", err)
		}
		if fi.ModTime().After(m) {
			m = fi.ModTime()
		}
	}
	return m, nil
}

// HSTS tells browsers to use HTTPS only for the next year (RFC 6797); it
// wraps the handler of an HTTPS listener.
func HSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}
