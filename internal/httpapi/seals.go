package httpapi

import (
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/verify"
)

// ApplicationOf renders a seal application for the API.
func ApplicationOf(a seal.Application) api.SealApplication {
	att := make([]api.Attachment, len(a.Attachments))
	for i, x := range a.Attachments {
		att[i] = api.Attachment(x)
	}
	return api.SealApplication{ID: a.ID, Org: a.Org, Action: string(a.Action), SealID: a.SealID, SealKind: string(a.SealKind), Name: a.Name,
		Reason: a.Reason, Justification: a.Justification, Attachments: att, Keepers: a.Keepers, UsePolicy: string(a.Policy),
		Service: string(a.Binding.Service), LicenseTypes: a.Binding.LicenseTypes, Until: a.Binding.Until,
		Status: string(a.Status), Applicant: a.Applicant, Approver: a.Approver, Comment: a.Comment, CreatedAt: a.CreatedAt, DecidedAt: a.DecidedAt}
}

// attachmentsIn reads the attachments of an application.
func attachmentsIn(as []api.Attachment) []seal.Attachment {
	if as == nil {
		return nil
	}
	out := make([]seal.Attachment, len(as))
	for i, x := range as {
		out[i] = seal.Attachment(x)
	}
	return out
}

// sealOut renders a seal; whether it is valid and its PIN stale are the
// service's judgement now.
func (a *API) sealOut(x seal.Seal) api.Seal {
	return api.Seal{ID: x.ID, Org: x.Org, Kind: string(x.Kind), Name: x.Name, State: string(x.State),
		Valid: a.svc.Seals.ValidNow(x), ValidFrom: x.ValidFrom, ValidTo: x.ValidTo,
		KeyID: x.KeyID, CertFingerprint: x.CertFingerprint, ImageFormat: string(x.Image.Format), ImageHash: x.Image.Hash,
		WidthMM: x.Image.WidthMM, HeightMM: x.Image.HeightMM, Structure: x.Structure, Keepers: x.Keepers, UsePolicy: string(x.Policy),
		PINSet: x.PINHash != "", PINStale: a.svc.Seals.PINStale(x), Locked: x.Locked, FilingState: x.FilingState,
		CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}

// SealBindingOf renders a seal's binding for the API; whether it is in
// force now is the seal service's judgement (seal.Service.InForce).
func SealBindingOf(b seal.Binding, inForce bool) api.SealBinding {
	types := b.LicenseTypes
	if types == nil {
		types = []string{}
	}
	return api.SealBinding{ID: b.ID, SealID: b.SealID, Org: b.Org, Service: string(b.Service), LicenseTypes: types, Until: b.Until,
		InForce: inForce, ApplicationID: b.ApplicationID, BoundBy: b.BoundBy, BoundAt: b.BoundAt}
}

// SealEventOf renders a seal's state change for the API.
func SealEventOf(e seal.Event) api.SealEvent {
	return api.SealEvent{ID: e.ID, SealID: e.SealID, At: e.At, Actor: e.Actor, Action: e.Action, State: string(e.State),
		Reason: e.Reason, ApplicationID: e.ApplicationID}
}

// UseRequestOf renders a use request for the API.
func UseRequestOf(r seal.UseRequest) api.UseRequest {
	ap := r.Approvals
	if ap == nil {
		ap = []string{}
	}
	return api.UseRequest{ID: r.ID, SealID: r.SealID, DocHash: r.DocHash, Title: r.Title, Purpose: r.Purpose, Requester: r.Requester,
		Needed: r.Needed, Approvals: ap, Status: string(r.Status), Comment: r.Comment, CreatedAt: r.CreatedAt, DecidedAt: r.DecidedAt}
}

type applyInput struct {
	IdempotencyParam
	CreditCode string `path:"credit_code" maxLength:"64"`
	Body       struct {
		Action        string           `json:"action" enum:"make,renew,change,suspend,restore,cancel,pin-reset,bind,unbind"`
		SealID        string           `json:"seal_id,omitempty" maxLength:"64" doc:"The seal acted on (all actions but make)."`
		SealKind      string           `json:"seal_kind,omitempty" enum:"legal-name,department,branch,contract,finance,invoice,inspection,customs,license-issuing,legal-representative,manager,finance-head,authorized-representative"`
		Name          string           `json:"name,omitempty" maxLength:"400"`
		Reason        string           `json:"reason" maxLength:"2000"`
		Justification string           `json:"justification,omitempty" maxLength:"2000" doc:"Required for a second seal of the same kind."`
		Attachments   []api.Attachment `json:"attachments,omitempty" maxItems:"20"`
		Image         []byte           `json:"image,omitempty" doc:"PNG with transparency or SVG, base64; make and change."`
		WidthMM       int              `json:"width_mm,omitempty" minimum:"0" maximum:"1000"`
		HeightMM      int              `json:"height_mm,omitempty" minimum:"0" maximum:"1000"`
		Keepers       []string         `json:"keepers,omitempty" maxItems:"10" doc:"Account IDs of seal keepers of the organization."`
		UsePolicy     string           `json:"use_policy,omitempty" enum:"none,one,two" doc:"Approvals each use needs (default one)."`
		Service       string           `json:"service,omitempty" enum:"license-issuance" doc:"bind, unbind: the service (default license-issuance)."`
		LicenseTypes  []string         `json:"license_types,omitempty" maxItems:"50" doc:"bind: the license type codes the binding allows; none: every type."`
		Until         *time.Time       `json:"until,omitempty" doc:"bind: when the binding lapses; none: no end date."`
	}
}

type applicationOutput struct{ Body api.SealApplication }

type applicationIDInput struct {
	ID string `path:"id" maxLength:"100"`
}

type decisionInput struct {
	ID   string `path:"id" maxLength:"100"`
	Body struct {
		Approve bool   `json:"approve"`
		Comment string `json:"comment,omitempty" maxLength:"2000" doc:"Required when rejecting."`
	}
}

type listApplicationsInput struct {
	ListParams
	CreditCode string `path:"credit_code" maxLength:"64"`
	Status     string `query:"status" enum:"pending,approved,rejected"`
}

type sealInput struct {
	ID string `path:"id" maxLength:"64"`
}

type sealOutput struct{ Body api.Seal }

type listSealsInput struct {
	ListParams
	Org   string `query:"org" maxLength:"64"`
	Kind  string `query:"kind" enum:"legal-name,department,branch,contract,finance,invoice,inspection,customs,license-issuing,legal-representative,manager,finance-head,authorized-representative"`
	State string `query:"state" enum:"active,suspended,cancelled"`
}

type eventsOutput struct {
	Body struct {
		Items []api.SealEvent `json:"items"`
	}
}

type pinInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		CurrentPIN string `json:"current_pin,omitempty" maxLength:"64"`
		NewPIN     string `json:"new_pin" maxLength:"64"`
	}
}

type useRequestInput struct {
	IdempotencyParam
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		DocHash string `json:"doc_hash" maxLength:"64" doc:"SM3 of the document, hex."`
		Title   string `json:"title" maxLength:"400"`
		Purpose string `json:"purpose" maxLength:"2000"`
	}
}

type useRequestOutput struct{ Body api.UseRequest }

type signInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		RequestID    string `json:"request_id" maxLength:"100"`
		PIN          string `json:"pin" maxLength:"64"`
		Document     []byte `json:"document,omitempty" doc:"The document, base64; or give digest."`
		Digest       string `json:"digest,omitempty" maxLength:"64" doc:"SM3 of the document, hex."`
		PropertyInfo string `json:"property_info,omitempty" maxLength:"400"`
		Archive      bool   `json:"archive,omitempty" doc:"Keep the document with the use record."`
		CMS          bool   `json:"cms,omitempty" doc:"Also return a detached CMS signature."`
	}
}

type signOutput struct {
	Body struct {
		UseID     string    `json:"use_id"`
		SealID    string    `json:"seal_id"`
		SignedAt  time.Time `json:"signed_at"`
		Signature []byte    `json:"signature" doc:"GB/T 38540 SES_Signature, DER (base64)."`
		CMS       []byte    `json:"cms,omitempty" doc:"Detached CMS SignedData, DER (base64)."`
	}
}

type verifyInput struct {
	Body struct {
		Signature []byte `json:"signature" doc:"SES_Signature, DER (base64)."`
		Document  []byte `json:"document,omitempty" doc:"The document, base64; or give digest."`
		Digest    string `json:"digest,omitempty" maxLength:"64" doc:"SM3 of the document, hex."`
	}
}

type verifyOutput struct{ Body verify.Verdict }

type bundleOutput struct{ Body verify.Bundle }

// readApplications may read seal applications: an organization's own
// applicants, and those who decide or audit them.
func readApplications() authz.Policy {
	return authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor, authz.SealApprover), authz.Own(authz.OrgAdmin, authz.SealKeeper))
}

// readSeals may read seals: the organization's own staff who hold, apply or
// stamp with them, and those who approve or audit them.
func readSeals() authz.Policy {
	return authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor, authz.SealApprover), authz.Own(authz.OrgAdmin, authz.SealKeeper, authz.Issuer))
}

// keepers are the seal keepers of the seal's organization; the service
// checks that the caller keeps the very seal.
func keepers() authz.Policy { return authz.Allow(authz.Own(authz.SealKeeper)) }

// ownSeal reads a seal the caller may see under readSeals; another
// organization's seal is not found rather than forbidden, so that its code
// says nothing.
func (a *API) ownSeal(ctx context.Context, id string) (seal.Seal, error) {
	x, err := a.svc.Seals.GetSeal(ctx, id)
	if err != nil {
		return seal.Seal{}, err
	}
	if scope, actor := scopeOf(ctx, readSeals()); scope != authz.AnyOrg && x.Org != actor.Org {
		return seal.Seal{}, apperr.New(apperr.NotFound, "no seal has code %s", id)
	}
	return x, nil
}

func (a *API) registerSeals() {
	a.registerApplySeal()
	a.registerListSealApplications()
	a.registerGetSealApplication()
	a.registerDecideSealApplication()
	a.registerListSeals()
	a.registerGetSeal()
	a.registerListSealEvents()
	a.registerGetSealBinding()
	a.registerSetSealPIN()
	a.registerRequestSealUse()
	a.registerDecideSealUse()
	a.registerSignWithSeal()
	a.registerVerifySignature()
	a.registerGetSealTrustBundle()
}

func (a *API) registerApplySeal() {
	register(a, huma.Operation{
		OperationID: "apply-seal", Method: http.MethodPost, Path: Prefix + "/orgs/{credit_code}/seal-applications", Tags: []string{"seals"},
		Summary:       "Apply for an action on a seal",
		Description:   "申请制作、续期、变更、挂起、恢复、注销印章、重置保护口令，或将证照专用章绑定到证照签发服务、解除绑定。Nothing happens until the competent approver approves; a bind application shows what the binding allows.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, authz.Allow(authz.Own(authz.OrgAdmin, authz.SealKeeper)).About("credit_code"),
		func(ctx context.Context, in *applyInput) (*applicationOutput, error) {
			b := in.Body
			app, err := a.svc.Seals.Apply(ctx, authz.ActorFrom(ctx), seal.NewApplication{Org: in.CreditCode, Action: seal.Action(b.Action), SealID: b.SealID,
				SealKind: seal.Kind(b.SealKind), Name: b.Name, Reason: b.Reason, Justification: b.Justification, Attachments: attachmentsIn(b.Attachments),
				Image: b.Image, WidthMM: b.WidthMM, HeightMM: b.HeightMM, Keepers: b.Keepers, Policy: seal.Policy(b.UsePolicy),
				Binding: seal.BindTerms{Service: seal.BoundService(b.Service), LicenseTypes: b.LicenseTypes, Until: b.Until}})
			if err != nil {
				return nil, err
			}
			return &applicationOutput{Body: ApplicationOf(app)}, nil
		})
}

func (a *API) registerListSealApplications() {
	register(a, huma.Operation{
		OperationID: "list-seal-applications", Method: http.MethodGet, Path: Prefix + "/orgs/{credit_code}/seal-applications", Tags: []string{"seals"},
		Summary: "List an organization's seal applications",
	}, readApplications().About("credit_code"),
		func(ctx context.Context, in *listApplicationsInput) (*pageOutput[api.SealApplication], error) {
			p, err := a.svc.Seals.ListApplications(ctx, seal.Filter{Org: in.CreditCode, Status: seal.AppStatus(in.Status), Limit: in.Limit}, in.Cursor)
			if err != nil {
				return nil, err
			}
			return pageOut(p, ApplicationOf), nil
		})
}

func (a *API) registerGetSealApplication() {
	register(a, huma.Operation{
		OperationID: "get-seal-application", Method: http.MethodGet, Path: Prefix + "/seal-applications/{id}", Tags: []string{"seals"},
		Summary: "Get a seal application", Errors: []int{http.StatusNotFound},
	}, readApplications(), func(ctx context.Context, in *applicationIDInput) (*applicationOutput, error) {
		app, err := a.svc.Seals.GetApplication(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if scope, actor := scopeOf(ctx, readApplications()); scope != authz.AnyOrg && app.Org != actor.Org {
			return nil, apperr.New(apperr.NotFound, "no seal application has id %s", in.ID)
		}
		return &applicationOutput{Body: ApplicationOf(app)}, nil
	})
}

func (a *API) registerDecideSealApplication() {
	register(a, huma.Operation{
		OperationID: "decide-seal-application", Method: http.MethodPost, Path: Prefix + "/seal-applications/{id}/decision", Tags: []string{"seals"},
		Summary:     "Approve or reject a seal application",
		Description: "审批印章申请。The competent approver is a seal approver of the platform or of the applicant's parent organization; approval acts at once (a make approval makes the seal).",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, authz.Allow(authz.Any(authz.SealApprover)), func(ctx context.Context, in *decisionInput) (*applicationOutput, error) {
		app, err := a.svc.Seals.Decide(ctx, authz.ActorFrom(ctx), in.ID, in.Body.Approve, in.Body.Comment)
		if err != nil {
			return nil, err
		}
		return &applicationOutput{Body: ApplicationOf(app)}, nil
	})
}

func (a *API) registerListSeals() {
	register(a, huma.Operation{
		OperationID: "list-seals", Method: http.MethodGet, Path: Prefix + "/seals", Tags: []string{"seals"},
		Summary: "List seals",
	}, readSeals(), func(ctx context.Context, in *listSealsInput) (*pageOutput[api.Seal], error) {
		f := seal.Filter{Org: in.Org, Kind: seal.Kind(in.Kind), State: seal.State(in.State), Limit: in.Limit}
		if scope, actor := scopeOf(ctx, readSeals()); scope != authz.AnyOrg {
			f.Org = actor.Org
		}
		p, err := a.svc.Seals.ListSeals(ctx, f, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, a.sealOut), nil
	})
}

func (a *API) registerGetSeal() {
	register(a, huma.Operation{
		OperationID: "get-seal", Method: http.MethodGet, Path: Prefix + "/seals/{id}", Tags: []string{"seals"},
		Summary: "Get a seal", Errors: []int{http.StatusNotFound},
	}, readSeals(), func(ctx context.Context, in *sealInput) (*sealOutput, error) {
		x, err := a.ownSeal(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &sealOutput{Body: a.sealOut(x)}, nil
	})
}

func (a *API) registerListSealEvents() {
	register(a, huma.Operation{
		OperationID: "list-seal-events", Method: http.MethodGet, Path: Prefix + "/seals/{id}/events", Tags: []string{"seals"},
		Summary: "A seal's state changes: who, when, why", Errors: []int{http.StatusNotFound},
	}, readSeals(), func(ctx context.Context, in *sealInput) (*eventsOutput, error) {
		x, err := a.ownSeal(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		events, err := a.svc.Seals.Events(ctx, x.ID)
		if err != nil {
			return nil, err
		}
		out := &eventsOutput{}
		out.Body.Items = ListOf(events, SealEventOf).Items
		return out, nil
	})
}

type bindingOutput struct{ Body api.SealBinding }

func (a *API) registerGetSealBinding() {
	register(a, huma.Operation{
		OperationID: "get-seal-binding", Method: http.MethodGet, Path: Prefix + "/seals/{id}/binding", Tags: []string{"seals"},
		Summary:     "The binding of a license-issuing seal to license issuance",
		Description: "证照专用章与证照签发服务的绑定：what an approved bind application allows; not found when the seal is not bound.",
		Errors:      []int{http.StatusNotFound},
	}, readSeals(), func(ctx context.Context, in *sealInput) (*bindingOutput, error) {
		x, err := a.ownSeal(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		b, err := a.svc.Seals.Binding(ctx, x.ID)
		if err != nil {
			return nil, err
		}
		return &bindingOutput{Body: SealBindingOf(b, a.svc.Seals.InForce(b))}, nil
	})
}

func (a *API) registerSetSealPIN() {
	register(a, huma.Operation{
		OperationID: "set-seal-pin", Method: http.MethodPost, Path: Prefix + "/seals/{id}/pin", Tags: []string{"seals"},
		Summary:     "Set or change a seal's protection PIN",
		Description: "设置或修改印章保护口令；only a keeper of the seal. Changing needs the current PIN.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, keepers(), func(ctx context.Context, in *pinInput) (*sealOutput, error) {
		x, err := a.svc.Seals.SetPIN(ctx, authz.ActorFrom(ctx), in.ID, in.Body.CurrentPIN, in.Body.NewPIN)
		if err != nil {
			return nil, err
		}
		return &sealOutput{Body: a.sealOut(x)}, nil
	})
}

func (a *API) registerRequestSealUse() {
	register(a, huma.Operation{
		OperationID: "request-seal-use", Method: http.MethodPost, Path: Prefix + "/seals/{id}/use-requests", Tags: []string{"seals"},
		Summary:       "Request to apply a seal to a document",
		Description:   "用印申请：names the document by its SM3 hash; approved at once when the seal's use policy is none.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, keepers(), func(ctx context.Context, in *useRequestInput) (*useRequestOutput, error) {
		r, err := a.svc.Seals.RequestUse(ctx, authz.ActorFrom(ctx), in.ID, in.Body.DocHash, in.Body.Title, in.Body.Purpose)
		if err != nil {
			return nil, err
		}
		return &useRequestOutput{Body: UseRequestOf(r)}, nil
	})
}

func (a *API) registerDecideSealUse() {
	register(a, huma.Operation{
		OperationID: "decide-seal-use", Method: http.MethodPost, Path: Prefix + "/seal-use-requests/{id}/decision", Tags: []string{"seals"},
		Summary:     "Approve or reject a use request",
		Description: "用印审批：a seal approver of the seal's organization, its parent or the platform; never the requester, never twice.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, authz.Allow(authz.Any(authz.SealApprover)), func(ctx context.Context, in *decisionInput) (*useRequestOutput, error) {
		r, err := a.svc.Seals.DecideUse(ctx, authz.ActorFrom(ctx), in.ID, in.Body.Approve, in.Body.Comment)
		if err != nil {
			return nil, err
		}
		return &useRequestOutput{Body: UseRequestOf(r)}, nil
	})
}

func (a *API) registerSignWithSeal() {
	register(a, huma.Operation{
		OperationID: "sign-with-seal", Method: http.MethodPost, Path: Prefix + "/seals/{id}/sign", Tags: []string{"seals"},
		Summary:     "Stamp a document (GB/T 38540 signature, optional CMS)",
		Description: "签章：a keeper, the PIN and an approved use request for the same document. The use is recorded in the same transaction that releases the signature.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, keepers(), func(ctx context.Context, in *signInput) (*signOutput, error) {
		b := in.Body
		var digest []byte
		if b.Digest != "" {
			d, err := hex.DecodeString(b.Digest)
			if err != nil {
				return nil, &apperr.Error{Kind: apperr.Invalid, Detail: "digest is not hex", Fields: []apperr.FieldError{{Field: "digest", Rule: "sm3-hex"}}}
			}
			digest = d
		}
		signed, err := a.svc.Seals.Sign(ctx, authz.ActorFrom(ctx), in.ID, seal.SignInput{RequestID: b.RequestID, PIN: b.PIN, Document: b.Document,
			Digest: digest, PropertyInfo: b.PropertyInfo, Archive: b.Archive, CMS: b.CMS})
		if err != nil {
			return nil, err
		}
		out := &signOutput{}
		out.Body.UseID, out.Body.SealID, out.Body.SignedAt = signed.Use.ID, signed.Use.SealID, signed.Use.SignedAt
		out.Body.Signature, out.Body.CMS = signed.Signature, signed.CMS
		return out, nil
	})
}

func (a *API) registerVerifySignature() {
	register(a, huma.Operation{
		OperationID: "verify-signature", Method: http.MethodPost, Path: Prefix + "/signatures/verify", Tags: []string{"seals"},
		Summary:     "Verify a seal signature over a document",
		Description: "验章：lists every check with its reason; valid when every non-informational check passed.",
	}, anyRole(), func(ctx context.Context, in *verifyInput) (*verifyOutput, error) {
		var digest []byte
		if in.Body.Digest != "" {
			d, err := hex.DecodeString(in.Body.Digest)
			if err != nil {
				return nil, &apperr.Error{Kind: apperr.Invalid, Detail: "digest is not hex", Fields: []apperr.FieldError{{Field: "digest", Rule: "sm3-hex"}}}
			}
			digest = d
		}
		if in.Body.Document == nil && digest == nil {
			return nil, &apperr.Error{Kind: apperr.Invalid, Detail: "give the document or its digest", Fields: []apperr.FieldError{{Field: "document", Rule: "required"}}}
		}
		return &verifyOutput{Body: a.svc.Seals.Verify(ctx, in.Body.Signature, in.Body.Document, digest)}, nil
	})
}

func (a *API) registerGetSealTrustBundle() {
	register(a, huma.Operation{
		OperationID: "get-seal-trust-bundle", Method: http.MethodGet, Path: Prefix + "/seals/trust-bundle", Tags: []string{"seals"},
		Summary:     "The trust bundle for offline verification",
		Description: "离线验章所需信任包：roots, every seal's state history and revoked certificates, signed by the platform root over the RFC 8785 canonical JSON of everything but `signature`.",
	}, anyRole(), func(ctx context.Context, _ *struct{}) (*bundleOutput, error) {
		b, err := a.svc.Seals.TrustBundle(ctx)
		if err != nil {
			return nil, err
		}
		return &bundleOutput{Body: b}, nil
	})
}
