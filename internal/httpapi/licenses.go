package httpapi

import (
	"context"
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

// NewLicenseIn reads a request to issue a license.
func NewLicenseIn(n api.NewLicense) license.NewLicense {
	return license.NewLicense{Type: n.Type, TypeVersion: n.TypeVersion, HolderID: n.HolderID, HolderName: n.HolderName,
		ValidFrom: n.ValidFrom, ValidUntil: n.ValidUntil, Face: n.Face}
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
	State  string `query:"state" enum:"active"`
	Holder string `query:"holder" maxLength:"64" doc:"The holder's citizen ID number or credit code; matched by its blind index."`
}

type licenseDocumentOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// issueLicenses may issue and read licenses: issuers, for their own
// organization (the service checks the type is one it issues).
func issueLicenses() authz.Policy { return authz.Allow(authz.Own(authz.Issuer)) }

func (a *API) registerLicenses() {
	a.registerIssueLicense()
	a.registerListLicenses()
	a.registerGetLicense()
	a.registerGetLicenseDocument()
	a.registerExportLicenseVC()
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
		return &licenseOutput{Body: LicenseOf(out.License)}, nil
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
