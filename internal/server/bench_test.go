package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/server"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// BenchmarkHandler measures the platform's handler without the network
// beside a bare handler in the same run: GET /api/v1/me with a token
// (middleware, token cache, huma, access log to a LogWriter, metrics) and
// GET /healthz. Compare ns/op with bare's.
func BenchmarkHandler(b *testing.B) {
	db := storetest.OpenSQLite(b)
	e := newEnvAt(b, db, time.Now)
	cat, err := i18n.New()
	if err != nil {
		b.Fatal(err)
	}
	out := server.NewLogWriter(io.Discard)
	defer out.Close()
	log := slog.New(slog.NewJSONHandler(out, nil))
	h := e.p.Web(platform.HTTP{Catalog: cat, Log: log, Registry: prometheus.NewRegistry()}).Handler
	token := e.tokens[authz.OrgAdmin]
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n")) //nolint:errcheck // a recorder does not fail
	})
	for _, c := range []struct {
		name, path, token string
		h                 http.Handler
	}{
		{"bare", "/bare", "", bare},
		{"me", "/api/v1/me", token, h},
		{"healthz", "/healthz", "", h},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest(http.MethodGet, c.path, nil)
					if c.token != "" {
						r.Header.Set("Authorization", "Bearer "+c.token)
					}
					w := httptest.NewRecorder()
					c.h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", c.path, w.Code, w.Body)
					}
				}
			})
		})
	}
}
