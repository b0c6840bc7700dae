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
// asked: the payload and its claims as JSON, or the QR code as a PNG or
// an SVG (internal/qrimage).
func presentationBody(p license.Presentation, format string, scale int) (*rawOutput, error) {
	switch format {
	case "png":
		b, err := qrimage.PNG(p.Payload, scale)
		return &rawOutput{ContentType: mediaPNG, Body: b}, err
	case "svg":
		b, err := qrimage.SVG(p.Payload)
		return &rawOutput{ContentType: mediaSVG, Body: b}, err
	}
	b, err := json.Marshal(PresentationOf(p))
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
			"signs a new payload with a fresh nonce, so it declares no Idempotency-Key. A license that has ended or expired is " +
			"refused (409). Each payload is recorded in the audit log (license.presented).",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
		Responses: map[string]*huma.Response{"201": {Description: "the payload, or its QR code",
			Content: map[string]*huma.MediaType{"application/json": {Schema: schema}, mediaPNG: {}, mediaSVG: {}}}},
	}, issueLicenses(), func(ctx context.Context, in *presentLicenseInput) (*rawOutput, error) {
		p, err := a.svc.Licenses.Present(ctx, authz.ActorFrom(ctx), in.ID, PresentationRequestIn(in.Body))
		if err != nil {
			return nil, err
		}
		return presentationBody(p, in.Body.Format, in.Body.Scale)
	})
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
			"license.json unless masked. A license that has ended or expired is refused (409). Each copy is recorded in the " +
			"audit log (license.printed).",
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
		Responses: map[string]*huma.Response{"200": {Description: "the printable copy",
			Content: map[string]*huma.MediaType{"application/pdf": {}}}},
	}, issueLicenses(), func(ctx context.Context, in *printoutInput) (*pdfOutput, error) {
		pdf, err := a.svc.Licenses.Printout(ctx, authz.ActorFrom(ctx), in.ID, license.PrintOptions{Masked: in.Masked, Lang: in.Lang})
		if err != nil {
			return nil, err
		}
		return &pdfOutput{ContentType: "application/pdf", Body: pdf,
			ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": in.ID + ".pdf"})}, nil
	})
}
