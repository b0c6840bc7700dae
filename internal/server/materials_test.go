package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestLicenseMaterialsOverTheAPI issues a license with a material larger
// than the API's usual body limit, lists and reads it back, adds another
// later, and refuses a material whose bytes are not its media type,
// storing nothing.
func TestLicenseMaterialsOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		scan := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("扫描件"), 3<<20/9)...) // 3 MiB: 4 MiB in base64
		withMaterials := func(ms ...map[string]any) func(m map[string]any) {
			return func(m map[string]any) { m["materials"] = ms }
		}
		var l api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, withMaterials(map[string]any{"name": "申请表.pdf",
			"media_type": "application/pdf", "content": scan}))).want(t, http.StatusCreated, "issue with a material").decode(t, &l)
		if len(l.Materials) != 1 || l.Materials[0].Seq != 1 || l.Materials[0].Size != int64(len(scan)) {
			t.Fatalf("issued materials %+v", l.Materials)
		}
		url := "/api/v1/licenses/" + l.ID + "/materials"
		var m api.LicenseMaterial
		le.do(http.MethodPost, url, le.issuer, jsonBody(t, map[string]any{"name": "补充.json", "media_type": "application/json",
			"content": []byte(`{"a": 1}`)})).want(t, http.StatusCreated, "add a material").decode(t, &m)
		if m.Seq != 2 || m.Name != "补充.json" {
			t.Fatalf("added %+v", m)
		}
		var list api.Page[api.LicenseMaterial]
		le.do(http.MethodGet, url, le.issuer, "").want(t, http.StatusOK, "list materials").decode(t, &list)
		if len(list.Items) != 2 || list.Items[0].SM3 != l.Materials[0].SM3 {
			t.Fatalf("listed %+v", list.Items)
		}
		r := le.do(http.MethodGet, url+"/1", le.issuer, "").want(t, http.StatusOK, "read a material")
		if !bytes.Equal(r.body, scan) || r.header.Get("Content-Type") != "application/pdf" || r.header.Get("Content-Disposition") == "" {
			t.Fatalf("read back %d bytes, %q %q", len(r.body), r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
		}
		le.do(http.MethodGet, url+"/1", le.otherIssuer, "").want(t, http.StatusNotFound, "another organization reads it")
		le.do(http.MethodGet, url+"/3", le.issuer, "").want(t, http.StatusNotFound, "a material that does not exist")

		before := le.licenseCount(t)
		pr := le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, withMaterials(map[string]any{"name": "a.pdf",
			"media_type": "application/pdf", "content": []byte("<a/>")}))).want(t, http.StatusUnprocessableEntity, "a bad material").problem(t)
		if !namesField(pr, "materials[0].content", "media-type-mismatch") {
			t.Errorf("problem names %+v", pr.Errors)
		}
		pr = le.do(http.MethodPost, url, le.issuer, jsonBody(t, map[string]any{"name": "a.exe", "media_type": "application/x-msdownload",
			"content": []byte("MZ")})).want(t, http.StatusUnprocessableEntity, "a media type not allowed").problem(t)
		if len(pr.Errors) == 0 {
			t.Errorf("problem names no field: %+v", pr)
		}
		if n := le.licenseCount(t); n != before {
			t.Errorf("a refusal stored a license: %d -> %d", before, n)
		}
		le.do(http.MethodGet, url, le.issuer, "").want(t, http.StatusOK, "list materials").decode(t, &list)
		if len(list.Items) != 2 {
			t.Errorf("a refusal stored a material: %d", len(list.Items))
		}
	})
}

func TestBodyLimitFor(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         int64
	}{
		{http.MethodPost, "/api/v1/licenses", httpapi.MaterialsBodyLimit},
		{http.MethodPost, "/api/v1/licenses/X/materials", httpapi.MaterialsBodyLimit},
		{http.MethodPost, "/api/v1/licenses/{id}/materials", httpapi.MaterialsBodyLimit},
		{http.MethodPost, "/api/v1/licenses/X/Y/materials", httpapi.BodyLimit},
		{http.MethodPost, "/api/v1/licenses//materials", httpapi.BodyLimit},
		{http.MethodPost, "/api/v1/licensesX", httpapi.BodyLimit},
		{http.MethodGet, "/api/v1/licenses", httpapi.BodyLimit},
		{http.MethodPost, "/api/v1/orgs", httpapi.BodyLimit},
	} {
		if got := httpapi.BodyLimitFor(c.method, c.path); got != c.want {
			t.Errorf("BodyLimitFor(%s %s) = %d, want %d", c.method, c.path, got, c.want)
		}
	}
}
