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
	"strconv"
	"strings"
	"sync"
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

// HolderSessions turns a holder session's secret into an actor; Owns tells
// its secrets from staff tokens by their prefix.
type HolderSessions interface {
	Authenticator
	Owns(secret string) bool
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
	API http.Handler
	// BodyLimit, when set, is the largest body of a request (the API's
	// BodyLimit, which knows the configured upload limit); else
	// httpapi.BodyLimitFor.
	BodyLimit func(method, path string) int64
	Auth      Authenticator
	// Holders, when set, authenticates holder sessions: never through
	// the token cache, so that a logout takes effect at once everywhere.
	Holders  HolderSessions
	Idem     IdempotencyStore
	Store    Pinger
	Problems *httpapi.Problems
	Log      *slog.Logger
	Registry *prometheus.Registry
	Now      func() time.Time
	// Tokens, when set, lets the server remember verified tokens for
	// TokenCacheTTL (TokenCacheTTL below overrides it; negative turns the
	// cache off) instead of asking Auth on every request.
	Tokens        TokenRecords
	TokenCacheTTL time.Duration
	// ChangesAuth reports whether a successful call of the operation may
	// change who a token authenticates as (a token revoked, an organization
	// deactivated); the server then forgets every remembered token, so the
	// change takes effect at once in this process.
	ChangesAuth func(operation string) bool
	// Pages, when set, are the browser pages (internal/web), served
	// under their prefixes without reading a token: they are public
	// static files, and what they fetch goes through the API.
	Pages Pages
}

// Pages are browser pages served under their path prefixes.
type Pages interface {
	http.Handler
	Prefixes() []string
}

// Handler returns the complete handler of the platform.
func Handler(d Deps) http.Handler {
	m := newMetrics(d.Registry)
	var cache *tokenCache
	if d.Tokens != nil && d.TokenCacheTTL >= 0 {
		ttl := d.TokenCacheTTL
		if ttl == 0 {
			ttl = TokenCacheTTL
		}
		cache = newTokenCache(d.Auth, d.Tokens, ttl, d.Now)
		d.Auth = cache
	}
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
	// Status lists are public documents: no token is read, and a GET needs
	// no idempotency record.
	mux.Handle("GET "+httpapi.StatusPrefix+"/", d.API)
	// The audit log's tiles: public but for the entry bundles, which
	// auditors fetch with their token.
	mux.Handle(httpapi.TLogPrefix+"/", authenticate(d, d.API))
	if d.Pages != nil {
		for _, p := range d.Pages.Prefixes() {
			mux.Handle("GET "+p, d.Pages)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/api/docs", http.StatusFound)
			return
		}
		d.Problems.Write(w, r, apperr.New(apperr.NotFound, "no such path: %s", r.URL.Path))
	})
	return requestContext(d, m, cache, mux)
}

// validRequestID reports whether a caller's X-Request-Id may be kept:
// 1 to 64 of A-Z a-z 0-9 . _ -, so that it is safe in logs and headers.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 24 random hex digits.
func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestContext gives every request an ID, a language, a body limit, a
// metrics sample and one access log line.
func requestContext(d Deps, m *metrics, cache *tokenCache, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header()["X-Request-Id"] = []string{id}
		ctx := reqctx.WithRequestID(r.Context(), id)
		ctx = reqctx.WithLang(ctx, i18n.Parse(r.Header.Get("Accept-Language")))
		ctx, note := reqctx.WithNote(ctx)
		r = r.WithContext(ctx)
		limit := httpapi.BodyLimitFor
		if d.BodyLimit != nil {
			limit = d.BodyLimit
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit(r.Method, r.URL.Path))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)

		// API operations are named by their operation ID, everything else
		// by its route pattern: a label per operation, never per raw path.
		route := note.Route
		if route == "" {
			route = r.Pattern
		}
		if route == "" {
			route = "unmatched"
		}
		ok := rec.status >= 200 && rec.status < 300
		if cache != nil && ok && r.Method != http.MethodGet && d.ChangesAuth != nil && d.ChangesAuth(route) {
			cache.forget()
		}
		elapsed := time.Since(start)
		m.observe(r.Method, route, rec.status, elapsed)
		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs, slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.Int("bytes", rec.bytes), slog.String("remote", remoteIP(r)))
		if a := note.Actor; a != nil {
			attrs = append(attrs, slog.String("account", a.AccountID), slog.String("org", a.Org))
		}
		d.Log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
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
		} else if actor, err := authenticator(d, secret).Authenticate(ctx, strings.TrimSpace(secret)); err != nil {
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

// authenticator returns who verifies secret: the holder sessions or the
// staff tokens.
func authenticator(d Deps, secret string) Authenticator {
	if d.Holders != nil && d.Holders.Owns(strings.TrimSpace(secret)) {
		return d.Holders
	}
	return d.Auth
}

// idempotencyStale is how long a request that never finished holds its key.
const idempotencyStale = time.Minute

// idempotencyScope is whose keys a key is among: the account's, or a
// holder's, which has no account.
func idempotencyScope(actor *authz.Actor) string {
	if actor.Holder != nil {
		return "holder:" + actor.Holder.ID
	}
	return actor.AccountID
}

// idempotent replays the first answer to a POST retried with the same
// Idempotency-Key and body, and refuses the same key with another body.
// Keys are scoped to the calling account or holder. Only successful
// answers are kept: a failed request wrote nothing, so running it again is
// safe.
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
		prev, err := d.Idem.ClaimIdempotencyKey(r.Context(), idempotencyScope(actor), key, sum, d.Now(), idempotencyStale)
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
			err = d.Idem.CompleteIdempotencyKey(ctx, idempotencyScope(actor), key, rec.status, rec.Header().Get("Content-Type"), rec.buf.Bytes())
		} else {
			err = d.Idem.ReleaseIdempotencyKey(ctx, idempotencyScope(actor), key)
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

// metrics are the request counters and latency histograms, labelled by
// operation: the API operation ID (get-me, verify-signature, …), or the
// route pattern of the probes and /metrics, or "unmatched".
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// children keeps the series already looked up: resolving labels hashes
	// them on every call, and the set of operations is small and fixed.
	children sync.Map // seriesKey -> series
}

type seriesKey struct {
	method, operation string
	status            int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhengzhao_http_requests_total", Help: "HTTP requests by method, operation and status.",
		}, []string{"method", "operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zhengzhao_http_request_duration_seconds", Help: "HTTP request latency by method and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "operation"}),
	}
	reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, operation string, status int, elapsed time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "OTHER" // a caller must not mint series
	}
	k := seriesKey{method, operation, status}
	v, ok := m.children.Load(k)
	if !ok {
		v, _ = m.children.LoadOrStore(k, series{
			requests: m.requests.WithLabelValues(method, operation, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(method, operation),
		})
	}
	s := v.(series)
	s.requests.Inc()
	s.duration.Observe(elapsed.Seconds())
}
