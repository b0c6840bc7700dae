package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// LicenseTypeOf renders a license type of the catalog for the API.
func LicenseTypeOf(e catalog.Entry) api.LicenseType {
	issuers := e.Issuers
	if issuers == nil {
		issuers = []string{}
	}
	return api.LicenseType{NewLicenseType: api.NewLicenseType{Code: e.Code, Name: api.Label(e.Name), Issuers: issuers, AnyIssuer: e.AnyIssuer,
		HolderKind: string(e.HolderKind), Level: string(e.Level), Public: string(e.Public), CollectionStart: e.CollectionStart,
		Validity:  api.ValidityRule{Kind: string(e.Validity.Kind), Years: e.Validity.Years, MaxYears: e.Validity.MaxYears},
		Numbering: string(e.Numbering)},
		Owner: e.Owner, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, ApprovedVersion: e.Approved}
}

// LicenseTypeIn reads a license type to define.
func LicenseTypeIn(n api.NewLicenseType) catalog.Type {
	return catalog.Type{Code: n.Code, Name: catalog.Label(n.Name), Issuers: n.Issuers, AnyIssuer: n.AnyIssuer,
		HolderKind: catalog.HolderKind(n.HolderKind), Level: catalog.Level(n.Level), Public: catalog.Publicity(n.Public),
		CollectionStart: n.CollectionStart, Numbering: ids.NumberingRule(n.Numbering),
		Validity: catalog.ValidityRule{Kind: catalog.ValidityKind(n.Validity.Kind), Years: n.Validity.Years, MaxYears: n.Validity.MaxYears}}
}

// TemplateOf renders a face template for the API.
func TemplateOf(t catalog.Template) api.Template {
	out := api.Template{Fields: make([]api.TemplateField, len(t.Fields))}
	for i, f := range t.Fields {
		out.Fields[i] = api.TemplateField{Key: f.Key, Label: api.Label(f.Label), Type: string(f.Type), Required: f.Required,
			MinLength: f.MinLength, MaxLength: f.MaxLength, Pattern: f.Pattern, Enum: f.Enum, Format: string(f.Format),
			Multiline: f.Multiline, Holder: f.Holder, Sensitivity: string(f.Sensitivity), Masking: api.Masking{Rule: string(f.Masking.Rule), First: f.Masking.First, Last: f.Masking.Last}}
	}
	return out
}

// TemplateIn reads a face template.
func TemplateIn(t api.Template) catalog.Template {
	out := catalog.Template{Fields: make([]catalog.Field, len(t.Fields))}
	for i, f := range t.Fields {
		out.Fields[i] = catalog.Field{Key: f.Key, Label: catalog.Label(f.Label), Type: catalog.FieldType(f.Type), Required: f.Required,
			MinLength: f.MinLength, MaxLength: f.MaxLength, Pattern: f.Pattern, Enum: f.Enum, Format: catalog.Format(f.Format),
			Multiline: f.Multiline, Holder: f.Holder, Sensitivity: catalog.Sensitivity(f.Sensitivity),
			Masking: catalog.Masking{Rule: catalog.MaskRule(f.Masking.Rule), First: f.Masking.First, Last: f.Masking.Last}}
	}
	return out
}

// LicenseTypeVersionOf renders a version of a license type for the API.
func LicenseTypeVersionOf(v catalog.Version) api.LicenseTypeVersion {
	events := make([]api.VersionEvent, len(v.Events))
	for i, e := range v.Events {
		events[i] = api.VersionEvent{Action: string(e.Action), By: e.By, At: e.At, Reason: e.Reason}
	}
	return api.LicenseTypeVersion{TypeCode: v.TypeCode, Number: v.Number, State: string(v.State), Author: v.Author,
		Template: TemplateOf(v.Template), Events: events}
}

type defineTypeInput struct {
	IdempotencyParam
	Body api.NewLicenseType
}

type licenseTypeOutput struct{ Body api.LicenseType }

type listTypesInput struct {
	ListParams
	Issuer     string `query:"issuer" maxLength:"64" doc:"Only the types this organization may issue."`
	Owner      string `query:"owner" maxLength:"64" doc:"Only the types this organization defined."`
	Level      string `query:"level" enum:"national,provincial,municipal,county"`
	HolderKind string `query:"holder_kind" enum:"person,organization"`
	Usable     bool   `query:"usable" doc:"Only the types with an approved version."`
}

type typeCodeInput struct {
	Code string `path:"code" maxLength:"6"`
}

type proposeVersionInput struct {
	IdempotencyParam
	Code string `path:"code" maxLength:"6"`
	Body struct {
		Template api.Template `json:"template"`
	}
}

type versionOutput struct{ Body api.LicenseTypeVersion }

type listVersionsInput struct {
	ListParams
	Code  string `path:"code" maxLength:"6"`
	State string `query:"state" enum:"draft,pending,approved,rejected"`
}

type versionInput struct {
	Code   string `path:"code" maxLength:"6"`
	Number int    `path:"n" minimum:"1"`
}

type reviewInput struct {
	IdempotencyParam
	Code   string `path:"code" maxLength:"6"`
	Number int    `path:"n" minimum:"1"`
	Body   struct {
		Reason string `json:"reason,omitempty" maxLength:"2000" doc:"Required to reject."`
	}
}

// readCatalog may read the catalog: every authenticated caller. Types and
// templates are not secret, and each role needs them, to issue, to use or
// to review licenses.
func readCatalog() authz.Policy { return anyRole() }

// writeCatalog may define types and propose versions: platform admins for
// every type, issuers for their own organization's (the service checks
// which type is whose).
func writeCatalog() authz.Policy {
	return authz.Allow(authz.Any(authz.PlatformAdmin), authz.Own(authz.Issuer))
}

// reviewCatalog may approve or reject versions: the platform operator; the
// service checks the admin belongs to the platform organization and did not
// write the version.
func reviewCatalog() authz.Policy { return authz.Allow(authz.Any(authz.PlatformAdmin)) }

func (a *API) registerCatalog() {
	a.registerDefineLicenseType()
	a.registerListLicenseTypes()
	a.registerGetLicenseType()
	a.registerProposeLicenseTypeVersion()
	a.registerListLicenseTypeVersions()
	a.registerGetLicenseTypeVersion()
	a.registerFaceLabels()
	a.registerApproveLicenseTypeVersion()
	a.registerRejectLicenseTypeVersion()
}

func (a *API) registerDefineLicenseType() {
	register(a, huma.Operation{
		OperationID: "define-license-type", Method: http.MethodPost, Path: Prefix + "/catalog/types", Tags: []string{"catalog"},
		Summary:       "Define a license type",
		Description:   "定义证照类型。A platform admin defines any type; an issuer a type that its own organization alone issues. The type is used only once a version of its template is approved.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict},
	}, writeCatalog(), func(ctx context.Context, in *defineTypeInput) (*licenseTypeOutput, error) {
		e, err := a.svc.Catalog.DefineType(ctx, authz.ActorFrom(ctx), LicenseTypeIn(in.Body))
		if err != nil {
			return nil, err
		}
		return &licenseTypeOutput{Body: LicenseTypeOf(e)}, nil
	})
}

func (a *API) registerListLicenseTypes() {
	register(a, huma.Operation{
		OperationID: "list-license-types", Method: http.MethodGet, Path: Prefix + "/catalog/types", Tags: []string{"catalog"},
		Summary: "List the license types of the catalog",
	}, readCatalog(), func(ctx context.Context, in *listTypesInput) (*pageOutput[api.LicenseType], error) {
		f := catalog.TypeFilter{Issuer: ids.NormalizeCreditCode(in.Issuer), Owner: ids.NormalizeCreditCode(in.Owner), Level: catalog.Level(in.Level),
			HolderKind: catalog.HolderKind(in.HolderKind), Usable: in.Usable, Limit: in.Limit}
		p, err := a.svc.Catalog.ListTypes(ctx, f, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, LicenseTypeOf), nil
	})
}

func (a *API) registerGetLicenseType() {
	register(a, huma.Operation{
		OperationID: "get-license-type", Method: http.MethodGet, Path: Prefix + "/catalog/types/{code}", Tags: []string{"catalog"},
		Summary: "Get a license type", Errors: []int{http.StatusNotFound},
	}, readCatalog(), func(ctx context.Context, in *typeCodeInput) (*licenseTypeOutput, error) {
		e, err := a.svc.Catalog.GetType(ctx, in.Code)
		if err != nil {
			return nil, err
		}
		return &licenseTypeOutput{Body: LicenseTypeOf(e)}, nil
	})
}

func (a *API) registerProposeLicenseTypeVersion() {
	register(a, huma.Operation{
		OperationID: "propose-license-type-version", Method: http.MethodPost, Path: Prefix + "/catalog/types/{code}/versions", Tags: []string{"catalog"},
		Summary:       "Propose a new version of a type's template",
		Description:   "提交证照模板新版本，待平台审核。The version gets the next number and waits, pending, for a platform admin other than its author.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, writeCatalog(), func(ctx context.Context, in *proposeVersionInput) (*versionOutput, error) {
		v, err := a.svc.Catalog.ProposeVersion(ctx, authz.ActorFrom(ctx), in.Code, TemplateIn(in.Body.Template))
		if err != nil {
			return nil, err
		}
		return &versionOutput{Body: LicenseTypeVersionOf(v)}, nil
	})
}

func (a *API) registerListLicenseTypeVersions() {
	register(a, huma.Operation{
		OperationID: "list-license-type-versions", Method: http.MethodGet, Path: Prefix + "/catalog/types/{code}/versions", Tags: []string{"catalog"},
		Summary: "List the versions of a license type, oldest first", Errors: []int{http.StatusNotFound},
	}, readCatalog(), func(ctx context.Context, in *listVersionsInput) (*pageOutput[api.LicenseTypeVersion], error) {
		p, err := a.svc.Catalog.ListVersions(ctx, catalog.VersionFilter{TypeCode: in.Code, State: catalog.State(in.State), Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, LicenseTypeVersionOf), nil
	})
}

func (a *API) registerGetLicenseTypeVersion() {
	register(a, huma.Operation{
		OperationID: "get-license-type-version", Method: http.MethodGet, Path: Prefix + "/catalog/types/{code}/versions/{n}", Tags: []string{"catalog"},
		Summary: "Get a version of a license type", Errors: []int{http.StatusNotFound},
	}, readCatalog(), func(ctx context.Context, in *versionInput) (*versionOutput, error) {
		v, err := a.svc.Catalog.GetVersion(ctx, in.Code, in.Number)
		if err != nil {
			return nil, err
		}
		return &versionOutput{Body: LicenseTypeVersionOf(v)}, nil
	})
}

type faceLabelsOutput struct {
	Body api.FaceLabels
}

// registerFaceLabels publishes the labels of approved templates, for the
// holder and verifier pages to name face fields in the reader's language.
func (a *API) registerFaceLabels() {
	register(a, huma.Operation{
		OperationID: "get-face-labels", Method: http.MethodGet, Path: Prefix + "/catalog/types/{code}/versions/{n}/labels", Tags: []string{"catalog"},
		Summary: "The labels of the face fields of an approved template version",
		Description: "Public: the type's name and each field's label (zh-CN, en) and sensitivity, for pages that show license faces and presentations. " +
			"A version that is not approved answers as one that does not exist.",
		Errors: []int{http.StatusNotFound},
	}, authz.Public(), func(ctx context.Context, in *versionInput) (*faceLabelsOutput, error) {
		e, err := a.svc.Catalog.GetType(ctx, in.Code)
		if err != nil {
			return nil, err
		}
		v, err := a.svc.Catalog.GetVersion(ctx, in.Code, in.Number)
		if err == nil && v.State != catalog.Approved {
			err = apperr.New(apperr.NotFound, "license type %s has no approved version %d", in.Code, in.Number)
		}
		if err != nil {
			return nil, err
		}
		out := api.FaceLabels{TypeCode: e.Code, TypeVersion: v.Number, Name: api.Label(e.Name), Fields: make([]api.FieldLabel, len(v.Template.Fields))}
		for i, f := range v.Template.Fields {
			out.Fields[i] = api.FieldLabel{Key: f.Key, Label: api.Label(f.Label), Sensitivity: string(f.Sensitivity)}
		}
		return &faceLabelsOutput{Body: out}, nil
	})
}

func (a *API) registerApproveLicenseTypeVersion() {
	register(a, huma.Operation{
		OperationID: "approve-license-type-version", Method: http.MethodPost, Path: Prefix + "/catalog/types/{code}/versions/{n}/approve", Tags: []string{"catalog"},
		Summary:     "Approve a pending version",
		Description: "审核通过：licenses of the type are issued under this version from now on. A platform admin of the platform organization, not the version's author.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, reviewCatalog(), func(ctx context.Context, in *reviewInput) (*versionOutput, error) {
		v, err := a.svc.Catalog.Approve(ctx, authz.ActorFrom(ctx), in.Code, in.Number, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &versionOutput{Body: LicenseTypeVersionOf(v)}, nil
	})
}

func (a *API) registerRejectLicenseTypeVersion() {
	register(a, huma.Operation{
		OperationID: "reject-license-type-version", Method: http.MethodPost, Path: Prefix + "/catalog/types/{code}/versions/{n}/reject", Tags: []string{"catalog"},
		Summary:     "Reject a pending version, with a reason",
		Description: "审核不通过：a corrected template is proposed as a new version. A platform admin of the platform organization, not the version's author.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, reviewCatalog(), func(ctx context.Context, in *reviewInput) (*versionOutput, error) {
		v, err := a.svc.Catalog.Reject(ctx, authz.ActorFrom(ctx), in.Code, in.Number, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &versionOutput{Body: LicenseTypeVersionOf(v)}, nil
	})
}
