package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/reqctx"
)

// Uploader files uploaded import files as jobs: importer.Uploads.
type Uploader interface {
	Upload(ctx context.Context, actor *authz.Actor, up importer.Upload, body io.Reader) (license.UploadedImport, error)
	// Limit is the largest file accepted, in bytes.
	Limit() int64
}

// XLSXMediaType is the media type of an XLSX workbook.
const XLSXMediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// importFormats are the formats of an upload by its media type.
var importFormats = map[string]importer.Format{
	"text/csv": importer.CSV, "application/x-ndjson": importer.JSONL, "application/jsonl": importer.JSONL, XLSXMediaType: importer.XLSX,
}

// importUploadReadTime is how long an upload may take to arrive: longer
// than the server's read timeout, which is for the other requests.
const importUploadReadTime = 10 * time.Minute

// ImportOf renders an uploaded import job for the API. A running job no
// runner holds is queued.
func ImportOf(u license.UploadedImport) api.Import {
	j, up := u.Job, u.Upload
	state := string(j.State)
	if j.State == license.ImportRunning && up.LeaseOwner == "" {
		state = "queued"
	}
	out := api.Import{ID: j.ID, State: state, Type: j.TypeCode, TypeVersion: j.TypeVersion, FileName: j.FileName, FileSHA256: j.FileDigest,
		Format: up.Format, Encoding: up.Encoding, Sign: up.Sign, BatchSize: up.BatchSize, Increment: j.Increment, Size: up.Size, Rows: up.Rows, Checkpoint: j.Checkpoint,
		Imported: j.Counts.Imported, Versioned: j.Counts.Versioned, Unchanged: j.Counts.Unchanged, Rejected: j.Counts.Rejected,
		Batches: j.Counts.Batches, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt}
	// The rate is the current run's: its rows over its time from its
	// claim to its last committed batch.
	if secs := j.UpdatedAt.Sub(up.RunStarted).Seconds(); !up.RunStarted.IsZero() && secs > 0 && j.Checkpoint > up.RunFrom {
		out.RowsPerS = float64(j.Checkpoint-up.RunFrom) / secs
		if j.State == license.ImportRunning {
			eta := int64(float64(max(up.Rows-j.Checkpoint, 0)) / out.RowsPerS)
			out.ETASeconds = &eta
		}
	}
	return out
}

// ImportProblemOf renders a problem of an import's report.
func ImportProblemOf(p license.ImportProblem) api.ImportProblem {
	return api.ImportProblem{Row: p.Row, Column: p.Column, Field: p.Field, Rule: p.Rule, Value: p.Value, Detail: p.Detail}
}

type uploadImportInput struct {
	IdempotencyParam
	Type        string `query:"type" required:"true" maxLength:"32" doc:"The license type code of the file's licenses."`
	TypeVersion int    `query:"type_version" minimum:"0" doc:"The template version; the newest approved one when left out."`
	Name        string `query:"name" maxLength:"255" doc:"The file's name, kept with the job; upload.<format> when left out."`
	Mapping     string `query:"mapping" maxLength:"16384" doc:"The mapping of columns onto the type's fields, JSON (docs/import.md, \"The mapping file\"); none when left out."`
	Encoding    string `query:"encoding" enum:"auto,utf-8,gb18030" doc:"The encoding of a CSV or JSON Lines file; auto (the default) detects UTF-8 or GB18030."`
	Sign        string `query:"sign" enum:"batch,each" default:"batch" doc:"batch: one signature per batch; each: one per license."`
	Batch       int    `query:"batch" minimum:"1" maximum:"10000" default:"1000" doc:"Rows a batch: one transaction, one signature."`
	Increment   bool   `query:"increment" doc:"The file is a day's increment of licenses issued offline, due the day their cases completed; stock (due within five working days) when left out (docs/import.md, \"Aggregation deadlines\")."`
	contentType string
	body        io.Reader
	deadline    func(time.Time)
}

// Resolve keeps the request body to stream: it is not read into memory
// by the framework.
func (in *uploadImportInput) Resolve(ctx huma.Context) []error {
	in.contentType, in.body, in.deadline = ctx.Header("Content-Type"), ctx.BodyReader(), func(t time.Time) { _ = ctx.SetReadDeadline(t) }
	return nil
}

type importOutput struct{ Body api.Import }

type uploadImportOutput struct {
	Location string `header:"Location"`
	Body     api.Import
}

type importIDInput struct {
	ID string `path:"id" maxLength:"40"`
}

type importReportInput struct {
	ListParams
	ID string `path:"id" maxLength:"40"`
}

type importReportOutput struct{ Body api.ImportReport }

func (a *API) registerImports() {
	binary := &huma.Schema{Type: "string", Format: "binary"}
	register(a, huma.Operation{
		OperationID: "upload-import", Method: http.MethodPost, Path: Prefix + "/imports", Tags: []string{"imports"},
		Summary: "Upload a file of existing licenses to import",
		Description: "存量证照电子化 (R-ISS-3): the body is the file itself, its format named by Content-Type: text/csv, " +
			"application/x-ndjson (JSON Lines) or " + XLSXMediaType + ". The file is checked as `zhengzhao import check` reads it " +
			"(its header against the mapping, refused field by field before a job exists; a file that is not of its format, field file), " +
			"kept in the store encrypted, and imported by the server in batches as `zhengzhao import run` does. " +
			"Answers 202 with the job; follow it with GET /imports/{id}. A file over the server's limit is 413; a file of the same type " +
			"whose import is not done is 409 (resume that one).",
		DefaultStatus: http.StatusAccepted, Errors: []int{http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"text/csv": {Schema: binary},
			"application/x-ndjson": {Schema: binary}, XLSXMediaType: {Schema: binary}}},
	}, issueLicenses(), func(ctx context.Context, in *uploadImportInput) (*uploadImportOutput, error) {
		if a.svc.Imports == nil {
			return nil, apperr.New(apperr.Unavailable, "this server takes no uploaded imports")
		}
		mt, _, _ := mime.ParseMediaType(in.contentType)
		format, ok := importFormats[strings.ToLower(mt)]
		if !ok {
			return nil, a.status(ctx, http.StatusUnsupportedMediaType, &apperr.Error{Kind: apperr.Invalid,
				Detail: "send the file as text/csv, application/x-ndjson or " + XLSXMediaType,
				Fields: []apperr.FieldError{{Field: "Content-Type", Rule: "import-media-type", Detail: "text/csv, application/x-ndjson or " + XLSXMediaType}}})
		}
		in.deadline(time.Now().Add(importUploadReadTime))
		name := in.Name
		if name == "" {
			name = "upload." + string(format)
		}
		enc := importer.Encoding(in.Encoding)
		if in.Encoding == "auto" {
			enc = importer.Auto
		}
		u, err := a.svc.Imports.Upload(ctx, authz.ActorFrom(ctx), importer.Upload{Type: in.Type, TypeVersion: in.TypeVersion,
			Mapping: in.Mapping, FileName: name, Format: format, Encoding: enc, Sign: in.Sign, BatchSize: in.Batch, Increment: in.Increment}, in.body)
		var tooLarge *http.MaxBytesError
		if errors.Is(err, importer.ErrTooLarge) || errors.As(err, &tooLarge) {
			return nil, a.status(ctx, http.StatusRequestEntityTooLarge, &apperr.Error{Kind: apperr.Invalid, Detail: err.Error(),
				Fields: []apperr.FieldError{{Field: "file", Rule: "max-size", Detail: "the file is larger than the server's upload limit"}}})
		}
		if err != nil {
			return nil, err
		}
		return &uploadImportOutput{Location: Prefix + "/imports/" + u.Job.ID, Body: ImportOf(u)}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-imports", Method: http.MethodGet, Path: Prefix + "/imports", Tags: []string{"imports"},
		Summary: "List the organization's uploaded imports, oldest first",
	}, issueLicenses(), func(ctx context.Context, in *ListParams) (*pageOutput[api.Import], error) {
		p, err := a.svc.Licenses.ListUploadedImports(ctx, authz.ActorFrom(ctx), in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, ImportOf), nil
	})
	register(a, huma.Operation{
		OperationID: "get-import", Method: http.MethodGet, Path: Prefix + "/imports/{id}", Tags: []string{"imports"},
		Summary: "Get an uploaded import: state, counts, rows a second and ETA", Errors: []int{http.StatusNotFound},
	}, issueLicenses(), func(ctx context.Context, in *importIDInput) (*importOutput, error) {
		u, err := a.svc.Licenses.GetUploadedImport(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &importOutput{Body: ImportOf(u)}, nil
	})
	register(a, huma.Operation{
		OperationID: "get-import-report", Method: http.MethodGet, Path: Prefix + "/imports/{id}/report", Tags: []string{"imports"},
		Summary:     "Get the problems of the rows an import rejected, a page at a time",
		Description: "Each problem names the row, the column, the target, the rule and the value masked as the command line's report does.",
		Errors:      []int{http.StatusNotFound},
	}, issueLicenses(), func(ctx context.Context, in *importReportInput) (*importReportOutput, error) {
		u, p, err := a.svc.Licenses.ImportReport(ctx, authz.ActorFrom(ctx), in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		pg := PageOf(p, ImportProblemOf)
		return &importReportOutput{Body: api.ImportReport{Import: ImportOf(u), Problems: pg.Items, NextCursor: pg.NextCursor}}, nil
	})
	a.registerImportAction("cancel", "Cancel an uploaded import",
		"A running or queued import stops at its next batch: the batch in flight is not written. Resume it to go on.", a.svc.Licenses.CancelImport)
	a.registerImportAction("resume", "Resume a cancelled or failed import",
		"The import is queued again and goes on after its checkpoint.", a.svc.Licenses.ResumeImport)
}

func (a *API) registerImportAction(action, summary, description string,
	fn func(context.Context, *authz.Actor, string) (license.UploadedImport, error)) {
	register(a, huma.Operation{
		OperationID: action + "-import", Method: http.MethodPost, Path: Prefix + "/imports/{id}/" + action,
		Tags: []string{"imports"}, Summary: summary, Description: description,
		Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, issueLicenses(), func(ctx context.Context, in *importIDInput) (*importOutput, error) {
		u, err := fn(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &importOutput{Body: ImportOf(u)}, nil
	})
}

// BodyLimit returns the largest body accepted for a request: the upload
// limit for the file of an import, BodyLimitFor for every other.
func (a *API) BodyLimit(method, path string) int64 {
	if method == http.MethodPost && path == Prefix+"/imports" && a.svc.Imports != nil {
		return a.svc.Imports.Limit()
	}
	return BodyLimitFor(method, path)
}

// status is the problem of err answered with another status than its
// kind's.
func (a *API) status(ctx context.Context, status int, err error) error {
	p := a.problems.From(ctx, err)
	p.Status = status
	if status == http.StatusRequestEntityTooLarge {
		p.Title = a.problems.cat.T(reqctx.Lang(ctx), "kind.too-large", nil, http.StatusText(status))
	}
	return p
}
