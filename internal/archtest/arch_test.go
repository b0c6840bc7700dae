// Package archtest enforces the dependency rules of DESIGN.md §4 from one
// table of allowed arrows between layers (layers_test.go): only
// internal/store speaks SQL, capabilities never reach the store or the
// wiring, verify/ stays dependency-light, and the leaves stay below
// everything.
package archtest

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/zhengzhao/zhengzhao/"

// layer is one row of the table: a set of packages and what they may import.
type layer struct {
	name     string
	packages []string // patterns; "p/..." is p and everything under it
	imports  []string // the layers it may import besides its own
	// external, when not nil, lists the only modules outside the module and
	// the standard library it may import (empty: none).
	external []string
	// transitive extends imports and external to everything the layer's
	// packages reach, directly or through other packages.
	transitive bool
	// outside marks a layer of packages outside the module, named by their
	// full import paths.
	outside bool
}

// matches reports whether pattern covers path, and how specifically.
func matches(pattern, path string) (int, bool) {
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return len(p), path == p || strings.HasPrefix(path, p+"/")
	}
	return len(pattern), path == pattern
}

// layerOf finds the layer of a module-relative package, or (outside) of a
// full import path: the one with the longest matching pattern.
func layerOf(path string, outside bool) *layer {
	var best *layer
	bestLen := -1
	for i := range layers {
		l := &layers[i]
		if l.outside != outside {
			continue
		}
		for _, p := range l.packages {
			if n, ok := matches(p, path); ok && n > bestLen {
				best, bestLen = l, n
			}
		}
	}
	return best
}

// may reports whether layer from may import a package of layer to.
func (from *layer) may(to *layer) bool {
	return to == from || slices.Contains(from.imports, to.name)
}

// mayUse reports whether from may import the outside package p (neither in
// the module nor in the standard library) by its external list.
func (from *layer) mayUse(p string) bool {
	return from.external == nil || slices.ContainsFunc(from.external, func(e string) bool { _, ok := matches(e, p); return ok })
}

// target is the layer an import path lands in, and whether it is in the
// standard library; nil for an outside package no layer names.
func target(p string) (l *layer, std bool) {
	if rel, ok := strings.CutPrefix(p, module); ok {
		return layerOf(rel, false), false
	}
	return layerOf(p, true), !strings.Contains(strings.Split(p, "/")[0], ".")
}

// modulePackages returns, per module-relative package, the imports of its
// non-test Go files.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	root := "../.."
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// The go tool ignores directories named .x, _x and testdata: they
		// hold no package of the module.
		if name := d.Name(); d.IsDir() && path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[rel] = append(out[rel], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("only %d packages found: the walk is broken", len(out))
	}
	return out
}

// arrowViolations checks every import of every package against the table:
// its layer may import the layer the import lands in, and, when the layer
// restricts its outside modules, the module is one of them. It also keeps
// the table honest: every package has a layer and every pattern a package.
func arrowViolations(pkgs map[string][]string) []string {
	var out []string
	used := map[string]bool{}
	for pkg, imps := range pkgs {
		from := layerOf(pkg, false)
		if from == nil {
			out = append(out, fmt.Sprintf("%s belongs to no layer: place it in internal/archtest/layers_test.go", pkg))
			continue
		}
		for _, p := range imps {
			to, std := target(p)
			switch {
			case to != nil:
				used[to.name] = true
				if !from.may(to) {
					out = append(out, fmt.Sprintf("%s (%s) imports %s (%s): %s may import only %v", pkg, from.name, p, to.name, from.name, from.imports))
				}
			case strings.HasPrefix(p, module):
				out = append(out, fmt.Sprintf("%s imports %s, which belongs to no layer", pkg, p))
			case !std && !from.mayUse(p):
				out = append(out, fmt.Sprintf("%s (%s) imports %s: %s uses only %v outside the standard library", pkg, from.name, p, from.name, from.external))
			}
		}
	}
	for _, l := range layers {
		if l.outside {
			if !used[l.name] {
				out = append(out, fmt.Sprintf("outside layer %s is imported by no package: the table is stale or the walk broken", l.name))
			}
			continue
		}
		for _, pat := range l.packages {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(pkgs)), func(pkg string) bool { _, ok := matches(pat, pkg); return ok }) {
				out = append(out, fmt.Sprintf("layer %s names %s, which matches no package: the table is stale", l.name, pat))
			}
		}
	}
	return out
}

// transitiveViolations walks everything a transitive layer (verify/)
// reaches: every package reached lies in the layer or a layer it may
// import, and every outside module reached is one it may use — so a
// relying party can go get verify without the platform.
func transitiveViolations(pkgs map[string][]string) []string {
	var out []string
	for i := range layers {
		l := &layers[i]
		if !l.transitive {
			continue
		}
		var queue []string
		for pkg := range pkgs {
			if layerOf(pkg, false) == l {
				queue = append(queue, pkg)
			}
		}
		seen := map[string]bool{}
		for len(queue) > 0 {
			pkg := queue[0]
			queue = queue[1:]
			if seen[pkg] {
				continue
			}
			seen[pkg] = true
			imps, ok := pkgs[pkg]
			if !ok {
				out = append(out, fmt.Sprintf("package %s not found: the walk is broken", pkg))
				continue
			}
			for _, p := range imps {
				to, std := target(p)
				switch {
				case strings.HasPrefix(p, module):
					if to == nil || !l.may(to) {
						out = append(out, fmt.Sprintf("%s reaches %s through %s: %s may reach only %v", l.name, p, pkg, l.name, append([]string{l.name}, l.imports...)))
						continue
					}
					queue = append(queue, strings.TrimPrefix(p, module))
				case !std && !l.mayUse(p):
					out = append(out, fmt.Sprintf("%s reaches %s through %s: %s stays dependency-light (%v)", l.name, p, pkg, l.name, l.external))
				}
			}
		}
		if l.name == "verify" && !seen["internal/codec/ses"] {
			out = append(out, fmt.Sprintf("verify does not reach internal/codec/ses: the walk is broken (%v)", seen))
		}
	}
	return out
}

// TestArrows holds the module to the table.
func TestArrows(t *testing.T) {
	pkgs := modulePackages(t)
	for _, v := range append(arrowViolations(pkgs), transitiveViolations(pkgs)...) {
		t.Error(v)
	}
}

// TestArrowsRefuse adds one forbidden import at a time to the module's real
// graph — one for each rule the table stands for — and expects it refused.
func TestArrowsRefuse(t *testing.T) {
	for _, tc := range []struct {
		rule, pkg, imp, want string
	}{
		{"only the store speaks SQL", "internal/seal", "database/sql", "internal/seal (capabilities) imports database/sql (sql)"},
		{"only the store speaks SQL", "internal/httpapi", "github.com/jackc/pgx/v5", "imports github.com/jackc/pgx/v5 (sql)"},
		{"only the store speaks SQL", "internal/cli", "modernc.org/sqlite", "(sql)"},
		{"only the store speaks SQL", "internal/platform", "github.com/pressly/goose/v3", "(sql)"},
		{"capabilities declare their store interfaces", "internal/seal", module + "internal/store", "internal/seal (capabilities) imports"},
		{"capabilities declare their store interfaces", "internal/i18n", module + "internal/store/storetest", "(test support)"},
		{"dependencies point from the wiring down", "internal/seal", module + "internal/server", "(server)"},
		{"dependencies point from the wiring down", "internal/store", module + "internal/cli", "(wiring)"},
		{"dependencies point from the wiring down", "internal/httpapi", module + "internal/platform", "(wiring)"},
		{"leaves import only leaves", "internal/keys", module + "internal/org", "internal/keys (crypto) imports"},
		{"leaves import only leaves", "internal/codec/ses", module + "internal/apperr", "internal/codec/ses (codecs) imports"},
		{"leaves import only leaves", "internal/keys/ca", module + "internal/keys/envelope", "(custody)"},
		{"verify stays dependency-light", "verify", module + "internal/keys/envelope", "verify (verify) imports"},
		{"verify stays dependency-light", "verify", "github.com/spf13/cobra", "verify (verify) imports github.com/spf13/cobra"},
		{"verify stays dependency-light, transitively", "internal/keys/ca", "github.com/spf13/cobra", "verify reaches github.com/spf13/cobra through internal/keys/ca"},
		{"every package has a layer", "internal/newthing", "fmt", "internal/newthing belongs to no layer"},
		{"api keeps to the standard library", "api", "github.com/danielgtaylor/huma/v2", "api (api) imports github.com/danielgtaylor/huma/v2"},
		{"api imports nothing of the platform", "api", module + "internal/apperr", "api (api) imports"},
	} {
		t.Run(tc.rule+": "+tc.pkg+" imports "+tc.imp, func(t *testing.T) {
			pkgs := modulePackages(t)
			pkgs[tc.pkg] = append(slices.Clone(pkgs[tc.pkg]), tc.imp)
			got := append(arrowViolations(pkgs), transitiveViolations(pkgs)...)
			if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, tc.want) }) {
				t.Errorf("violations %q, want one saying %q", got, tc.want)
			}
		})
	}
}

// TestStoreHasNoClockOfItsOwn keeps the store from reading the wall clock:
// every time it records comes from its callers or from the clock it was
// opened with (store.WithClock), so that tests and replays control them.
func TestStoreHasNoClockOfItsOwn(t *testing.T) {
	files, err := filepath.Glob("../store/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("store sources not found (%v)", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "time.Now()") {
			t.Errorf("%s calls time.Now(): use the store's clock (store.WithClock)", f)
		}
	}
}
