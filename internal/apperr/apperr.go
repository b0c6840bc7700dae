// Package apperr is the closed list of error kinds the platform reports.
//
// Capability packages return *Error values (or wrap them); only the HTTP layer
// turns them into RFC 9457 problem documents and only the CLI turns them into
// one line of text. Any error that is not an *Error is an internal error: its
// detail is logged, never shown.
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind classifies an error by how a caller should react to it.
type Kind string

// The kinds. The list is closed: callers switch on it.
const (
	// Invalid: the input broke a rule; Fields says which. Fix the input, do not retry.
	Invalid Kind = "invalid"
	// NotFound: the named thing does not exist (or the caller may not know it does).
	NotFound Kind = "not-found"
	// Conflict: the request contradicts the current state (duplicate, wrong state,
	// idempotency key reused with another body). Re-read, then decide.
	Conflict Kind = "conflict"
	// Forbidden: the caller is known but not allowed. Do not retry.
	Forbidden Kind = "forbidden"
	// Unauthenticated: no valid credential. Authenticate, then retry.
	Unauthenticated Kind = "unauthenticated"
	// RateLimited: too many requests. Retry later.
	RateLimited Kind = "rate-limited"
	// Unavailable: a dependency is down. Retry later.
	Unavailable Kind = "unavailable"
	// Internal: a bug or an unexpected failure. The detail is logged, not shown.
	Internal Kind = "internal"
)

// FieldError names one bad field and the rule it broke.
type FieldError struct {
	// Field is the dotted JSON path of the field in the request body
	// ("responsible.phone", "kinds[1]"), or the name of a path or query parameter.
	Field string
	// Rule is a stable kebab-case rule name ("required", "check-character");
	// it doubles as the translation key of the message.
	Rule string
	// Detail is an English explanation of this occurrence.
	Detail string
	// Params fill in the rule's message ("the license is {{.State}}"),
	// for a message that names a value of this occurrence.
	Params map[string]any
}

// MessageParams are f's message parameters, never nil (a message template
// reads a missing one as empty).
func (f FieldError) MessageParams() map[string]any {
	if f.Params == nil {
		return map[string]any{}
	}
	return f.Params
}

// Error is a classified error.
type Error struct {
	Kind   Kind
	Detail string // English, safe to show to the caller
	Fields []FieldError
	Err    error // the cause, kept for logs; never shown
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Rule)
		if f.Detail != "" {
			b.WriteString(" (" + f.Detail + ")")
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, apperr.NotFound) true for every error of that kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// Error makes a Kind usable as an errors.Is target.
func (k Kind) Error() string { return string(k) }

// New returns an error of the kind with a formatted detail.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Wrap classifies a cause.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...), Err: err}
}

// Fields collects field errors so that a validator reports every bad field at once.
type Fields []FieldError

// Add records that field broke rule.
func (fs *Fields) Add(field, rule, detail string) {
	*fs = append(*fs, FieldError{Field: field, Rule: rule, Detail: detail})
}

// Text checks a free-text field: present when required, valid UTF-8, at
// most max characters. It reports whether the value passed.
func (fs *Fields) Text(field, v string, max int, required bool) bool {
	switch {
	case v == "" && required:
		fs.Add(field, "required", "a value is required")
	case !utf8.ValidString(v):
		fs.Add(field, "utf8", "not valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		fs.Add(field, "max-length", fmt.Sprintf("at most %d characters", max))
	default:
		return true
	}
	return false
}

// Err returns nil when no field error was added, else an Invalid error carrying them.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Detail: "the request has invalid fields", Fields: fs}
}

// KindOf returns the kind of err: Internal for errors that are not classified.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
