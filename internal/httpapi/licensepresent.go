package httpapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/qrimage"
)

// PresentationOf renders a presentation for the API.
func PresentationOf(p license.Presentation) api.Presentation {
	c := p.Claims
	fields := c.Fields
	if fields == nil {
		fields = map[string]any{}
	}
	return api.Presentation{Payload: p.Payload, KID: hex.EncodeToString(p.KID), LicenseID: c.LicenseID, Type: c.TypeCode,
		TypeVersion: int(c.TypeVersion), Issuer: c.IssuerCode, Holder: c.Holder, Fields: fields, //nolint:gosec // G115: template versions are small
		StatusLists: []string{c.RevocationList, c.SuspensionList}, StatusIndex: int64(c.StatusIndex), //nolint:gosec // G115: an index the platform allocated
		Nonce: hex.EncodeToString(c.Nonce[:]), IssuedAt: c.IssuedAt, ExpiresAt: c.Expires}
}

// PresentationRequestIn reads a request for a presentation.
func PresentationRequestIn(r api.NewPresentation) license.PresentRequest {
	return license.PresentRequest{Disclose: r.Disclose, TTL: time.Duration(r.TTL) * time.Second}
}

// Media types of a presentation's answer, by the request's format.
const (
	mediaPNG = "image/png"
	mediaSVG = "image/svg+xml"
)

// presentationBody is the answer to a presentation request in the format
// asked: the payload and its claims as JSON, the QR code as a PNG or an
// SVG (internal/qrimage), or both at once (json-svg), for a page that
// shows the code and its expiry from one request.
func presentationBody(p license.Presentation, format string, scale int) (*rawOutput, error) {
	switch format {
	case "png":
		b, err := qrimage.PNG(p.Payload, scale)
		return &rawOutput{ContentType: mediaPNG, Body: b}, err
	case "svg":
		b, err := qrimage.SVG(p.Payload)
		return &rawOutput{ContentType: mediaSVG, Body: b}, err
	}
	out := PresentationOf(p)
	if format == "json-svg" {
		svg, err := qrimage.SVG(p.Payload)
		if err != nil {
			return nil, err
		}
		out.SVG = string(svg)
	}
	b, err := json.Marshal(out)
	return &rawOutput{ContentType: "application/json", Body: b}, err
}

// rawOutput is an answer whose bytes are written as they are, of the
// media type it names.
type rawOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

type presentLicenseInput struct {
	ID   string `path:"id" maxLength:"35"`
	Body api.NewPresentation
}

func (a *API) registerPresentLicense() {
	schema := a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[api.Presentation](), true, "")
	register(a, huma.Operation{
		OperationID: "present-license", Method: http.MethodPost, Path: Prefix + "/licenses/{id}/presentations", Tags: []string{"licenses"},
		Summary: "Make a dynamic QR payload of a license (亮证亮码)",
		Description: "A payload of the current version of the license signed by the platform's presentation key (docs/qr-format.md): " +
			"the holder's name masked, the face fields disclose names, the status list entries, valid for ttl seconds. " +
			"format json answers the payload and its claims; png or svg the QR code itself. Not idempotent: every request " +
			"signs a new payload with a fresh nonce, so it declares no Idempotency-Key. format json-svg answers the JSON with the " +
			"QR code's SVG in svg. A license not in force (suspended, reported lost, ended, expired) is refused (409). Each payload is recorded in the audit log (license.presented).",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
		Responses: presentationResponses(schema),
	}, issueLicenses(), presentWith(a.svc.Licenses.Present))
}

// presentWith is the handler of a presentation request that present,
// the issuer's or the holder's, signs.
func presentWith(present func(context.Context, *authz.Actor, string, license.PresentRequest) (license.Presentation, error)) func(context.Context, *presentLicenseInput) (*rawOutput, error) {
	return func(ctx context.Context, in *presentLicenseInput) (*rawOutput, error) {
		p, err := present(ctx, authz.ActorFrom(ctx), in.ID, PresentationRequestIn(in.Body))
		if err != nil {
			return nil, err
		}
		return presentationBody(p, in.Body.Format, in.Body.Scale)
	}
}

// presentationResponses documents the answers of a presentation request,
// the JSON of schema or a picture.
func presentationResponses(schema *huma.Schema) map[string]*huma.Response {
	return map[string]*huma.Response{"201": {Description: "the payload, or its QR code",
		Content: map[string]*huma.MediaType{"application/json": {Schema: schema}, mediaPNG: {}, mediaSVG: {}}}}
}

type printoutInput struct {
	ID     string `path:"id" maxLength:"35"`
	Masked bool   `query:"masked" doc:"Mask personal and sensitive fields under their masking rules; a masked copy does not attach the signed document."`
	Lang   string `query:"lang" enum:"zh-CN,en" doc:"The page's language; zh-CN when left out."`
}

type pdfOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func (a *API) registerLicensePrintout() {
	register(a, huma.Operation{
		OperationID: "get-license-printout", Method: http.MethodGet, Path: Prefix + "/licenses/{id}/printout", Tags: []string{"licenses"},
		Summary: "Get the printable copy of a license (PDF)",
		Description: "打印件 (docs/printout.md): one A4 page of the license's face with the issuing seal and a QR code that verifies " +
			"the paper (a presentation valid until the license's end, docs/qr-format.md), the signed document attached as " +
			"license.json unless masked. A license not in force (suspended, reported lost, ended, expired) is refused (409). Each copy is recorded in the " +
			"audit log (license.printed).",
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
		Responses: map[string]*huma.Response{"200": {Description: "the printable copy",
			Content: map[string]*huma.MediaType{"application/pdf": {}}}},
	}, issueLicenses(), func(ctx context.Context, in *printoutInput) (*pdfOutput, error) {
		return pdfAnswer(in.ID)(a.svc.Licenses.Printout(ctx, authz.ActorFrom(ctx), in.ID, license.PrintOptions{Masked: in.Masked, Lang: in.Lang}))
	})
}

// pdfAnswer returns the answer of the printed copy of license id.
func pdfAnswer(id string) func(pdf []byte, err error) (*pdfOutput, error) {
	return func(pdf []byte, err error) (*pdfOutput, error) {
		if err != nil {
			return nil, err
		}
		return &pdfOutput{ContentType: "application/pdf", Body: pdf,
			ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": id + ".pdf"})}, nil
	}
}

// registerMyPresentations registers the holder's own QR code and printed
// copy: the issuer's operations, on the licenses the caller holds.
func (a *API) registerMyPresentations() {
	schema := a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[api.Presentation](), true, "")
	register(a, huma.Operation{
		OperationID: "present-my-license", Method: http.MethodPost, Path: Prefix + "/me/licenses/{id}/qr", Tags: []string{"holders"},
		Summary: "Make a dynamic QR code of a license the signed-in holder holds (亮证亮码)",
		Description: "As POST /api/v1/licenses/{id}/presentations (docs/qr-format.md), for the holder: a payload signed by the platform's " +
			"presentation key, valid for ttl seconds, with a fresh nonce each request. format json-svg answers the payload and its claims " +
			"with the QR code's SVG in svg, for a page that shows the code and its expiry. Another holder's license answers 404, as one that " +
			"does not exist, and the refusal is recorded (license.refused); a license not in force (suspended, reported lost, ended, expired) " +
			"is refused (409). Each payload is recorded in the audit log (license.presented) with the holder as actor.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
		Responses: presentationResponses(schema),
	}, authz.Holders(), presentWith(a.svc.Licenses.HolderPresent))
	register(a, huma.Operation{
		OperationID: "get-my-license-printout", Method: http.MethodGet, Path: Prefix + "/me/licenses/{id}/printout", Tags: []string{"holders"},
		Summary: "Get the printable copy of a license the signed-in holder holds (PDF)",
		Description: "As GET /api/v1/licenses/{id}/printout (docs/printout.md), for the holder. Another holder's license answers 404 and the " +
			"refusal is recorded (license.refused); a license not in force is refused (409). Each copy is recorded in the audit log " +
			"(license.printed) with the holder as actor.",
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
		Responses: map[string]*huma.Response{"200": {Description: "the printable copy",
			Content: map[string]*huma.MediaType{"application/pdf": {}}}},
	}, authz.Holders(), func(ctx context.Context, in *printoutInput) (*pdfOutput, error) {
		return pdfAnswer(in.ID)(a.svc.Licenses.HolderPrintout(ctx, authz.ActorFrom(ctx), in.ID, license.PrintOptions{Masked: in.Masked, Lang: in.Lang}))
	})
}
