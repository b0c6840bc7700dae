package httpapi

import (
	"context"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// LicenseOf renders a license for the API.
func LicenseOf(l license.License) api.License {
	return api.License{ID: l.ID, Number: l.Number, Type: l.TypeCode, TypeVersion: l.TypeVersion, Issuer: l.Issuer,
		HolderKind: string(l.HolderKind), HolderID: l.HolderID, HolderName: l.HolderName, ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil,
		State: string(l.State), Version: l.Version, StatusList: l.Slot.List.Number, StatusIndex: l.Slot.Index, SealID: l.SealID,
		IssuedBy: l.IssuedBy, IssuedAt: l.IssuedAt, UpdatedAt: l.UpdatedAt}
}

// IssuedLicenseOf renders an issued license for the API: the license and
// the materials archived with it.
func IssuedLicenseOf(out license.Issued) api.License {
	l := LicenseOf(out.License)
	for _, m := range out.Materials {
		l.Materials = append(l.Materials, LicenseMaterialOf(m))
	}
	return l
}

// LicenseMaterialOf renders an archived material for the API.
func LicenseMaterialOf(m license.MaterialInfo) api.LicenseMaterial {
	return api.LicenseMaterial{LicenseID: m.LicenseID, Seq: m.Seq, Name: m.Name, MediaType: m.MediaType, Size: m.Size, SM3: m.SM3,
		AddedBy: m.AddedBy, AddedAt: m.AddedAt}
}

// LicenseTransitionOf renders an entry of a license's history for the API.
func LicenseTransitionOf(r license.Record) api.LicenseTransition {
	return api.LicenseTransition{Seq: r.Seq, Operation: string(r.Operation), From: string(r.From), To: string(r.To), Reason: r.Reason,
		Actor: r.Actor, At: r.At, Version: r.Version}
}

// LicenseTransitionIn reads a request of a lifecycle operation. A face of
// JSON null is no face.
func LicenseTransitionIn(r api.LicenseTransitionRequest) license.TransitionRequest {
	face := r.Face
	if string(face) == "null" {
		face = nil
	}
	return license.TransitionRequest{Operation: license.Operation(r.Operation), Reason: r.Reason, Face: face, TypeVersion: r.TypeVersion,
		ValidUntil: r.ValidUntil}
}

// NewLicenseIn reads a request to issue a license.
func NewLicenseIn(n api.NewLicense) license.NewLicense {
	out := license.NewLicense{Type: n.Type, TypeVersion: n.TypeVersion, HolderID: n.HolderID, HolderName: n.HolderName,
		ValidFrom: n.ValidFrom, ValidUntil: n.ValidUntil, Face: n.Face}
	for _, m := range n.Materials {
		out.Materials = append(out.Materials, MaterialIn(m))
	}
	return out
}

// MaterialIn reads an issuance material of a request.
func MaterialIn(m api.NewMaterial) license.Material {
	return license.Material{Name: m.Name, MediaType: m.MediaType, Content: m.Content}
}

type issueLicenseInput struct {
	IdempotencyParam
	Body api.NewLicense
}

type licenseOutput struct{ Body api.License }

type licenseIDInput struct {
	ID string `path:"id" maxLength:"35"`
}

type listLicensesInput struct {
	ListParams
	Type   string `query:"type" maxLength:"6"`
	State  string `query:"state" enum:"active,suspended,pledged,reported-lost,expired,revoked,cancelled,abolished"`
	Holder string `query:"holder" maxLength:"64" doc:"The holder's citizen ID number or credit code; matched by its blind index."`
}

type licenseDocumentOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

type addMaterialInput struct {
	IdempotencyParam
	ID   string `path:"id" maxLength:"35"`
	Body api.NewMaterial
}

type materialOutput struct{ Body api.LicenseMaterial }

type materialsOutput struct{ Body api.Page[api.LicenseMaterial] }

type materialInput struct {
	ID  string `path:"id" maxLength:"35"`
	Seq int    `path:"seq" minimum:"1"`
}

type materialContentOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

// issueLicenses may issue and read licenses: issuers, for their own
// organization (the service checks the type is one it issues).
func issueLicenses() authz.Policy { return authz.Allow(authz.Own(authz.Issuer)) }

func (a *API) registerLicenses() {
	a.registerIssueLicense()
	a.registerListLicenses()
	a.registerGetLicense()
	a.registerGetLicenseDocument()
	a.registerMaterials()
	a.registerExportLicenseVC()
	a.registerTransitionLicense()
	a.registerLicenseHistory()
	a.registerGetLicenseVersionDocument()
	a.registerPresentLicense()
	a.registerLicensePrintout()
	a.registerMyPresentations()
}

func (a *API) registerIssueLicense() {
	register(a, huma.Operation{
		OperationID: "issue-license", Method: http.MethodPost, Path: Prefix + "/licenses", Tags: []string{"licenses"},
		Summary: "Issue a license",
		Description: "签发电子证照。An issuer issues a license of a type its organization issues, under an approved template version; " +
			"the organization's license-issuing seal bound to license issuance signs it.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusForbidden, http.StatusConflict},
	}, issueLicenses(), func(ctx context.Context, in *issueLicenseInput) (*licenseOutput, error) {
		out, err := a.svc.Licenses.Issue(ctx, authz.ActorFrom(ctx), NewLicenseIn(in.Body))
		if err != nil {
			return nil, err
		}
		return &licenseOutput{Body: IssuedLicenseOf(out)}, nil
	})
}

func (a *API) registerListLicenses() {
	register(a, huma.Operation{
		OperationID: "list-licenses", Method: http.MethodGet, Path: Prefix + "/licenses", Tags: []string{"licenses"},
		Summary: "List the licenses of the caller's organization",
	}, issueLicenses(), func(ctx context.Context, in *listLicensesInput) (*pageOutput[api.License], error) {
		p, err := a.svc.Licenses.List(ctx, authz.ActorFrom(ctx), license.Filter{TypeCode: in.Type, State: license.State(in.State),
			Holder: in.Holder, Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, LicenseOf), nil
	})
}

func (a *API) registerGetLicense() {
	register(a, huma.Operation{
		OperationID: "get-license", Method: http.MethodGet, Path: Prefix + "/licenses/{id}", Tags: []string{"licenses"},
		Summary: "Get a license of the caller's organization", Errors: []int{http.StatusNotFound},
	}, issueLicenses(), func(ctx context.Context, in *licenseIDInput) (*licenseOutput, error) {
		l, err := a.svc.Licenses.Get(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &licenseOutput{Body: LicenseOf(l)}, nil
	})
}

func (a *API) registerGetLicenseDocument() {
	register(a, huma.Operation{
		OperationID: "get-license-document", Method: http.MethodGet, Path: Prefix + "/licenses/{id}/document", Tags: []string{"licenses"},
		Summary:     "Get the signed document of a license",
		Description: "已签名的证照文档 (docs/license-format.md): the bytes the seal signed, as stored; verify them with verify.License.",
		Errors:      []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "the signed license document",
			Content: map[string]*huma.MediaType{"application/json": {}}}},
	}, issueLicenses(), func(ctx context.Context, in *licenseIDInput) (*licenseDocumentOutput, error) {
		doc, err := a.svc.Licenses.Document(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &licenseDocumentOutput{ContentType: "application/json", Body: doc}, nil
	})
}

func (a *API) registerMaterials() {
	register(a, huma.Operation{
		OperationID: "add-license-material", Method: http.MethodPost, Path: Prefix + "/licenses/{id}/materials", Tags: []string{"licenses"},
		Summary:       "Archive one more issuance material with a license",
		Description:   "补充签发材料 (R-ISS-7): a file archived with a license of the caller's organization, encrypted at rest, under the license's next seq; audited.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, issueLicenses(), func(ctx context.Context, in *addMaterialInput) (*materialOutput, error) {
		m, err := a.svc.Licenses.AddMaterial(ctx, authz.ActorFrom(ctx), in.ID, MaterialIn(in.Body))
		if err != nil {
			return nil, err
		}
		return &materialOutput{Body: LicenseMaterialOf(m)}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-license-materials", Method: http.MethodGet, Path: Prefix + "/licenses/{id}/materials", Tags: []string{"licenses"},
		Summary: "List the issuance materials of a license, by seq, without their content", Errors: []int{http.StatusNotFound},
	}, issueLicenses(), func(ctx context.Context, in *licenseIDInput) (*materialsOutput, error) {
		ms, err := a.svc.Licenses.Materials(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		out := &materialsOutput{Body: api.Page[api.LicenseMaterial]{Items: make([]api.LicenseMaterial, 0, len(ms))}}
		for _, m := range ms {
			out.Body.Items = append(out.Body.Items, LicenseMaterialOf(m))
		}
		return out, nil
	})
	register(a, huma.Operation{
		OperationID: "get-license-material", Method: http.MethodGet, Path: Prefix + "/licenses/{id}/materials/{seq}", Tags: []string{"licenses"},
		Summary:     "Get the content of an issuance material",
		Description: "The file as archived, with its media type. Each read is recorded in the audit log.",
		Errors:      []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "the material's content",
			Content: map[string]*huma.MediaType{"application/octet-stream": {}}}},
	}, issueLicenses(), func(ctx context.Context, in *materialInput) (*materialContentOutput, error) {
		m, content, err := a.svc.Licenses.MaterialContent(ctx, authz.ActorFrom(ctx), in.ID, in.Seq)
		if err != nil {
			return nil, err
		}
		return &materialContentOutput{ContentType: m.MediaType, Body: content,
			ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": m.Name})}, nil
	})
}

// credentialMediaType is the media type of an exported license credential:
// a Verifiable Credential with an embedded proof, as a status list is.
const credentialMediaType = StatusListMediaType

func (a *API) registerExportLicenseVC() {
	register(a, huma.Operation{
		OperationID: "export-license-vc", Method: http.MethodGet, Path: Prefix + "/licenses/{id}/vc", Tags: []string{"licenses"},
		Summary: "Export a license as a W3C Verifiable Credential",
		Description: "导出为 W3C 可验证凭证 (docs/vc.md): the current version of the license as a Verifiable Credential 2.0 " +
			"with its BitstringStatusListEntry entries and a Data Integrity proof of the platform's status-list key; " +
			"it names the GB/T 38540-signed document by its digests. Each export is recorded in the audit log (license.exported).",
		Errors: []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "the signed credential",
			Content: map[string]*huma.MediaType{credentialMediaType: {}}}},
	}, issueLicenses(), func(ctx context.Context, in *licenseIDInput) (*licenseDocumentOutput, error) {
		doc, err := a.svc.Licenses.ExportVC(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &licenseDocumentOutput{ContentType: credentialMediaType, Body: doc}, nil
	})
}

type transitionLicenseInput struct {
	IdempotencyParam
	ID   string `path:"id" maxLength:"35"`
	Body api.LicenseTransitionRequest
}

func (a *API) registerTransitionLicense() {
	register(a, huma.Operation{
		OperationID: "transition-license", Method: http.MethodPost, Path: Prefix + "/licenses/{id}/transitions", Tags: []string{"licenses"},
		Summary: "Apply a lifecycle operation to a license",
		Description: "变更、延续、挂起、恢复、质押、解除质押、吊销、注销、废止、挂失、补办。The transition table of docs/licenses.md says " +
			"which operation is allowed from which state; another is refused with 409 naming the current state (field operation, rule transition). " +
			"change, renew and reissue sign a new version with the bound seal; the old one stays readable.",
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, issueLicenses(), func(ctx context.Context, in *transitionLicenseInput) (*licenseOutput, error) {
		out, err := a.svc.Licenses.Transition(ctx, authz.ActorFrom(ctx), in.ID, LicenseTransitionIn(in.Body))
		if err != nil {
			return nil, err
		}
		return &licenseOutput{Body: LicenseOf(out.License)}, nil
	})
}

type licenseHistoryInput struct {
	ListParams
	ID string `path:"id" maxLength:"35"`
}

func (a *API) registerLicenseHistory() {
	register(a, huma.Operation{
		OperationID: "list-license-transitions", Method: http.MethodGet, Path: Prefix + "/licenses/{id}/transitions", Tags: []string{"licenses"},
		Summary: "The history of a license: its transitions, oldest first", Errors: []int{http.StatusNotFound},
	}, issueLicenses(), func(ctx context.Context, in *licenseHistoryInput) (*pageOutput[api.LicenseTransition], error) {
		p, err := a.svc.Licenses.History(ctx, authz.ActorFrom(ctx), in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, LicenseTransitionOf), nil
	})
}

type licenseVersionInput struct {
	ID      string `path:"id" maxLength:"35"`
	Version int64  `path:"version" minimum:"1"`
}

func (a *API) registerGetLicenseVersionDocument() {
	register(a, huma.Operation{
		OperationID: "get-license-version-document", Method: http.MethodGet, Path: Prefix + "/licenses/{id}/versions/{version}/document",
		Tags: []string{"licenses"}, Summary: "Get the signed document of a version of a license",
		Description: "Superseded versions stay readable for audit, exactly as signed.",
		Errors:      []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "the signed license document",
			Content: map[string]*huma.MediaType{"application/json": {}}}},
	}, issueLicenses(), func(ctx context.Context, in *licenseVersionInput) (*licenseDocumentOutput, error) {
		doc, err := a.svc.Licenses.VersionDocument(ctx, authz.ActorFrom(ctx), in.ID, in.Version)
		if err != nil {
			return nil, err
		}
		return &licenseDocumentOutput{ContentType: "application/json", Body: doc}, nil
	})
}
