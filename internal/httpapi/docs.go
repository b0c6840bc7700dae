package httpapi

import (
	"embed"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// The renderer is Redoc's standalone bundle, embedded so that the docs need
// no CDN: one file, MIT-licensed, kept by Redocly, and it shows request and
// response bodies with their schemas and renders the Markdown of
// descriptions. docs/README.md says where it comes from.
//
//go:embed docs/redoc.standalone.js docs/LICENSE.redoc
var docsAssets embed.FS

// redocVersion is the version of the embedded bundle; it names the asset
// URL, so that a browser never keeps an old bundle after an upgrade.
const redocVersion = "3.0.1"

// docsAssetPath is where the bundle is served.
const docsAssetPath = "/api/docs/redoc-" + redocVersion + ".js"

// docsPage loads the bundle and points it at the OpenAPI document. Without
// scripts it still lists every operation with its roles, rendered here.
var docsPage = template.Must(template.New("docs").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"join":  strings.Join,
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} {{.Version}}</title>
<style>
body{margin:0;font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif}
.static{max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.static h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;font-family:monospace}
code,.path{font-family:monospace}.roles{font-size:.9em;color:#555}
</style></head><body>
<div id="redoc"></div>
<script type="module">
import { init } from "{{.Asset}}";
init("/api/v1/openapi.json", {
  showExtensions: ["{{.AuthzExtension}}"],
  schemasExpansionLevel: 1,
  jsonSamplesExpandLevel: 2
}, document.getElementById("redoc"));
</script>
<noscript><div class="static">
<h1>{{.Title}} <small>{{.Version}}</small></h1>
<p style="white-space:pre-line">{{.Description}}</p>
<p>机器可读 / machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p>
{{range .Tags}}<h2>{{.Name}}</h2>{{range .Ops}}
<div class="op" id="{{.ID}}"><div><span class="m {{lower .Method}}">{{.Method}}</span> <span class="path">{{.Path}}</span></div>
<p><b>{{.Summary}}</b></p>{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Public}}<p class="roles">公开，无需令牌 / public, no token</p>{{else}}<p class="roles">角色 / roles — 全部单位 / any org: <code>{{join .AnyOrg ", "}}</code>{{if .OwnOrg}}; 仅本单位 / own org: <code>{{join .OwnOrg ", "}}</code>{{end}}</p>{{end}}
</div>{{end}}{{end}}
</div></noscript>
</body></html>`))

type docsOp struct {
	ID, Method, Path, Summary, Description string
	AnyOrg, OwnOrg                         []string
	Public                                 bool
}

type docsTag struct {
	Name string
	Ops  []docsOp
}

// registerDocs serves the page, the bundle and its licence.
func (a *API) registerDocs() {
	a.mux.Handle("GET /api/docs", a.docsHandler())
	a.mux.Handle("GET "+docsAssetPath, docsAsset("docs/redoc.standalone.js", "text/javascript; charset=utf-8"))
	a.mux.Handle("GET /api/docs/LICENSE.redoc", docsAsset("docs/LICENSE.redoc", "text/plain; charset=utf-8"))
}

// docsAsset serves one embedded file; its URL carries the version, so it
// may be cached for good.
func docsAsset(name, contentType string) http.Handler {
	body, err := docsAssets.ReadFile(name)
	if err != nil {
		panic("embedded docs asset " + name + " is missing: " + err.Error()) // a build fault, caught by any test
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body) // a client that went away is no error of ours
	})
}

func (a *API) docsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := a.huma.OpenAPI()
		byTag := map[string][]docsOp{}
		for path, item := range doc.Paths {
			for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PATCH": item.Patch, "PUT": item.Put, "DELETE": item.Delete} {
				if op == nil {
					continue
				}
				d := docsOp{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: op.Description}
				if p, ok := a.policies[op.OperationID]; ok {
					d.Public = p.Public
					for _, g := range p.Grants {
						if g.Scope.String() == "any-org" {
							d.AnyOrg = append(d.AnyOrg, string(g.Role))
						} else {
							d.OwnOrg = append(d.OwnOrg, string(g.Role))
						}
					}
				}
				tag := "other"
				if len(op.Tags) > 0 {
					tag = op.Tags[0]
				}
				byTag[tag] = append(byTag[tag], d)
			}
		}
		var tags []docsTag
		for name, ops := range byTag {
			sort.Slice(ops, func(i, j int) bool { return ops[i].Path+ops[i].Method < ops[j].Path+ops[j].Method })
			tags = append(tags, docsTag{Name: name, Ops: ops})
		}
		sort.Slice(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err := docsPage.Execute(w, map[string]any{
			"Title": doc.Info.Title, "Version": doc.Info.Version, "Description": doc.Info.Description, "Tags": tags,
			"Asset": docsAssetPath, "AuthzExtension": AuthzExtension,
		})
		if err != nil {
			// Part of the page may have been sent already, so there is no
			// status left to change; a template fault must still show up.
			a.problems.log.WarnContext(r.Context(), "docs page not written", "error", err.Error())
		}
	})
}
