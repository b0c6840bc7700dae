package httpapi

import (
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// docsPage renders the OpenAPI document as one readable HTML page, on the
// server and without scripts, so that the docs work on a network without a CDN.
var docsPage = template.Must(template.New("docs").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"join":  strings.Join,
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} {{.Version}}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;font-family:monospace}
.get{color:#06c}.post{color:#080}.patch{color:#a60}.delete{color:#c00}
code,.path{font-family:monospace}.roles{font-size:.9em;color:#555}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
</style></head><body>
<h1>{{.Title}} <small>{{.Version}}</small></h1>
<p style="white-space:pre-line">{{.Description}}</p>
<p>机器可读 / machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p>
{{range .Tags}}<h2>{{.Name}}</h2>{{range .Ops}}
<div class="op" id="{{.ID}}"><div><span class="m {{lower .Method}}">{{.Method}}</span> <span class="path">{{.Path}}</span></div>
<p><b>{{.Summary}}</b></p>{{if .Description}}<p>{{.Description}}</p>{{end}}
<p class="roles">角色 / roles — 全部单位 / any org: <code>{{join .AnyOrg ", "}}</code>{{if .OwnOrg}}; 仅本单位 / own org: <code>{{join .OwnOrg ", "}}</code>{{end}}</p>
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>description</th></tr>{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
</div>{{end}}{{end}}
</body></html>`))

type docsOp struct {
	ID, Method, Path, Summary, Description string
	AnyOrg, OwnOrg                         []string
	Params                                 []*huma.Param
}

type docsTag struct {
	Name string
	Ops  []docsOp
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
				d := docsOp{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: op.Description, Params: op.Parameters}
				if p, ok := a.policies[op.OperationID]; ok {
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
		})
		if err != nil {
			// Part of the page may have been sent already, so there is no
			// status left to change; a template fault must still show up.
			a.problems.log.WarnContext(r.Context(), "docs page not written", "error", err.Error())
		}
	})
}
