package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

// StatusPrefix is the path prefix of the published status lists: outside
// /api/v1, since they are documents for relying parties, fetched without a
// token and cached by CDNs, not operations of API users.
const StatusPrefix = "/status/v1"

// StatusListMediaType is the media type of a status list credential: a
// Verifiable Credential secured with an embedded proof (VC Data Model
// v2.0 §6.3).
const StatusListMediaType = "application/vc"

// cacheControl lets any cache keep a list for status.MaxAge, the list's
// ttl, so that a change of state shows within it.
var cacheControl = "public, max-age=" + strconv.Itoa(int(status.MaxAge.Seconds()))

type statusListInput struct {
	Issuer      string `path:"issuer" minLength:"18" maxLength:"18" doc:"Unified social credit code of the issuer."`
	Number      int    `path:"number" minimum:"1" doc:"Number of the list, 1 for the issuer's first."`
	Purpose     string `path:"purpose" enum:"revocation,suspension"`
	IfNoneMatch string `header:"If-None-Match" doc:"An entity tag of a copy the caller holds: 304 when the list is unchanged."`
}

type statusListOutput struct {
	Status       int
	ContentType  string `header:"Content-Type"`
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

func (a *API) registerStatus() {
	register(a, huma.Operation{
		OperationID: "get-status-list", Method: http.MethodGet, Path: StatusPrefix + "/{issuer}/{number}/{purpose}", Tags: []string{"status"},
		Summary: "A signed status list (W3C Bitstring Status List v1.0)",
		Description: "证照状态列表：the BitstringStatusListCredential of one purpose of an issuer's list, signed by the platform's status-list key. " +
			"Public: no token. Cacheable for 5 seconds (`ttl` 5000); `If-None-Match` with the `ETag` answers 304 while the list is unchanged. See docs/status-lists.md.",
		Responses: map[string]*huma.Response{
			"200": {Description: "the signed list credential", Content: map[string]*huma.MediaType{StatusListMediaType: {}}},
			"304": {Description: "unchanged since the copy named by If-None-Match"},
		},
		Errors: []int{http.StatusNotFound},
	}, authz.Public(), func(ctx context.Context, in *statusListInput) (*statusListOutput, error) {
		if a.svc.Status == nil {
			return nil, apperr.New(apperr.Unavailable, "status lists are not published by this server")
		}
		p, err := a.svc.Status.Publish(ctx, ids.NormalizeCreditCode(in.Issuer), in.Number, status.Purpose(in.Purpose))
		if err != nil {
			return nil, err
		}
		out := &statusListOutput{Status: http.StatusOK, ContentType: StatusListMediaType, ETag: p.ETag, CacheControl: cacheControl, Body: p.Doc}
		if etagMatches(in.IfNoneMatch, p.ETag) {
			out.Status, out.ContentType, out.Body = http.StatusNotModified, "", nil
		}
		return out, nil
	})
}

// etagMatches applies If-None-Match (RFC 9110 §13.1.2): "*" or any of the
// listed tags, compared weakly, matches.
func etagMatches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		tag := strings.TrimSpace(part)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}
