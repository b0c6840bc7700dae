package apperr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestKinds(t *testing.T) {
	base := errors.New("disk on fire")
	err := fmt.Errorf("saving: %w", Wrap(Unavailable, base, "store down"))
	if !errors.Is(err, Unavailable) || errors.Is(err, Internal) || !errors.Is(err, base) {
		t.Fatalf("errors.Is on kinds and causes fails for %v", err)
	}
	if KindOf(err) != Unavailable || KindOf(base) != Internal || KindOf(nil) != Internal {
		t.Fatal("KindOf is wrong")
	}
	var fs Fields
	if fs.Err() != nil {
		t.Fatal("no fields must be no error")
	}
	fs.Add("name", "required", "")
	fs.Add("kinds[0]", "enum", "bank")
	e := fs.Err()
	if KindOf(e) != Invalid || !strings.Contains(e.Error(), "kinds[0]: enum (bank)") {
		t.Fatalf("fields error = %v", e)
	}
}
