package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
)

// strs spells a domain list as the strings the API shows.
func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// enums collects every enum of the OpenAPI document, with where it stands.
func enums(v any, at string, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		if e, ok := x["enum"].([]any); ok {
			var vals []string
			for _, s := range e {
				if s, ok := s.(string); ok {
					vals = append(vals, s)
				}
			}
			out[at] = vals
		}
		for k, c := range x {
			enums(c, at+"/"+k, out)
		}
	case []any:
		for i, c := range x {
			enums(c, fmt.Sprintf("%s/%d", at, i), out)
		}
	}
}

// TestEnumsMirrorTheDomain ties the enums of the published contract to the
// domain lists they mirror: an enum most of whose values belong to one of
// these lists must be exactly that list, and every list appears. A role,
// seal kind or key purpose added to the domain and forgotten in a schema tag
// fails here instead of being refused by the API's validation.
func TestEnumsMirrorTheDomain(t *testing.T) {
	var doc any
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	enums(doc, "#", found)
	lists := map[string][]string{
		"authz.Roles":      strs(authz.Roles()),
		"org.Kinds":        strs(org.Kinds()),
		"seal.Kinds":       strs(seal.Kinds()),
		"seal.Actions":     strs(seal.Actions()),
		"keyring.Purposes": strs(keyring.Purposes()),
		"keys.Algorithms":  strs(keys.Algorithms()),
	}
	for name, list := range lists {
		mirrored := 0
		for at, vals := range found {
			in := 0
			for _, v := range vals {
				if slices.Contains(list, v) {
					in++
				}
			}
			if 2*in <= len(vals) {
				continue
			}
			mirrored++
			a, b := slices.Clone(vals), slices.Clone(list)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s: enum %v mirrors %s but differs from it: %v", at, vals, name, list)
			}
		}
		if mirrored == 0 {
			t.Errorf("no enum of the OpenAPI document mirrors %s %v", name, list)
		}
	}
}
