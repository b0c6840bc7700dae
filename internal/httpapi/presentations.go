package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/verify"
)

type redeemPresentationInput struct {
	Body api.RedeemPresentation
}

type presentationVerdictOutput struct{ Body verify.PresentationVerdict }

func (a *API) registerPresentations() {
	// Using units redeem holders' codes; the platform's administrators and
	// auditors have no matter to use a license for, and a redemption uses
	// the payload up.
	register(a, huma.Operation{
		OperationID: "redeem-presentation", Method: http.MethodPost, Path: Prefix + "/presentations/verify", Tags: []string{"presentations"},
		Metadata: map[string]any{validateBodyFirst: true},
		Summary:  "Redeem a holder's QR presentation online, once",
		Description: "在线核验亮证码（一次性）：the verdict on a holder's QR payload against the platform now — format, presentation key " +
			"(retired keys too, for payloads issued before the rotation), signature, validity window, the license's state and status " +
			"bits as committed, and `replay`: a payload is accepted once only, across every server process (docs/presentations.md). " +
			"Every check that ran is named with its reason; an invalid payload is a 200 with `valid: false`. `presented`, what the " +
			"holder disclosed, is given only when valid. Every redemption, refusals included, is recorded in the audit log " +
			"(`presentation.redeem`) with the caller, the matter and the outcome, never the disclosed values.",
	}, authz.Allow(authz.Any(authz.UsingUnit)), func(ctx context.Context, in *redeemPresentationInput) (*presentationVerdictOutput, error) {
		if a.svc.Presentations == nil {
			return nil, apperr.New(apperr.Unavailable, "presentation redemption is not offered by this server")
		}
		v, err := a.svc.Presentations.Redeem(ctx, authz.ActorFrom(ctx), in.Body.Payload, in.Body.Matter)
		if err != nil {
			return nil, err
		}
		return &presentationVerdictOutput{Body: v}, nil
	})
}
