package httpapi

import (
	"context"
	"encoding/hex"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"zhengzhao/internal/auditlog"
	"zhengzhao/internal/authz"
)

// AuditTree is the state of the audit log's Merkle tree.
type AuditTree struct {
	Size   uint64 `json:"size"`
	Root   string `json:"root" doc:"RFC 6962 (SHA-256) root hash, hex."`
	Intact bool   `json:"intact" doc:"Recomputing the root from every entry gives the stored root."`
	Reason string `json:"reason,omitempty"`
}

type auditTreeOutput struct{ Body AuditTree }

type auditEntriesInput struct {
	From  uint64 `query:"from" doc:"First index."`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type auditEntriesOutput struct {
	Body struct {
		Items []auditlog.Entry `json:"items"`
		Next  *uint64          `json:"next,omitempty" doc:"Index to continue from; absent at the end."`
	}
}

type checkpointOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

type checkpointKeyOutput struct {
	Body struct {
		VerifierKey string `json:"verifier_key" doc:"C2SP signed-note verifier key (name+hash+key) of the checkpoints."`
	}
}

func (a *API) registerAudit() {
	tags := []string{"audit"}
	readers := authz.Allow(authz.Any(authz.Auditor, authz.PlatformAdmin))
	register(a, huma.Operation{
		OperationID: "check-audit-log", Method: http.MethodGet, Path: Prefix + "/audit/tree", Tags: tags,
		Summary:     "The audit log's tree, recomputed from every entry",
		Description: "审计日志校验：recomputes the Merkle root from every entry and compares it with the stored one.",
	}, readers, func(ctx context.Context, _ *struct{}) (*auditTreeOutput, error) {
		t, err := auditlog.Check(ctx, a.svc.Audit)
		out := &auditTreeOutput{Body: AuditTree{Size: t.Size, Root: hex.EncodeToString(t.Root), Intact: err == nil}}
		if err != nil {
			out.Body.Reason = err.Error()
		}
		return out, nil
	})

	register(a, huma.Operation{
		OperationID: "get-audit-checkpoint", Method: http.MethodGet, Path: Prefix + "/audit/checkpoint", Tags: tags,
		Summary:     "A signed checkpoint of the audit log (C2SP tlog-checkpoint)",
		Description: "签名的审计日志检查点：origin, tree size and root hash, signed with the platform's Ed25519 checkpoint key.",
		Responses:   map[string]*huma.Response{"200": {Description: "signed note", Content: map[string]*huma.MediaType{"text/plain": {}}}},
	}, authz.Allow(authz.Any(everyRole...)), func(ctx context.Context, _ *struct{}) (*checkpointOutput, error) {
		msg, err := a.svc.Checkpoints.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		return &checkpointOutput{ContentType: "text/plain; charset=utf-8", Body: msg}, nil
	})

	register(a, huma.Operation{
		OperationID: "get-audit-checkpoint-key", Method: http.MethodGet, Path: Prefix + "/audit/checkpoint-key", Tags: tags,
		Summary: "The verifier key of audit checkpoints",
	}, authz.Allow(authz.Any(everyRole...)), func(ctx context.Context, _ *struct{}) (*checkpointKeyOutput, error) {
		vkey, err := a.svc.Checkpoints.VerifierKey(ctx)
		if err != nil {
			return nil, err
		}
		out := &checkpointKeyOutput{}
		out.Body.VerifierKey = vkey
		return out, nil
	})

	register(a, huma.Operation{
		OperationID: "list-audit-entries", Method: http.MethodGet, Path: Prefix + "/audit/entries", Tags: tags,
		Summary: "Read audit entries in index order",
	}, readers, func(ctx context.Context, in *auditEntriesInput) (*auditEntriesOutput, error) {
		limit := uint64(in.Limit)
		if limit == 0 {
			limit = 100
		}
		entries, _, err := a.svc.Audit.AuditEntries(ctx, in.From, in.From+limit)
		if err != nil {
			return nil, err
		}
		out := &auditEntriesOutput{}
		out.Body.Items = entries
		if entries == nil {
			out.Body.Items = []auditlog.Entry{}
		}
		if uint64(len(entries)) == limit {
			next := in.From + limit
			out.Body.Next = &next
		}
		return out, nil
	})
}
