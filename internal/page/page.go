// Package page is the cursor pagination every list of the platform uses:
// a limit, an opaque cursor naming the last key of the previous page, and
// lists fetched with one row more than asked to tell whether a next page
// exists.
package page

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// Bounds of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page is one page of a list and the cursor of the next ("" on the last).
type Page[T any] struct {
	Items []T
	Next  string
}

// Args checks a limit (0 means DefaultLimit) and decodes a cursor into the
// key the page starts after. Errors name the field and the rule.
func Args(limit int, cursor string) (int, string, error) {
	var fs apperr.Fields
	AddArgs(&fs, &limit, &cursor)
	return limit, cursor, fs.Err()
}

// AddArgs is Args for callers that collect other field errors too: it
// replaces *limit by the effective limit and *cursor by the decoded key.
func AddArgs(fs *apperr.Fields, limit *int, cursor *string) {
	switch {
	case *limit == 0:
		*limit = DefaultLimit
	case *limit < 0 || *limit > MaxLimit:
		fs.Add("limit", "range", fmt.Sprintf("limit is between 1 and %d", MaxLimit))
	}
	if *cursor == "" {
		return
	}
	b, err := base64.RawURLEncoding.DecodeString(*cursor)
	if err != nil || !utf8.Valid(b) {
		fs.Add("cursor", "cursor", "not a cursor this API returned")
		*cursor = ""
		return
	}
	*cursor = string(b)
}

// Of cuts a list fetched with limit+1 rows into a page and its cursor.
func Of[T any](items []T, limit int, key func(T) string) Page[T] {
	if len(items) <= limit {
		return Page[T]{Items: items}
	}
	items = items[:limit]
	return Page[T]{Items: items, Next: base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1])))}
}

// Fetch checks limit and cursor, fetches limit+1 items after the cursor's
// key with fetch, and cuts them into a page: the whole of a paginated list
// but its query.
func Fetch[T any](limit int, cursor string, fetch func(limit int, after string) ([]T, error), key func(T) string) (Page[T], error) {
	limit, after, err := Args(limit, cursor)
	if err != nil {
		return Page[T]{}, err
	}
	items, err := fetch(limit+1, after)
	if err != nil {
		return Page[T]{}, err
	}
	return Of(items, limit, key), nil
}
