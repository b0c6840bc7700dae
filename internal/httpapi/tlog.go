package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
)

// TLogPrefix is where the audit log is served as C2SP tlog-tiles
// (docs/audit.md, "Tiles"): outside /api/v1, since its checkpoint and hash
// tiles are static documents that CDNs cache and witnesses fetch without
// a token.
const TLogPrefix = "/tlog"

// Cache lifetimes of the log's documents: a full tile never changes; a
// partial tile and the checkpoint are superseded as the log grows.
var (
	immutable     = "public, max-age=31536000, immutable"
	shortLived    = "public, max-age=5"
	privateFull   = "private, max-age=31536000, immutable"
	privateShort  = "private, max-age=5"
	tileMediaType = "application/octet-stream"
)

type tlogCheckpointOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

type tileInput struct {
	Level string `path:"level" doc:"Tile level, 0 to 7."`
	N     string `path:"n" doc:"Tile index in groups of three digits, all but the last prefixed with x (x001/234), then .p/W for a partial tile of W hashes."`
}

type entryBundleInput struct {
	N string `path:"n" doc:"Bundle index in groups of three digits, all but the last prefixed with x, then .p/W for a partial bundle of W entries."`
}

type tileOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

type cosignatureInput struct {
	RawBody []byte `contentType:"text/plain"`
}

type cosignatureOutput struct {
	Body struct {
		Items []api.AuditCosignature `json:"items"`
	}
}

func (a *API) registerTLog() {
	a.registerGetTLogCheckpoint()
	a.registerGetTLogTile()
	a.registerGetTLogEntryBundle()
	a.registerSubmitCosignature()
}

func (a *API) registerGetTLogCheckpoint() {
	register(a, huma.Operation{
		OperationID: "get-tlog-checkpoint", Method: http.MethodGet, Path: TLogPrefix + "/checkpoint", Tags: []string{"audit"},
		Summary: "The audit log's checkpoint with its witness cosignatures (C2SP tlog-tiles)",
		Description: "审计日志检查点及见证人联署: the signed checkpoint (C2SP tlog-checkpoint) followed by the cosignatures " +
			"(C2SP tlog-cosignature v1) of the configured witnesses. Public: no token. Cacheable for 5 seconds. See docs/audit.md, \"Witnesses\".",
		Responses: map[string]*huma.Response{"200": {Description: "signed note", Content: map[string]*huma.MediaType{"text/plain": {}}}},
	}, authz.Public(), func(ctx context.Context, _ *struct{}) (*tlogCheckpointOutput, error) {
		msg, err := a.svc.Witnessing.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		return &tlogCheckpointOutput{ContentType: "text/plain; charset=utf-8", CacheControl: shortLived, Body: msg}, nil
	})
}

// tile parses a tile path and reads the tile.
func (a *API) tile(ctx context.Context, path string) (auditlog.Tile, []byte, error) {
	t, err := auditlog.ParseTilePath(path)
	if err != nil {
		return t, nil, &apperr.Error{Kind: apperr.NotFound, Detail: "no such tile: " + path,
			Fields: []apperr.FieldError{{Field: "path", Rule: "tile-path", Detail: "a C2SP tlog-tiles path: L/N[.p/W] or entries/N[.p/W]"}}}
	}
	b, err := auditlog.ReadTile(ctx, a.svc.Audit, t)
	return t, b, err
}

func (a *API) registerGetTLogTile() {
	register(a, huma.Operation{
		OperationID: "get-tlog-tile", Method: http.MethodGet, Path: TLogPrefix + "/tile/{level}/{n...}", Tags: []string{"audit"},
		Summary: "A tile of the audit log's Merkle tree (C2SP tlog-tiles)",
		Description: "审计日志哈希瓦片: the hashes of up to 256 nodes of one level of the tree, 32 bytes each. Public: no token; " +
			"hashes reveal no entry. A full tile never changes and is cacheable for a year; a partial one for 5 seconds.",
		Responses: map[string]*huma.Response{"200": {Description: "tile", Content: map[string]*huma.MediaType{tileMediaType: {}}}},
		Errors:    []int{http.StatusNotFound},
	}, authz.Public(), func(ctx context.Context, in *tileInput) (*tileOutput, error) {
		if in.Level == "entries" { // the mux routes bundles to their own operation; a stray one is no hash tile
			return nil, apperr.New(apperr.NotFound, "no such tile")
		}
		t, b, err := a.tile(ctx, "tile/"+in.Level+"/"+in.N)
		if err != nil {
			return nil, err
		}
		return &tileOutput{ContentType: tileMediaType, CacheControl: cacheOf(t, immutable, shortLived), Body: b}, nil
	})
}

func (a *API) registerGetTLogEntryBundle() {
	register(a, huma.Operation{
		OperationID: "get-tlog-entry-bundle", Method: http.MethodGet, Path: TLogPrefix + "/tile/entries/{n...}", Tags: []string{"audit"},
		Summary: "An entry bundle of the audit log (C2SP tlog-tiles)",
		Description: "审计日志条目包: up to 256 leaves, each its RFC 8785 bytes as hashed into the tree, prefixed by its length " +
			"(big-endian uint16). For auditors and platform admins, as GET /api/v1/audit/entries: entries name accounts, holders and licenses. " +
			"Cacheable privately; see docs/audit.md, \"Tiles\".",
		Responses: map[string]*huma.Response{"200": {Description: "entry bundle", Content: map[string]*huma.MediaType{tileMediaType: {}}}},
		Errors:    []int{http.StatusNotFound},
	}, auditReaders(), func(ctx context.Context, in *entryBundleInput) (*tileOutput, error) {
		t, b, err := a.tile(ctx, "tile/entries/"+in.N)
		if err != nil {
			return nil, err
		}
		return &tileOutput{ContentType: tileMediaType, CacheControl: cacheOf(t, privateFull, privateShort), Body: b}, nil
	})
}

func cacheOf(t auditlog.Tile, full, partial string) string {
	if t.Full() {
		return full
	}
	return partial
}

func (a *API) registerSubmitCosignature() {
	register(a, huma.Operation{
		OperationID: "submit-tlog-cosignature", Method: http.MethodPost, Path: TLogPrefix + "/cosignature", Tags: []string{"audit"},
		Summary: "Submit a witness's cosignature of an audit checkpoint (C2SP tlog-cosignature v1)",
		Description: "提交见证人联署: the checkpoint as served, with the witness's cosignature line appended (a C2SP signed note). " +
			"Public: the cosignature itself is the credential — only the keys of configured witnesses (serve --witness) count. " +
			"The checkpoint must be one this log serves or served; a witness's cosignature older than its last is refused (409, rule replay); " +
			"the same again changes nothing (stored: false).",
		Errors: []int{http.StatusConflict},
	}, authz.Public(), func(ctx context.Context, in *cosignatureInput) (*cosignatureOutput, error) {
		if len(a.svc.Witnessing.Witnesses()) == 0 {
			return nil, &apperr.Error{Kind: apperr.NotFound, Detail: "this platform has no witnesses configured",
				Fields: []apperr.FieldError{{Field: "body", Rule: "witness-unknown", Detail: "no witness is configured (serve --witness)"}}}
		}
		cs, err := a.svc.Witnessing.Submit(ctx, in.RawBody)
		if err != nil {
			return nil, err
		}
		out := &cosignatureOutput{}
		for _, c := range cs {
			out.Body.Items = append(out.Body.Items, api.AuditCosignature{Witness: c.Witness, Size: c.Size,
				Timestamp: time.Unix(int64(c.Timestamp), 0).UTC(), Stored: c.Stored}) //nolint:gosec // checked against the clock
		}
		return out, nil
	})
}
