// Package reqctx carries the request-scoped values every layer may read: the
// request ID, the language the caller reads, and why authentication failed.
// The authenticated actor itself travels in package authz.
package reqctx

import (
	"context"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
)

type key int

const (
	requestIDKey key = iota
	langKey
	authErrKey
	noteKey
)

// Note is filled in by inner handlers for the access log and the metrics of
// the outermost one: who called, and which route answered.
type Note struct {
	Actor *authz.Actor
	Route string
}

// WithNote returns ctx carrying a fresh note, and the note.
func WithNote(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey, n), n
}

// NoteFrom returns the note of the request; a throwaway one when there is none.
func NoteFrom(ctx context.Context) *Note {
	if n, ok := ctx.Value(noteKey).(*Note); ok {
		return n
	}
	return &Note{}
}

// WithRequestID returns ctx carrying the request ID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request ID in ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// WithLang returns ctx carrying the caller's language.
func WithLang(ctx context.Context, l i18n.Lang) context.Context {
	return context.WithValue(ctx, langKey, l)
}

// Lang returns the caller's language, zh-CN when none was set.
func Lang(ctx context.Context) i18n.Lang {
	if l, ok := ctx.Value(langKey).(i18n.Lang); ok {
		return l
	}
	return i18n.ZH
}

// WithAuthError records why a presented credential was refused, so that the
// operation that needs an actor can say so.
func WithAuthError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, authErrKey, err)
}

// AuthError returns the recorded authentication failure, or nil.
func AuthError(ctx context.Context) error {
	err, _ := ctx.Value(authErrKey).(error)
	return err
}
