package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// txInterfaces are the transaction sides of the capabilities, by package
// directory under internal/, and the small write interfaces they are
// composed of.
var txInterfaces = map[string]reflect.Type{
	"auditlog": reflect.TypeFor[auditlog.Tx](),
	"catalog":  reflect.TypeFor[catalog.Tx](),
	"holder":   reflect.TypeFor[holder.Tx](),
	"keyring":  reflect.TypeFor[keyring.Tx](),
	"license":  reflect.TypeFor[license.Tx](),
	"notify":   reflect.TypeFor[notify.Tx](),
	"org":      reflect.TypeFor[org.Tx](),
	"pki":      reflect.TypeFor[pki.Tx](),
	"present":  reflect.TypeFor[present.Tx](),
	"seal":     reflect.TypeFor[seal.Tx](),
	"status":   reflect.TypeFor[status.Tx](),
	"use":      reflect.TypeFor[use.Tx](),
}

var writeParts = []reflect.Type{
	reflect.TypeFor[auditlog.Appender](),
	reflect.TypeFor[keyring.Inserter](),
	reflect.TypeFor[notify.OutboxWriter](),
	reflect.TypeFor[pki.Writer](),
	reflect.TypeFor[seal.BoundTx](),       // signing with a bound seal, in the caller's transaction
	reflect.TypeFor[license.TransferTx](), // the license transaction of an issuer transfer job, with the job
}

// TestPlainHandleCannotWrite proves the shape DESIGN.md §4 asks for: the
// store's plain handle implements no capability's transaction side, so a
// write outside WithTx does not compile, while the unit of work WithTx
// hands out implements every one.
func TestPlainHandleCannotWrite(t *testing.T) {
	db, tx := reflect.TypeFor[*store.DB](), reflect.TypeFor[*store.Tx]()
	for _, it := range append(slices.Collect(maps.Values(txInterfaces)), writeParts...) {
		if db.Implements(it) {
			t.Errorf("*store.DB implements %s: a write through it would commit outside any transaction", it)
		}
		if !tx.Implements(it) {
			t.Errorf("*store.Tx does not implement %s", it)
		}
	}
	t.Logf("methods: *store.DB %d, *store.Tx %d", db.NumMethod(), tx.NumMethod())
}

// TestTxInterfacesListed walks the packages under internal/ and fails for
// a `type Tx interface` that txInterfaces does not check (a new capability
// would otherwise escape TestPlainHandleCannotWrite), and for an entry of
// txInterfaces whose package no longer declares one.
func TestTxInterfacesListed(t *testing.T) {
	found := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				ts := spec.(*ast.TypeSpec)
				if _, isInterface := ts.Type.(*ast.InterfaceType); isInterface && ts.Name.Name == "Tx" {
					found[filepath.ToSlash(filepath.Dir(filepath.Clean(strings.TrimPrefix(path, "../"))))] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatal("found no Tx interface under internal/: the walk is broken")
	}
	for pkg := range found {
		if _, ok := txInterfaces[pkg]; !ok {
			t.Errorf("internal/%s declares a Tx interface that txInterfaces does not check", pkg)
		}
	}
	for pkg := range txInterfaces {
		if !found[pkg] {
			t.Errorf("txInterfaces lists internal/%s, which declares no Tx interface", pkg)
		}
	}
}
