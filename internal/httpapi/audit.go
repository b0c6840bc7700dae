package httpapi

import (
	"context"
	"encoding/hex"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

type auditTreeOutput struct{ Body api.AuditTree }

type auditEntriesInput struct {
	From  uint64 `query:"from" doc:"First index."`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type auditEntriesOutput struct {
	Body struct {
		Items   []api.AuditEntry        `json:"items"`
		Next    *uint64                 `json:"next,omitempty" doc:"Index to continue from; absent at the end."`
		Pending []api.PendingAuditEntry `json:"pending,omitempty" doc:"On the last page: entries committed with their action but not integrated into the tree yet (normally for less than a second). They get an index when they are integrated."`
	}
}

// withPending adds the entries waiting for integration to the last page.
func (a *API) withPending(ctx context.Context, out *auditEntriesOutput, org string, limit int) (*auditEntriesOutput, error) {
	if out.Body.Next != nil {
		return out, nil
	}
	pending, err := a.svc.Audit.AuditPending(ctx, org, limit)
	if err != nil {
		return nil, err
	}
	for _, e := range pending {
		out.Body.Pending = append(out.Body.Pending, api.PendingAuditEntry{Pending: true, Sequence: e.Seq, At: e.At, Actor: e.Actor,
			Org: e.Org, Action: e.Action, Subject: e.Subject, Details: e.Details})
	}
	return out, nil
}

// AuditTreeOf renders the outcome of auditlog.Check for the API (and the
// CLI's --json): the tree, intact unless err says why not.
func AuditTreeOf(t auditlog.Tree, err error) api.AuditTree {
	out := api.AuditTree{Size: t.Size, Root: hex.EncodeToString(t.Root), Intact: err == nil}
	if err != nil {
		out.Reason = err.Error()
	}
	return out
}

// AuditEntryOf renders an audit entry for the API (and the CLI's --json).
func AuditEntryOf(e auditlog.Entry) api.AuditEntry {
	return api.AuditEntry{Index: e.Index, At: e.At, Actor: e.Actor, Org: e.Org, Action: e.Action, Subject: e.Subject,
		Details: e.Details, Pending: e.Pending}
}

// limit is the page size asked for. huma holds it to 1..1000; a zero or
// negative one, from a caller that skips that validation, takes the
// default instead of wrapping.
func (in auditEntriesInput) limit() int {
	if in.Limit > 0 {
		return in.Limit
	}
	return 100
}

// entriesPage is a page of entries; a full page says where the next one
// starts.
func entriesPage(entries []auditlog.Entry, limit int) *auditEntriesOutput {
	out := &auditEntriesOutput{}
	out.Body.Items = ListOf(entries, AuditEntryOf).Items
	if len(entries) == limit {
		next := entries[len(entries)-1].Index + 1
		out.Body.Next = &next
	}
	return out
}

type orgAuditEntriesInput struct {
	CreditCode string `path:"credit_code" maxLength:"64"`
	auditEntriesInput
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

type inclusionInput struct {
	Index uint64 `query:"index" doc:"Index of the entry."`
	Size  uint64 `query:"size" doc:"Size of the tree (a checkpoint's); default: the current size."`
}

type consistencyInput struct {
	From uint64 `query:"from" minimum:"1" doc:"Size of the earlier tree."`
	To   uint64 `query:"to" doc:"Size of the later tree; default: the current size."`
}

type proofOutput struct{ Body api.AuditProof }

func hexAll(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

func (a *API) currentSize(ctx context.Context, size uint64) (uint64, error) {
	if size != 0 {
		return size, nil
	}
	t, err := a.svc.Audit.AuditTree(ctx)
	return t.Size, err
}

// auditReaders may read the whole audit log.
func auditReaders() authz.Policy { return authz.Allow(authz.Any(authz.Auditor, authz.PlatformAdmin)) }

func (a *API) registerAudit() {
	a.registerCheckAuditLog()
	a.registerGetAuditCheckpoint()
	a.registerGetAuditCheckpointKey()
	a.registerGetAuditInclusionProof()
	a.registerGetAuditConsistencyProof()
	a.registerListAuditEntries()
	a.registerListOrgAuditEntries()
}

func (a *API) registerCheckAuditLog() {
	register(a, huma.Operation{
		OperationID: "check-audit-log", Method: http.MethodGet, Path: Prefix + "/audit/tree", Tags: []string{"audit"},
		Summary:     "The audit log's tree, recomputed from every entry",
		Description: "审计日志校验：recomputes the Merkle root from every entry and compares it with the stored one.",
	}, auditReaders(), func(ctx context.Context, _ *struct{}) (*auditTreeOutput, error) {
		return &auditTreeOutput{Body: AuditTreeOf(auditlog.Check(ctx, a.svc.Audit))}, nil
	})
}

func (a *API) registerGetAuditCheckpoint() {
	register(a, huma.Operation{
		OperationID: "get-audit-checkpoint", Method: http.MethodGet, Path: Prefix + "/audit/checkpoint", Tags: []string{"audit"},
		Summary:     "A signed checkpoint of the audit log (C2SP tlog-checkpoint)",
		Description: "签名的审计日志检查点：origin, tree size and root hash, signed with the platform's Ed25519 checkpoint key.",
		Responses:   map[string]*huma.Response{"200": {Description: "signed note", Content: map[string]*huma.MediaType{"text/plain": {}}}},
	}, anyRole(), func(ctx context.Context, _ *struct{}) (*checkpointOutput, error) {
		msg, err := a.svc.Checkpoints.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		return &checkpointOutput{ContentType: "text/plain; charset=utf-8", Body: msg}, nil
	})
}

func (a *API) registerGetAuditCheckpointKey() {
	register(a, huma.Operation{
		OperationID: "get-audit-checkpoint-key", Method: http.MethodGet, Path: Prefix + "/audit/checkpoint-key", Tags: []string{"audit"},
		Summary: "The verifier key of audit checkpoints",
	}, anyRole(), func(ctx context.Context, _ *struct{}) (*checkpointKeyOutput, error) {
		vkey, err := a.svc.Checkpoints.VerifierKey(ctx)
		if err != nil {
			return nil, err
		}
		out := &checkpointKeyOutput{}
		out.Body.VerifierKey = vkey
		return out, nil
	})
}

func (a *API) registerGetAuditInclusionProof() {
	register(a, huma.Operation{
		OperationID: "get-audit-inclusion-proof", Method: http.MethodGet, Path: Prefix + "/audit/proof/inclusion", Tags: []string{"audit"},
		Summary: "Prove that an entry is in the audit log (RFC 6962 audit path)",
		Errors:  []int{http.StatusUnprocessableEntity},
	}, auditReaders(), func(ctx context.Context, in *inclusionInput) (*proofOutput, error) {
		size, err := a.currentSize(ctx, in.Size)
		if err != nil {
			return nil, err
		}
		path, root, err := auditlog.InclusionProof(ctx, a.svc.Audit, in.Index, size)
		if err != nil {
			return nil, err
		}
		_, leaves, err := a.svc.Audit.AuditEntries(ctx, in.Index, in.Index+1)
		if err != nil {
			return nil, err
		}
		idx := in.Index
		return &proofOutput{Body: api.AuditProof{Index: &idx, Size: size, Leaf: leaves[0], Proof: hexAll(path), Root: hex.EncodeToString(root)}}, nil
	})
}

func (a *API) registerGetAuditConsistencyProof() {
	register(a, huma.Operation{
		OperationID: "get-audit-consistency-proof", Method: http.MethodGet, Path: Prefix + "/audit/proof/consistency", Tags: []string{"audit"},
		Summary: "Prove that a later audit tree extends an earlier one (RFC 6962)",
		Errors:  []int{http.StatusUnprocessableEntity},
	}, auditReaders(), func(ctx context.Context, in *consistencyInput) (*proofOutput, error) {
		size, err := a.currentSize(ctx, in.To)
		if err != nil {
			return nil, err
		}
		path, root, err := auditlog.ConsistencyProof(ctx, a.svc.Audit, in.From, size)
		if err != nil {
			return nil, err
		}
		from := in.From
		return &proofOutput{Body: api.AuditProof{From: &from, Size: size, Proof: hexAll(path), Root: hex.EncodeToString(root)}}, nil
	})
}

func (a *API) registerListAuditEntries() {
	register(a, huma.Operation{
		OperationID: "list-audit-entries", Method: http.MethodGet, Path: Prefix + "/audit/entries", Tags: []string{"audit"},
		Summary: "Read audit entries in index order",
	}, auditReaders(), func(ctx context.Context, in *auditEntriesInput) (*auditEntriesOutput, error) {
		limit := in.limit()
		entries, _, err := a.svc.Audit.AuditEntries(ctx, in.From, in.From+uint64(limit)) //nolint:gosec // limit() is at least 1
		if err != nil {
			return nil, err
		}
		return a.withPending(ctx, entriesPage(entries, limit), "", limit)
	})
}

func (a *API) registerListOrgAuditEntries() {
	register(a, huma.Operation{
		OperationID: "list-org-audit-entries", Method: http.MethodGet, Path: Prefix + "/orgs/{credit_code}/audit/entries", Tags: []string{"audit"},
		Summary:     "Read the audit entries about one organization",
		Description: "本单位的审计记录（R-SEC-2）: every logged change of the organization, its accounts, tokens, keys, certificates and seals, and every use of its seals, in index order.",
	}, authz.Allow(authz.Any(authz.Auditor, authz.PlatformAdmin), authz.Own(authz.OrgAdmin)).About("credit_code"),
		func(ctx context.Context, in *orgAuditEntriesInput) (*auditEntriesOutput, error) {
			limit := in.limit()
			code := ids.NormalizeCreditCode(in.CreditCode)
			entries, err := a.svc.Audit.AuditEntriesOfOrg(ctx, code, in.From, limit)
			if err != nil {
				return nil, err
			}
			return a.withPending(ctx, entriesPage(entries, limit), code, limit)
		})
}
