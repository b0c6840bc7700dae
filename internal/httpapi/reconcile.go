package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// aggregation may read lateness reports and reconcile: an organization's
// issuers and admins their own licenses, platform admins any issuer's
// (the service checks which).
func aggregation() authz.Policy {
	return authz.Allow(authz.Any(authz.PlatformAdmin), authz.Own(authz.Issuer, authz.OrgAdmin))
}

type latenessInput struct {
	From   string `query:"from" maxLength:"7" doc:"The first month of completion, YYYY-MM (China Standard Time)."`
	To     string `query:"to" maxLength:"7" doc:"The last month, YYYY-MM; from alone when absent."`
	Issuer string `query:"issuer" maxLength:"64" doc:"The issuer: platform admins name it or read every issuer's; an organization reads only its own."`
}

type latenessOutput struct{ Body api.LatenessReport }

type reconcileInput struct {
	IdempotencyParam
	Body api.NewReconciliation
}

type reconciliationOutput struct{ Body api.Reconciliation }

type listReconciliationsInput struct {
	ListParams
	Issuer string `query:"issuer" maxLength:"64" doc:"The issuer: platform admins name it or list every issuer's; an organization lists only its own."`
}

// LatenessReportOf renders a lateness report for the API.
func LatenessReportOf(q license.LatenessQuery, rows []license.LatenessRow) api.LatenessReport {
	out := api.LatenessReport{From: q.From, To: q.To, Rows: make([]api.LatenessRow, len(rows))}
	if out.To == "" {
		out.To = out.From
	}
	for i, r := range rows {
		out.Rows[i] = api.LatenessRow(r)
	}
	return out
}

// NewReconciliationIn reads a reconciliation request.
func NewReconciliationIn(b api.NewReconciliation) license.NewReconciliation {
	n := license.NewReconciliation{Type: b.Type, Issuer: b.Issuer, Count: b.Count, Digest: b.Digest, Listed: b.Licenses != nil}
	if b.Licenses != nil {
		n.List = make([]license.Pair, len(*b.Licenses))
		for i, p := range *b.Licenses {
			n.List[i] = license.Pair(p)
		}
	}
	return n
}

// ReconciliationOf renders a reconciliation for the API.
func ReconciliationOf(r license.Reconciliation) api.Reconciliation {
	out := api.Reconciliation{ID: r.ID, Issuer: r.Issuer, Type: r.TypeCode, Match: r.Match, Stated: api.Tally(r.Stated),
		Platform: api.Tally(r.Platform), Listed: r.Listed, Missing: r.Missing, Extra: r.Extra, Version: r.VersionDiffers,
		First: make([]api.Difference, len(r.First)), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
	for i, d := range r.First {
		out.First[i] = api.Difference(d)
	}
	return out
}

func (a *API) registerReconciliation() {
	register(a, huma.Operation{
		OperationID: "import-lateness", Method: http.MethodGet, Path: Prefix + "/imports/lateness", Tags: []string{"imports"},
		Summary: "How many licenses reached the platform in time, by issuer, type, month of completion and kind",
		Description: "汇聚时效 (R-ISS-3): a license imported as a day's increment is due the day its case completed (办结), one imported " +
			"as stock within five working days (Monday to Friday in China Standard Time; public holidays are not modelled); a license " +
			"issued on the platform is always in time. One query over the licenses, counted as their last import recorded them.",
	}, aggregation(), func(ctx context.Context, in *latenessInput) (*latenessOutput, error) {
		q := license.LatenessQuery{From: in.From, To: in.To, Issuer: in.Issuer}
		rows, err := a.svc.Licenses.Lateness(ctx, authz.ActorFrom(ctx), q)
		if err != nil {
			return nil, err
		}
		return &latenessOutput{Body: LatenessReportOf(q, rows)}, nil
	})
	register(a, huma.Operation{
		OperationID: "reconcile-licenses", Method: http.MethodPost, Path: Prefix + "/imports/reconciliations", Tags: []string{"imports"},
		Summary: "Reconcile what an issuer holds of a type with the platform's licenses (对账)",
		Description: "The issuer states a count and a digest of its (number, version) pairs, or sends the pairs; the platform computes " +
			"the same over its licenses of that issuer and type and answers whether they match, with both, and, for a list, the " +
			"differing numbers counted and the first ones named. Recorded with its audit entry (license.reconcile). docs/import.md " +
			"defines the digest.",
		DefaultStatus: http.StatusCreated,
	}, aggregation(), func(ctx context.Context, in *reconcileInput) (*reconciliationOutput, error) {
		r, err := a.svc.Licenses.Reconcile(ctx, authz.ActorFrom(ctx), NewReconciliationIn(in.Body))
		if err != nil {
			return nil, err
		}
		return &reconciliationOutput{Body: ReconciliationOf(r)}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-reconciliations", Method: http.MethodGet, Path: Prefix + "/imports/reconciliations", Tags: []string{"imports"},
		Summary: "List reconciliations, newest first",
	}, aggregation(), func(ctx context.Context, in *listReconciliationsInput) (*pageOutput[api.Reconciliation], error) {
		p, err := a.svc.Licenses.ListReconciliations(ctx, authz.ActorFrom(ctx), in.Issuer, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, ReconciliationOf), nil
	})
}
