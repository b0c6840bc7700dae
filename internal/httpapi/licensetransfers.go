package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// LicenseTransferOf renders an issuer transfer job for the API.
func LicenseTransferOf(j license.TransferJob) api.LicenseTransfer {
	return api.LicenseTransfer{ID: j.ID, State: string(j.State), From: j.From, To: j.To, Types: j.Types, Reason: j.Reason, Total: j.Total,
		Moved: j.Moved, Failure: j.Failure, Cursor: j.Cursor, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt}
}

// NewLicenseTransferIn reads a request to file a transfer job.
func NewLicenseTransferIn(n api.NewLicenseTransfer) license.NewTransfer {
	return license.NewTransfer{From: n.From, To: n.To, Types: n.Types, Reason: n.Reason}
}

// transferLicenses may file and follow issuer transfer jobs: platform
// admins (the service checks the account is of the platform organization).
func transferLicenses() authz.Policy { return authz.Allow(authz.Any(authz.PlatformAdmin)) }

type fileLicenseTransferInput struct {
	IdempotencyParam
	Body api.NewLicenseTransfer
}

type licenseTransferOutput struct{ Body api.LicenseTransfer }

type licenseTransferIDInput struct {
	ID string `path:"id" maxLength:"40"`
}

type listLicenseTransfersInput struct {
	ListParams
	State string `query:"state" enum:"queued,running,done,failed,cancelled"`
}

func (a *API) registerLicenseTransfers() {
	register(a, huma.Operation{
		OperationID: "file-license-transfer", Method: http.MethodPost, Path: Prefix + "/license-transfers", Tags: []string{"license transfers"},
		Summary: "File an issuer transfer job",
		Description: "发证机关变更 (R-ISS-5): move the licenses of one organization to another issuing organization, whose bound " +
			"license-issuing seal re-signs each one that is not revoked, cancelled or abolished. The job is queued and run by the " +
			"server in batches; follow it with GET /license-transfers/{id}. Refused (nothing written) when an organization is unknown, " +
			"the two are the same, the new one is not an issuer, may not issue a type (field types[i]) or has no seal bound in force.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusForbidden, http.StatusConflict},
	}, transferLicenses(), func(ctx context.Context, in *fileLicenseTransferInput) (*licenseTransferOutput, error) {
		j, err := a.svc.Licenses.FileTransfer(ctx, authz.ActorFrom(ctx), NewLicenseTransferIn(in.Body))
		if err != nil {
			return nil, err
		}
		return &licenseTransferOutput{Body: LicenseTransferOf(j)}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-license-transfers", Method: http.MethodGet, Path: Prefix + "/license-transfers", Tags: []string{"license transfers"},
		Summary: "List issuer transfer jobs, oldest first",
	}, transferLicenses(), func(ctx context.Context, in *listLicenseTransfersInput) (*pageOutput[api.LicenseTransfer], error) {
		p, err := a.svc.Licenses.ListTransfers(ctx, authz.ActorFrom(ctx), license.TransferFilter{State: license.TransferState(in.State),
			Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, LicenseTransferOf), nil
	})
	register(a, huma.Operation{
		OperationID: "get-license-transfer", Method: http.MethodGet, Path: Prefix + "/license-transfers/{id}", Tags: []string{"license transfers"},
		Summary: "Get an issuer transfer job and its progress", Errors: []int{http.StatusNotFound},
	}, transferLicenses(), func(ctx context.Context, in *licenseTransferIDInput) (*licenseTransferOutput, error) {
		j, err := a.svc.Licenses.GetTransfer(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &licenseTransferOutput{Body: LicenseTransferOf(j)}, nil
	})
	a.registerLicenseTransferAction("cancel", "Cancel an issuer transfer job",
		"A queued, running or failed job stops before its next batch; the licenses it moved stay moved.", a.svc.Licenses.CancelTransfer)
	a.registerLicenseTransferAction("resume", "Resume a failed issuer transfer job",
		"Once what failed it is fixed (a seal bound again, say), the job is queued again and goes on where it stopped.", a.svc.Licenses.ResumeTransfer)
}

func (a *API) registerLicenseTransferAction(action, summary, description string,
	fn func(context.Context, *authz.Actor, string) (license.TransferJob, error)) {
	register(a, huma.Operation{
		OperationID: action + "-license-transfer", Method: http.MethodPost, Path: Prefix + "/license-transfers/{id}/" + action,
		Tags: []string{"license transfers"}, Summary: summary, Description: description,
		Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, transferLicenses(), func(ctx context.Context, in *licenseTransferIDInput) (*licenseTransferOutput, error) {
		j, err := fn(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &licenseTransferOutput{Body: LicenseTransferOf(j)}, nil
	})
}
