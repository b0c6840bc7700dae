// Package archtest enforces the dependency rules of DESIGN.md §4: only
// internal/store speaks SQL, and capability packages never reach the store
// or the wiring packages.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// imports returns, per package directory under root, the imports of its
// non-test Go files.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[dir] = append(out[dir], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOnlyStoreSpeaksSQL(t *testing.T) {
	root := "../.."
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	sql := []string{"database/sql", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/pressly/goose"}
	// Packages that may import internal/store: the store itself and the
	// wiring layers above the capabilities.
	storeUsers := []string{"internal/store", "internal/cli", "internal/platform", "internal/server"}
	checked := 0
	for dir, imps := range imports(t, root) {
		rel := strings.TrimPrefix(dir, "../../")
		inStore := rel == "internal/store" || strings.HasPrefix(rel, "internal/store/")
		for _, p := range imps {
			for _, s := range sql {
				if strings.HasPrefix(p, s) && !inStore {
					t.Errorf("%s imports %s: only internal/store speaks SQL", rel, p)
				}
			}
			if p == "github.com/zhengzhao/zhengzhao/internal/store" || strings.HasPrefix(p, "github.com/zhengzhao/zhengzhao/internal/store/") {
				if !slices.ContainsFunc(storeUsers, func(u string) bool { return rel == u || strings.HasPrefix(rel, u+"/") }) {
					t.Errorf("%s imports %s: capability packages declare the store interface they need instead", rel, p)
				}
			}
			if (p == "github.com/zhengzhao/zhengzhao/internal/cli" || p == "github.com/zhengzhao/zhengzhao/internal/server") && rel != "cmd/zhengzhao" && rel != "internal/cli" && rel != "internal/platform" {
				t.Errorf("%s imports %s: dependencies point from the wiring down, never up", rel, p)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked: the walk is broken", checked)
	}
}

// TestVerifyIsDependencyLight keeps the public verify package importable by
// relying parties without the platform (DESIGN.md §4): from this module it
// reaches, directly or through the packages it imports, only the pure
// encoding and cryptography packages listed here — never the store,
// services, the HTTP layer or anything with state — and outside the
// standard library only gmsm and what those packages need.
func TestVerifyIsDependencyLight(t *testing.T) {
	root := "../.."
	const module = "github.com/zhengzhao/zhengzhao/"
	allowed := []string{
		"verify",
		"internal/codec/ses",  // GB/T 38540 ASN.1 and its checks
		"internal/keys",       // signature algorithms
		"internal/keys/ca",    // certificate chains
		"internal/keys/canon", // RFC 8785 canonical JSON (signed trust bundles)
	}
	thirdParty := []string{"github.com/emmansun/gmsm/", "golang.org/x/crypto/", "github.com/gowebpki/jcs"}
	all := imports(t, root)
	seen := map[string]bool{}
	queue := []string{"verify"}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		imps, ok := all[root+"/"+pkg]
		if !ok {
			t.Fatalf("package %s not found: the walk is broken", pkg)
		}
		for _, p := range imps {
			switch {
			case strings.HasPrefix(p, module):
				dep := strings.TrimPrefix(p, module)
				if !slices.Contains(allowed, dep) {
					t.Errorf("%s imports %s: verify may reach only %v", pkg, p, allowed)
					continue
				}
				queue = append(queue, dep)
			case !strings.Contains(strings.Split(p, "/")[0], "."):
				// the standard library
			case !slices.ContainsFunc(thirdParty, func(tp string) bool { return strings.HasPrefix(p, tp) }):
				t.Errorf("%s imports %s: verify stays dependency-light (%v)", pkg, p, thirdParty)
			}
		}
	}
	if !seen["internal/codec/ses"] {
		t.Fatalf("verify does not reach internal/codec/ses: the walk is broken (%v)", seen)
	}
}

// TestLeavesImportNoCapability keeps the leaves below the capabilities:
// pure cryptography (internal/keys/...) and wire formats (internal/codec/...)
// import, from this module, only each other, so that verify/ and every
// capability can build on them without a cycle or a hidden state.
func TestLeavesImportNoCapability(t *testing.T) {
	root := "../.."
	const module = "github.com/zhengzhao/zhengzhao/"
	leaves := []string{"internal/keys", "internal/codec"}
	isLeaf := func(rel string) bool {
		return slices.ContainsFunc(leaves, func(l string) bool { return rel == l || strings.HasPrefix(rel, l+"/") })
	}
	checked := 0
	for dir, imps := range imports(t, root) {
		rel := strings.TrimPrefix(dir, "../../")
		if !isLeaf(rel) || strings.HasSuffix(rel, "test") { // softhsmtest: support for tests, not a leaf
			continue
		}
		checked++
		for _, p := range imps {
			if dep, ok := strings.CutPrefix(p, module); ok && !isLeaf(dep) {
				t.Errorf("%s imports %s: a leaf imports only other leaves %v", rel, p, leaves)
			}
		}
	}
	if checked < 6 {
		t.Fatalf("only %d leaf packages checked: the walk is broken", checked)
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
