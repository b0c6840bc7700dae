package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// templates holds the license types the platform ships, so that a new
// installation (and the demo) has real types to issue: the business
// license, a residence permit and the food business permit.
//
//go:embed templates/*.json
var templates embed.FS

// Definition is a shipped license type: the type, the number and template
// of its first version, and a realistic sample face that passes it.
type Definition struct {
	Type     Type            `json:"type"`
	Version  int             `json:"version"`
	Template Template        `json:"template"`
	Sample   json.RawMessage `json:"sample"`
}

// Shipped returns the shipped license types ordered by code, each checked:
// a definition that does not pass Type.Validate and Template.Validate, or
// whose sample does not pass its template, is an error (a defect of the
// build, caught by the package tests).
func Shipped() ([]Definition, error) {
	names, err := fs.Glob(templates, "templates/*.json")
	if err != nil {
		return nil, fmt.Errorf("list shipped templates: %w", err)
	}
	var out []Definition
	for _, name := range names {
		b, err := templates.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		d, err := parseDefinition(b)
		if err != nil {
			return nil, fmt.Errorf("shipped template %s: %w", path.Base(name), err)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Definition) int { return strings.Compare(a.Type.Code, b.Type.Code) })
	return out, nil
}

// parseDefinition decodes a definition strictly (an unknown key is a
// mistake, not an extension) and checks it.
func parseDefinition(b []byte) (Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return Definition{}, fmt.Errorf("decode: %w", err)
	}
	if err := d.Type.Validate(); err != nil {
		return Definition{}, fmt.Errorf("type: %w", err)
	}
	if d.Version < 1 {
		return Definition{}, fmt.Errorf("version %d: versions start at 1", d.Version)
	}
	if err := d.Template.Validate(); err != nil {
		return Definition{}, fmt.Errorf("template: %w", err)
	}
	if err := d.Template.CheckHolderKind(d.Type.HolderKind); err != nil {
		return Definition{}, fmt.Errorf("template: %w", err)
	}
	if _, err := d.Template.ValidateFace(d.Sample); err != nil {
		return Definition{}, fmt.Errorf("sample: %w", err)
	}
	return d, nil
}
