package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/reqctx"
)

// Problem is an RFC 9457 problem document. Every error the API answers is one.
type Problem struct {
	Type      string         `json:"type,omitempty" doc:"A URI reference naming the problem type; about:blank when the title says it all."`
	Title     string         `json:"title" doc:"Short summary of the problem kind, in the caller's language."`
	Status    int            `json:"status" doc:"HTTP status code."`
	Detail    string         `json:"detail,omitempty" doc:"What went wrong in this occurrence (English)."`
	Kind      apperr.Kind    `json:"kind" doc:"Machine-readable kind: invalid, not-found, conflict, forbidden, unauthenticated, rate-limited, unavailable, internal."`
	RequestID string         `json:"request_id,omitempty" doc:"The X-Request-Id of the request, for support."`
	Errors    []FieldProblem `json:"errors,omitempty" doc:"One entry per bad field."`
}

// FieldProblem names one bad field and the rule it broke.
type FieldProblem struct {
	Field   string `json:"field" doc:"JSON path of the field in the body (responsible.phone, kinds[1]) or the parameter name."`
	In      string `json:"in" enum:"body,path,query,header" doc:"Where the field is."`
	Rule    string `json:"rule" doc:"Stable name of the broken rule, e.g. required, check-character, unknown-field."`
	Message string `json:"message" doc:"The rule in the caller's language."`
	Detail  string `json:"detail,omitempty" doc:"English detail of this occurrence."`
}

func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: problems are problem+json.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

var statusOfKind = map[apperr.Kind]int{
	apperr.Invalid:         http.StatusUnprocessableEntity,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.Internal:        http.StatusInternalServerError,
}

func kindOfStatus(status int) apperr.Kind {
	for k, s := range statusOfKind {
		if s == status {
			return k
		}
	}
	switch {
	case status >= 500:
		return apperr.Internal
	case status >= 400:
		return apperr.Invalid
	}
	return apperr.Internal
}

// Problems builds problem documents in the caller's language and logs the
// causes of internal errors, which callers never see.
type Problems struct {
	cat *i18n.Catalog
	log *slog.Logger
}

// NewProblems returns a problem builder.
func NewProblems(cat *i18n.Catalog, log *slog.Logger) *Problems {
	return &Problems{cat: cat, log: log}
}

// From turns any error into a problem.
func (ps *Problems) From(ctx context.Context, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	lang := reqctx.Lang(ctx)
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		ps.log.ErrorContext(ctx, "internal error", "request_id", reqctx.RequestID(ctx), "error", err.Error())
		ae = &apperr.Error{Kind: apperr.Internal, Detail: "an internal error occurred; quote the request ID to support"}
	}
	if ae.Kind == apperr.Internal || ae.Kind == apperr.Unavailable {
		if ae.Err != nil {
			ps.log.ErrorContext(ctx, string(ae.Kind), "request_id", reqctx.RequestID(ctx), "error", ae.Err.Error())
		}
	}
	p = &Problem{
		Type:      "about:blank",
		Status:    statusOfKind[ae.Kind],
		Title:     ps.cat.T(lang, "kind."+string(ae.Kind), nil, string(ae.Kind)),
		Detail:    ae.Detail,
		Kind:      ae.Kind,
		RequestID: reqctx.RequestID(ctx),
	}
	for _, f := range ae.Fields {
		in := "body"
		if f.Field == "limit" || f.Field == "cursor" {
			in = "query"
		}
		p.Errors = append(p.Errors, FieldProblem{
			Field: f.Field, In: in, Rule: f.Rule, Detail: f.Detail,
			Message: ps.cat.T(lang, "rule."+f.Rule, f.MessageParams(), f.Detail),
		})
	}
	return p
}

// Write writes err as problem+json.
func (ps *Problems) Write(w http.ResponseWriter, r *http.Request, err error) {
	ps.WriteProblem(w, ps.From(r.Context(), err))
}

// WriteProblem writes a built problem.
func (ps *Problems) WriteProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="zhengzhao"`)
	}
	w.WriteHeader(p.Status)
	if err := json.NewEncoder(w).Encode(p); err != nil {
		ps.bodyNotWritten(p, err)
	}
}

// bodyNotWritten logs a problem whose body could not be sent. A Problem always
// encodes, so the write failed: the client has gone and only the log is
// left, at debug level because disconnecting clients are routine.
func (ps *Problems) bodyNotWritten(p *Problem, err error) {
	ps.log.Debug("problem body not written", "status", p.Status, "error", err.Error())
}

// humaRules maps huma's schema validation messages (package
// huma/v2/validation) to our rule names; the first matching prefix wins.
var humaRules = []struct{ prefix, rule string }{
	{"send JSON", "media-type"},
	{"invalid UTF-8", "utf8"},
	{"unexpected property", "unknown-field"},
	{"expected required property", "required"},
	{"expected string to match pattern", "pattern"},
	{"expected string to be", "format"},
	{"expected value to be one of", "enum"},
	{"expected length >=", "min-length"},
	{"expected length <=", "max-length"},
	{"expected array length", "range"},
	{"expected number", "range"},
	{"expected array items to be unique", "unique"},
	{"expected boolean", "type"},
	{"expected integer", "type"},
	{"expected string", "type"},
	{"expected array", "type"},
	{"expected object", "type"},
	{"invalid character", "json"},
	{"unexpected end of JSON", "json"},
	{"cannot unmarshal", "type"},
}

var requiredProperty = regexp.MustCompile(`^expected required property (\S+) to be present`)

// fromHuma converts an error huma produced itself (body parsing, schema
// validation, size limits) into our problem shape.
func (ps *Problems) fromHuma(ctx context.Context, status int, msg string, errs ...error) *Problem {
	lang := reqctx.Lang(ctx)
	kind := kindOfStatus(status)
	title := ps.cat.T(lang, "kind."+string(kind), nil, http.StatusText(status))
	if status == http.StatusRequestEntityTooLarge {
		title = ps.cat.T(lang, "kind.too-large", nil, http.StatusText(status))
	}
	p := &Problem{Type: "about:blank", Status: status, Title: title, Detail: msg, Kind: kind, RequestID: reqctx.RequestID(ctx)}
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d *huma.ErrorDetail
		if !errors.As(err, &d) {
			d = &huma.ErrorDetail{Message: err.Error(), Location: "body"}
		}
		in, field, _ := strings.Cut(d.Location, ".")
		if status == http.StatusUnsupportedMediaType {
			in, field, d.Message = "header", "Content-Type", "send JSON with Content-Type: application/json ("+d.Message+")"
		}
		if m := requiredProperty.FindStringSubmatch(d.Message); m != nil {
			field = strings.TrimPrefix(field+"."+m[1], ".")
		}
		rule := "schema"
		for _, r := range humaRules {
			if strings.HasPrefix(d.Message, r.prefix) {
				rule = r.rule
				break
			}
		}
		if field == "" {
			field = "$"
		}
		p.Errors = append(p.Errors, FieldProblem{
			Field: field, In: in, Rule: rule, Detail: d.Message,
			Message: ps.cat.T(lang, "rule."+rule, nil, d.Message),
		})
	}
	return p
}

var installHumaErrors sync.Once

// useProblemsInHuma makes huma report its own errors (malformed JSON, schema
// violations, oversized bodies) in our problem shape. huma offers only a
// package-level hook for this, so it is set once per process; the hook reads
// the builder from the request context, so several APIs in one process (as
// in tests) each keep their own.
func useProblemsInHuma() {
	installHumaErrors.Do(func() {
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			ctx := context.Background()
			if hctx != nil {
				ctx = hctx.Context()
			}
			if ps, ok := ctx.Value(problemsKey{}).(*Problems); ok {
				return ps.fromHuma(ctx, status, msg, errs...)
			}
			return huma.NewError(status, msg, errs...)
		}
	})
}

type problemsKey struct{}

// withProblems returns ctx carrying the problem builder huma's hook uses.
func withProblems(ctx context.Context, ps *Problems) context.Context {
	return context.WithValue(ctx, problemsKey{}, ps)
}
