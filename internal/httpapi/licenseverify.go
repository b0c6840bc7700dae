package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/trust"
)

type verifyLicenseInput struct {
	Body api.VerifyLicense
}

type trustBundleInput struct {
	IfNoneMatch string `header:"If-None-Match" doc:"An entity tag of a copy the caller holds: 304 while the bundle served is that copy."`
}

type trustBundleOutput struct {
	Status       int
	ContentType  string `header:"Content-Type"`
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

// trustBundleCacheControl lets any cache keep the bundle as long as the
// platform serves the same one.
var trustBundleCacheControl = "public, max-age=" + strconv.Itoa(int(trust.BundleMaxAge.Seconds()))

func (a *API) registerLicenseVerification() {
	register(a, huma.Operation{
		OperationID: "verify-license", Method: http.MethodPost, Path: Prefix + "/licenses/verify", Tags: []string{"licenses"},
		Summary: "Verify a signed license document",
		Description: "验证电子证照：the verdict on a signed license document against the platform's own records now — the seal signature " +
			"(signature, seal state and certificate chain at signing time; for a batch-signed document the signature over its batch " +
			"header and the license's inclusion proof, batch-inclusion), the issuer's license-issuing seal, the validity window, " +
			"the status bits as committed, the approved type version — every check named with its reason (docs/license-format.md, " +
			"\"Verification\"). Valid when every non-informational check passed; an invalid license is a 200 with `valid: false`. " +
			"Every verification is recorded in the audit log.",
	}, anyRole(), func(ctx context.Context, in *verifyLicenseInput) (*verifyOutput, error) {
		if a.svc.Trust == nil {
			return nil, apperr.New(apperr.Unavailable, "license verification is not offered by this server")
		}
		doc := bytes.TrimSpace(in.Body.Document)
		if len(doc) == 0 || string(doc) == "null" {
			return nil, &apperr.Error{Kind: apperr.Invalid, Detail: "give the signed license document",
				Fields: []apperr.FieldError{{Field: "document", Rule: "required"}}}
		}
		// A document is an object; a string is most likely one base64- or
		// JSON-encoded once more, which the verdict would only call
		// unreadable.
		if doc[0] != '{' {
			return nil, &apperr.Error{Kind: apperr.Invalid, Detail: "the document is the signed license document's JSON object itself, not a string or an array",
				Fields: []apperr.FieldError{{Field: "document", Rule: "json-object"}}}
		}
		v, err := a.svc.Trust.Verify(ctx, authz.ActorFrom(ctx), doc)
		if err != nil {
			return nil, err
		}
		return &verifyOutput{Body: v}, nil
	})
	register(a, huma.Operation{
		OperationID: "get-license-trust-bundle", Method: http.MethodGet, Path: Prefix + "/licenses/trust-bundle", Tags: []string{"licenses"},
		Summary: "The trust bundle for offline license verification",
		Description: "离线验证电子证照所需信任包：the seal trust bundle (roots, seal histories and structures, revoked certificates) with " +
			"a snapshot of every status list (`fetched_at`) and the approved license type versions, signed by the platform root " +
			"(verify.OpenBundle). Public: no token. Built at most 5 seconds before it is served; `If-None-Match` with the `ETag` " +
			"answers 304 while the same bundle is served.",
		Responses: map[string]*huma.Response{
			"200": {Description: "the signed trust bundle", Content: map[string]*huma.MediaType{"application/json": {}}},
			"304": {Description: "unchanged since the copy named by If-None-Match"},
		},
	}, authz.Public(), func(ctx context.Context, in *trustBundleInput) (*trustBundleOutput, error) {
		if a.svc.Trust == nil {
			return nil, apperr.New(apperr.Unavailable, "the license trust bundle is not published by this server")
		}
		p, err := a.svc.Trust.Publish(ctx)
		if err != nil {
			return nil, err
		}
		out := &trustBundleOutput{Status: http.StatusOK, ContentType: "application/json", ETag: p.ETag, CacheControl: trustBundleCacheControl, Body: p.Doc}
		if etagMatches(in.IfNoneMatch, p.ETag) {
			out.Status, out.ContentType, out.Body = http.StatusNotModified, "", nil
		}
		return out, nil
	})
}
