package seal

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
)

// keptSeal reads a seal through st, for one of its keepers only.
func keptSeal(ctx context.Context, st Reader, actor *authz.Actor, id string) (Seal, error) {
	x, err := st.GetSeal(ctx, id)
	if err != nil {
		return Seal{}, err
	}
	return x, keeperOf(actor, x)
}

func keeperOf(actor *authz.Actor, x Seal) error {
	if actor == nil || !slices.Contains(x.Keepers, actor.AccountID) {
		return apperr.New(apperr.Forbidden, "only a keeper of seal %s may do this", x.ID)
	}
	return nil
}

// RequestUse asks to apply a seal to one document, named by its SM3 hash
// (R-SEAL-5). With the policy "none" the request is approved at once.
func (s *Service) RequestUse(ctx context.Context, actor *authz.Actor, sealID, docHash, title, purpose string) (UseRequest, error) {
	x, err := s.GetSeal(ctx, sealID)
	if err != nil {
		return UseRequest{}, err
	}
	if err := keeperOf(actor, x); err != nil {
		return UseRequest{}, err
	}
	if x.State != Active {
		return UseRequest{}, apperr.New(apperr.Conflict, "seal %s is %s", x.ID, x.State)
	}
	var fs apperr.Fields
	docHash = strings.ToLower(strings.TrimSpace(docHash))
	if !sha256Hex.MatchString(docHash) {
		fs.Add("doc_hash", "sm3-hex", "the SM3 hash of the document, 64 hex digits")
	}
	checkName(&fs, "title", title, 200)
	checkText(&fs, "purpose", purpose, 500, true)
	if err := fs.Err(); err != nil {
		return UseRequest{}, err
	}
	id, err := s.newID("sur")
	if err != nil {
		return UseRequest{}, err
	}
	r := UseRequest{ID: id, SealID: x.ID, DocHash: docHash, Title: strings.TrimSpace(title), Purpose: strings.TrimSpace(purpose),
		Requester: actor.AccountID, Needed: x.Policy.Needed(), Status: UsePending, CreatedAt: s.now()}
	if r.Needed == 0 {
		r.Status, r.DecidedAt = UseApproved, &r.CreatedAt
	}
	err = s.tx(ctx, func(st Tx) error {
		cur, err := keptSeal(ctx, st, actor, x.ID)
		if err != nil {
			return err
		}
		if cur.State != Active {
			return apperr.New(apperr.Conflict, "seal %s is %s", cur.ID, cur.State)
		}
		if cur.Policy.Needed() != r.Needed {
			return apperr.New(apperr.Conflict, "the use policy of seal %s changed meanwhile; request again", cur.ID)
		}
		if err := st.InsertUseRequest(ctx, r); err != nil {
			return err
		}
		return s.audit(ctx, st, actor.AccountID, "seal.use.requested", cur, map[string]string{
			"request": r.ID, "doc_hash": r.DocHash, "status": string(r.Status), "needed": strconv.Itoa(r.Needed)})
	})
	if err != nil {
		return UseRequest{}, err
	}
	return r, nil
}

// GetUseRequest returns a use request.
func (s *Service) GetUseRequest(ctx context.Context, id string) (UseRequest, error) {
	r, err := s.store.GetUseRequest(ctx, id)
	if errors.Is(err, apperr.NotFound) {
		return UseRequest{}, apperr.New(apperr.NotFound, "no use request has id %s", id)
	}
	return r, err
}

// DecideUse records one approver's decision on a use request. Approvers are
// seal approvers of the seal's organization, its parent or the platform;
// nobody approves their own request, nor approves twice.
func (s *Service) DecideUse(ctx context.Context, actor *authz.Actor, id string, approve bool, comment string) (UseRequest, error) {
	r, err := s.GetUseRequest(ctx, id)
	if err != nil {
		return UseRequest{}, err
	}
	x, err := s.GetSeal(ctx, r.SealID)
	if err != nil {
		return UseRequest{}, err
	}
	if actor == nil || !slices.Contains(actor.Roles, authz.SealApprover) {
		return UseRequest{}, apperr.New(apperr.Forbidden, "only a seal approver decides")
	}
	if actor.Org != x.Org {
		if err := s.mayApprove(ctx, actor, x.Org); err != nil {
			return UseRequest{}, err
		}
	}
	if actor.AccountID == r.Requester {
		return UseRequest{}, apperr.New(apperr.Forbidden, "nobody approves their own request")
	}
	var fs apperr.Fields
	checkText(&fs, "comment", comment, 500, false)
	if err := fs.Err(); err != nil {
		return UseRequest{}, err
	}
	now := s.now()
	var out UseRequest
	err = s.tx(ctx, func(st Tx) error {
		// The request and the seal as they are now decide: another
		// approver may have decided meanwhile, the seal may have been
		// suspended or cancelled.
		r, err := st.GetUseRequest(ctx, id)
		if err != nil {
			return err
		}
		if r.Status != UsePending {
			return apperr.New(apperr.Conflict, "use request %s is %s", r.ID, r.Status)
		}
		if slices.Contains(r.Approvals, actor.AccountID) {
			return apperr.New(apperr.Conflict, "you approved this request already; another approver is needed")
		}
		cur, err := st.GetSeal(ctx, r.SealID)
		if err != nil {
			return err
		}
		if approve && cur.State != Active {
			return apperr.New(apperr.Conflict, "seal %s is %s; its use cannot be approved", cur.ID, cur.State)
		}
		r.Comment = strings.TrimSpace(comment)
		action := "seal.use.rejected"
		if approve {
			action = "seal.use.approved"
			r.Approvals = append(r.Approvals, actor.AccountID)
			if len(r.Approvals) >= r.Needed {
				r.Status, r.DecidedAt = UseApproved, &now
			}
		} else {
			r.Status, r.DecidedAt = UseRejected, &now
		}
		if err := st.UpdateUseRequest(ctx, r, UsePending); err != nil {
			return err
		}
		out = r
		return s.audit(ctx, st, actor.AccountID, action, cur, map[string]string{"request": r.ID, "status": string(r.Status),
			"approvals": strconv.Itoa(len(r.Approvals)), "needed": strconv.Itoa(r.Needed)})
	})
	if err != nil {
		return UseRequest{}, err
	}
	return out, nil
}
