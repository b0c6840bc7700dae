// Package server is the HTTP server around the API: request IDs, language,
// authentication, idempotency keys, body limits, metrics, access logs and the
// health probes. It knows nothing of individual operations.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/reqctx"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// Authenticator turns a bearer token into an actor.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*authz.Actor, error)
}

// IdempotencyStore keeps the answers to requests sent with an Idempotency-Key.
type IdempotencyStore interface {
	ClaimIdempotencyKey(ctx context.Context, scope, key string, reqHash []byte, now time.Time, staleAfter time.Duration) (*store.IdempotencyRecord, error)
	CompleteIdempotencyKey(ctx context.Context, scope, key string, status int, contentType string, body []byte) error
	ReleaseIdempotencyKey(ctx context.Context, scope, key string) error
}

// Pinger answers whether the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the server needs.
type Deps struct {
	API      http.Handler
	Auth     Authenticator
	Idem     IdempotencyStore
	Store    Pinger
	Problems *httpapi.Problems
	Log      *slog.Logger
	Registry *prometheus.Registry
	Now      func() time.Time
}

// Handler returns the complete handler of the platform.
func Handler(d Deps) http.Handler {
	m := newMetrics(d.Registry)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeBody(r.Context(), d.Log, w, []byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := d.Store.Ping(ctx); err != nil {
			d.Problems.Write(w, r, apperr.Wrap(apperr.Unavailable, err, "the store is not reachable"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeBody(r.Context(), d.Log, w, []byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	mux.Handle("/api/", authenticate(d, idempotent(d, d.API)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/api/docs", http.StatusFound)
			return
		}
		d.Problems.Write(w, r, apperr.New(apperr.NotFound, "no such path: %s", r.URL.Path))
	})
	return requestContext(d, m, mux)
}

var requestIDRule = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestContext gives every request an ID, a language, a body limit, a
// metrics sample and one access log line.
func requestContext(d Deps, m *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDRule.MatchString(id) {
			b := make([]byte, 12)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		ctx := reqctx.WithRequestID(r.Context(), id)
		ctx = reqctx.WithLang(ctx, i18n.Parse(r.Header.Get("Accept-Language")))
		ctx, note := reqctx.WithNote(ctx)
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, httpapi.BodyLimit)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)

		route := note.Route
		if route == "" {
			route = r.Pattern
		}
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
		attrs := []any{"request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes", rec.bytes, "remote", remoteIP(r)}
		if a := note.Actor; a != nil {
			attrs = append(attrs, "account", a.AccountID, "org", a.Org)
		}
		d.Log.InfoContext(ctx, "request", attrs...)
	})
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate resolves a bearer token into an actor. A request without a
// token goes on anonymously (each operation decides whether that is enough);
// a request with a bad token goes on anonymously too, carrying the reason.
func authenticate(d Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, secret, _ := strings.Cut(h, " ")
		ctx := r.Context()
		if !strings.EqualFold(scheme, "Bearer") || secret == "" {
			ctx = reqctx.WithAuthError(ctx, apperr.New(apperr.Unauthenticated, "use Authorization: Bearer <token>"))
		} else if actor, err := d.Auth.Authenticate(ctx, strings.TrimSpace(secret)); err != nil {
			if apperr.KindOf(err) != apperr.Unauthenticated {
				d.Problems.Write(w, r, err)
				return
			}
			ctx = reqctx.WithAuthError(ctx, err)
		} else {
			ctx = authz.WithActor(ctx, actor)
			reqctx.NoteFrom(ctx).Actor = actor
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// idempotencyStale is how long a request that never finished holds its key.
const idempotencyStale = time.Minute

// idempotent replays the first answer to a POST retried with the same
// Idempotency-Key and body, and refuses the same key with another body.
// Keys are scoped to the calling account. Only successful answers are kept:
// a failed request wrote nothing, so running it again is safe.
func idempotent(d Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		actor := authz.ActorFrom(r.Context())
		if r.Method != http.MethodPost || key == "" || actor == nil {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 {
			d.Problems.Write(w, r, &apperr.Error{Kind: apperr.Invalid, Detail: "Idempotency-Key is longer than 255 characters",
				Fields: []apperr.FieldError{{Field: "Idempotency-Key", Rule: "max-length"}}})
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				d.Problems.WriteProblem(w, &httpapi.Problem{Type: "about:blank", Status: http.StatusRequestEntityTooLarge,
					Title: "request body too large", Kind: apperr.Invalid, Detail: "the body is larger than the limit", RequestID: reqctx.RequestID(r.Context())})
				return
			}
			d.Problems.Write(w, r, apperr.Wrap(apperr.Invalid, err, "the body could not be read"))
			return
		}
		h := sha256.New()
		h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
		h.Write(body)
		sum := h.Sum(nil)
		prev, err := d.Idem.ClaimIdempotencyKey(r.Context(), actor.AccountID, key, sum, d.Now(), idempotencyStale)
		if err != nil {
			d.Problems.Write(w, r, err)
			return
		}
		if prev != nil {
			switch {
			case !bytes.Equal(prev.RequestHash, sum):
				d.Problems.Write(w, r, apperr.New(apperr.Conflict, "this Idempotency-Key was used with another request"))
			case !prev.Done:
				d.Problems.Write(w, r, apperr.New(apperr.Conflict, "a request with this Idempotency-Key is still in progress"))
			default:
				w.Header().Set("Content-Type", prev.ContentType)
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(prev.StatusCode)
				writeBody(r.Context(), d.Log, w, prev.Response)
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK, keep: true}
		next.ServeHTTP(rec, r)
		// The answer has gone out; keeping it must not depend on the client.
		ctx := context.WithoutCancel(r.Context())
		if rec.status >= 200 && rec.status < 300 {
			err = d.Idem.CompleteIdempotencyKey(ctx, actor.AccountID, key, rec.status, rec.Header().Get("Content-Type"), rec.buf.Bytes())
		} else {
			err = d.Idem.ReleaseIdempotencyKey(ctx, actor.AccountID, key)
		}
		if err != nil {
			d.Log.ErrorContext(ctx, "idempotency key not recorded", "request_id", reqctx.RequestID(ctx), "error", err.Error())
		}
	})
}

// writeBody writes a response body after its header. An error means the
// client has gone and nothing can be done; it is logged at debug level,
// since disconnecting clients are routine.
func writeBody(ctx context.Context, log *slog.Logger, w io.Writer, b []byte) {
	if _, err := w.Write(b); err != nil {
		log.DebugContext(ctx, "response body not written", "request_id", reqctx.RequestID(ctx), "error", err.Error())
	}
}

// recorder notes the status and size of a response, and keeps its body
// when asked to.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int
	wroteHeader bool
	keep        bool
	buf         bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	if r.keep {
		r.buf.Write(b)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhengzhao_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zhengzhao_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
