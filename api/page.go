package api

// Page is the body of every paginated list, and of every list the CLI
// prints with --json (those without pages have no next_cursor).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
}
