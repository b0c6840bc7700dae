package page

import (
	"errors"
	"strconv"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

func TestWalkAllPages(t *testing.T) {
	var all []string
	for i := range 7 {
		all = append(all, "k"+strconv.Itoa(i))
	}
	fetch := func(after string, n int) []string {
		var out []string
		for _, k := range all {
			if k > after && len(out) < n {
				out = append(out, k)
			}
		}
		return out
	}
	var got []string
	cursor := ""
	for range 10 {
		limit, after, err := Args(3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		p := Of(fetch(after, limit+1), limit, func(s string) string { return s })
		got = append(got, p.Items...)
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(got) != len(all) {
		t.Fatalf("walked %v, want %v", got, all)
	}
}

func TestArgsRejects(t *testing.T) {
	for _, c := range []struct {
		limit  int
		cursor string
		field  string
	}{{-1, "", "limit"}, {MaxLimit + 1, "", "limit"}, {1, "!!", "cursor"}, {1, "_w", "cursor"}} {
		_, _, err := Args(c.limit, c.cursor)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Fields[0].Field != c.field {
			t.Errorf("Args(%d, %q) = %v, want an error on %s", c.limit, c.cursor, err, c.field)
		}
	}
	if l, _, err := Args(0, ""); err != nil || l != DefaultLimit {
		t.Errorf("default limit = %d, %v", l, err)
	}
}
