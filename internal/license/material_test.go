package license_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

var (
	samplePDF = []byte("%PDF-1.7\n申请表\n%%EOF\n")
	samplePNG = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...)
)

func TestSniffMediaType(t *testing.T) {
	for _, c := range []struct {
		content []byte
		want    string
	}{
		{samplePDF, "application/pdf"},
		{samplePNG, "image/png"},
		{[]byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10}, "image/jpeg"},
		{[]byte(`<?xml version="1.0"?><a><b/></a>`), "application/xml"},
		{[]byte("\ufeff <a/>"), "application/xml"},
		{[]byte(`<a><b></a>`), ""},
		{[]byte(` {"a": 1}`), "application/json"},
		{[]byte(`{"a": }`), ""},
		{[]byte("PK\x03\x04not a zip"), ""},
		{[]byte("plain text"), ""},
		{nil, ""},
	} {
		if got := license.SniffMediaType(c.content); got != c.want {
			t.Errorf("SniffMediaType(%q) = %q, want %q", c.content, got, c.want)
		}
	}
}

// TestIssueWithMaterials issues a license with two materials: they are
// stored in the issuing transaction under seqs 1 and 2, listed, read back
// equal (a read is audited), named with their digests in the issuance's
// audit entry; a third is added later by the issuer, and another
// organization's issuer neither adds nor reads one.
func TestIssueWithMaterials(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		n := f.permit()
		n.Materials = []license.Material{{Name: "申请表.pdf", MediaType: "application/pdf", Content: samplePDF},
			{Name: "照片.png", MediaType: "image/png", Content: samplePNG}}
		got, err := f.p.Licenses.Issue(ctx, f.issuer, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Materials) != 2 || got.Materials[0].Seq != 1 || got.Materials[1].Seq != 2 || got.Materials[1].Size != int64(len(samplePNG)) {
			t.Fatalf("issued materials %+v", got.Materials)
		}
		id := got.License.ID
		entries := f.pending(t)
		i := slices.IndexFunc(entries, func(e auditlog.Entry) bool { return e.Action == license.Topic })
		if i < 0 || entries[i].Details["materials"] != "1:"+got.Materials[0].SM3+",2:"+got.Materials[1].SM3 {
			t.Fatalf("issuance audit entry lists materials %q", entries[i].Details["materials"])
		}

		m, err := f.p.Licenses.AddMaterial(ctx, f.issuer, id, license.Material{Name: "补充.json", MediaType: "application/json", Content: []byte(`{"a":1}`)})
		if err != nil || m.Seq != 3 || m.AddedBy != f.issuer.AccountID {
			t.Fatalf("add: %+v, %v", m, err)
		}
		list, err := f.p.Licenses.Materials(ctx, f.issuer, id)
		if err != nil || len(list) != 3 || list[0].Name != "申请表.pdf" || list[2].MediaType != "application/json" {
			t.Fatalf("list: %+v, %v", list, err)
		}
		before := len(f.pending(t))
		info, content, err := f.p.Licenses.MaterialContent(ctx, f.issuer, id, 2)
		if err != nil || !bytes.Equal(content, samplePNG) || info.Name != "照片.png" {
			t.Fatalf("read: %+v, %v", info, err)
		}
		if after := f.pending(t); len(after) != before+1 || after[len(after)-1].Action != license.MaterialRead {
			t.Fatalf("reading a material was not audited")
		}
		if _, _, err := f.p.Licenses.MaterialContent(ctx, f.issuer, id, 9); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("material 9: %v", err)
		}
		for _, call := range []func() error{
			func() error { _, err := f.p.Licenses.Materials(ctx, f.other, id); return err },
			func() error { _, _, err := f.p.Licenses.MaterialContent(ctx, f.other, id, 1); return err },
			func() error {
				_, err := f.p.Licenses.AddMaterial(ctx, f.other, id, license.Material{Name: "x.pdf", MediaType: "application/pdf", Content: samplePDF})
				return err
			},
		} {
			if err := call(); !errors.Is(err, apperr.NotFound) {
				t.Errorf("another organization's issuer: %v, want NotFound", err)
			}
		}
		if _, err := f.p.Licenses.AddMaterial(ctx, f.admin, id, license.Material{Name: "x.pdf", MediaType: "application/pdf", Content: samplePDF}); !errors.Is(err, apperr.Forbidden) {
			t.Errorf("an org admin adds a material: %v, want Forbidden", err)
		}
	})
}

// TestIssueRefusesBadMaterials issues with bad materials: each is refused
// naming materials[i] and its rule, and nothing is stored.
func TestIssueRefusesBadMaterials(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		good := license.Material{Name: "a.pdf", MediaType: "application/pdf", Content: samplePDF}
		many := slices.Repeat([]license.Material{good}, license.MaxMaterials+1)
		big := bytes.Repeat([]byte("a"), license.MaxMaterialSize+1)
		copy(big, samplePDF)
		start := f.counts(t)
		for _, c := range []struct {
			name string
			ms   []license.Material
			want []string
		}{
			{"content not of its type", []license.Material{good, {Name: "b.pdf", MediaType: "application/pdf", Content: samplePNG}},
				[]string{"materials[1].content: media-type-mismatch"}},
			{"type not allowed", []license.Material{{Name: "a.exe", MediaType: "application/x-msdownload", Content: []byte("MZ")}},
				[]string{"materials[0].media_type: allowed"}},
			{"empty, unnamed", []license.Material{{MediaType: "application/pdf"}},
				[]string{"materials[0].content: required", "materials[0].name: required"}},
			{"a path", []license.Material{{Name: "../a.pdf", MediaType: "application/pdf", Content: samplePDF}},
				[]string{"materials[0].name: file-name"}},
			{"too large", []license.Material{{Name: "a.pdf", MediaType: "application/pdf", Content: big}},
				[]string{"materials[0].content: max-size"}},
			{"too many", many, []string{"materials: max-items"}},
		} {
			n := f.permit()
			n.Materials = c.ms
			_, err := f.p.Licenses.Issue(ctx, f.issuer, n)
			if !errors.Is(err, apperr.Invalid) || !slices.Equal(rules(err), c.want) {
				t.Errorf("%s: %v %q, want %q", c.name, err, rules(err), c.want)
			}
		}
		if got := f.counts(t); got != start {
			t.Errorf("refusals wrote: %v -> %v", start, got)
		}
		if _, err := f.p.Licenses.AddMaterial(ctx, f.issuer, "nope", good); !errors.Is(err, apperr.NotFound) {
			t.Errorf("a material of no license: %v, want NotFound", err)
		}
		if _, err := f.p.Licenses.AddMaterial(ctx, f.issuer, "nope", license.Material{Name: strings.Repeat("a", 201), MediaType: "application/pdf", Content: samplePDF}); !slices.Equal(rules(err), []string{"name: max-length"}) {
			t.Errorf("a long name: %q", rules(err))
		}
	})
}

// pending is the audit entries waiting for integration, oldest first.
func (f fixture) pending(t *testing.T) []auditlog.Entry {
	t.Helper()
	es, err := f.db.AuditPending(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestConcurrentAddMaterial adds materials to one license from 24
// goroutines at once through the service: every addition succeeds, with
// seqs 1 to n once each, and one audit entry each.
func TestConcurrentAddMaterial(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		got, err := f.p.Licenses.Issue(ctx, f.issuer, f.permit())
		if err != nil {
			t.Fatal(err)
		}
		before := len(f.pending(t))
		const n = 24
		seqs, errs := make([]int, n), make([]error, n)
		storetest.Race(n, func(i int) {
			m, err := f.p.Licenses.AddMaterial(ctx, f.issuer, got.License.ID, license.Material{Name: "a.pdf", MediaType: "application/pdf", Content: samplePDF})
			seqs[i], errs[i] = m.Seq, err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("addition %d: %v", i, err)
			}
		}
		slices.Sort(seqs)
		for i, s := range seqs {
			if s != i+1 {
				t.Fatalf("seqs %v, want 1 to %d once each", seqs, n)
			}
		}
		if added := len(f.pending(t)) - before; added != n {
			t.Errorf("%d audit entries for %d additions", added, n)
		}
		t.Logf("%s: %d concurrent additions, %d store retries", db.Dialect(), n, db.Retries())
	})
}
