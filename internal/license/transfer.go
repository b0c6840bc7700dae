package license

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/seal"
)

// Issuer transfer (R-ISS-5, docs/licenses.md "Transfer of issuer"): when
// an issuing department changes, a platform admin files a transfer job
// that moves the licenses of one organization to another. The job moves
// them in identifier order, a batch per transaction, each license by the
// operation Transfer of the transition table: a license not in a terminal
// state gets a new version signed by the new issuer's bound seal, with an
// index in the new issuer's status lists, and its old version is
// superseded; a revoked, cancelled or abolished license changes issuer
// only and keeps its signed versions (nothing valid is left to re-sign).
// The batch advances the job's cursor and count in its own transaction,
// so a process killed at any point leaves a job that resumes exactly.

// TransferState is the state of a transfer job.
type TransferState string

// The states of a transfer job. Queued and running jobs are run; a failed
// one waits to be resumed (ResumeTransfer) once what failed it is fixed.
const (
	TransferQueued    TransferState = "queued"
	TransferRunning   TransferState = "running"
	TransferDone      TransferState = "done"
	TransferFailed    TransferState = "failed"
	TransferCancelled TransferState = "cancelled"
)

// TransferStates are the states of a transfer job.
func TransferStates() []TransferState {
	return []TransferState{TransferQueued, TransferRunning, TransferDone, TransferFailed, TransferCancelled}
}

// open reports whether a job in state s still has work to run.
func (s TransferState) open() bool { return s == TransferQueued || s == TransferRunning }

// TransferJob is an issuer transfer job.
type TransferJob struct {
	ID     string
	From   string // the credit code of the organization the licenses leave
	To     string // and of the one they move to
	Types  []string
	Reason string
	State  TransferState
	// Total is how many licenses the job moves: those moved and those
	// left, as counted when it was filed and last claimed.
	Total int64
	Moved int64
	// Cursor is the identifier of the last license moved.
	Cursor string
	// Failure says why a failed job stopped.
	Failure string
	// LeaseOwner is the runner that holds the job until LeaseUntil.
	LeaseOwner string
	LeaseUntil time.Time
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewTransfer is what filing a transfer job takes.
type NewTransfer struct {
	From, To string
	// Types are the license type codes to move; empty moves every type
	// From has issued.
	Types  []string
	Reason string
}

// TransferFilter selects transfer jobs to list; zero fields do not filter.
type TransferFilter struct {
	State TransferState
	After string
	Limit int
}

// TransferReader reads transfer jobs and the licenses they move.
// *store.DB implements it.
type TransferReader interface {
	GetTransfer(ctx context.Context, id string) (TransferJob, error)
	// ListTransfers returns a page of jobs by identifier, which orders
	// them by filing time.
	ListTransfers(ctx context.Context, f TransferFilter) ([]TransferJob, error)
	// RunnableTransfers returns up to limit identifiers of queued or
	// running jobs that owner may claim at now: not leased, leased to
	// owner, or whose lease has run out.
	RunnableTransfers(ctx context.Context, owner string, now time.Time, limit int) ([]string, error)
	// TransferCandidates returns up to limit identifiers, in order, of the
	// licenses issuer has issued of the types.
	TransferCandidates(ctx context.Context, issuer string, types []string, limit int) ([]string, error)
	CountTransferCandidates(ctx context.Context, issuer string, types []string) (int64, error)
	// IssuedTypes returns the type codes of the licenses issuer has issued.
	IssuedTypes(ctx context.Context, issuer string) ([]string, error)
}

// TransferTx is what a transfer job's transactions read and write through:
// the license transaction, and the job.
type TransferTx interface {
	Tx
	TransferReader
	InsertTransfer(ctx context.Context, j TransferJob) error
	// UpdateTransfer writes j over the job provided its lease owner is
	// still owner; Conflict when it is not.
	UpdateTransfer(ctx context.Context, j TransferJob, owner string) error
}

// TransferTxFunc runs fn in one transaction of the store.
type TransferTxFunc func(ctx context.Context, fn func(TransferTx) error) error

// TransferBatch is how many licenses one transaction of a job moves.
const TransferBatch = 50

// TransferLease is how long a runner holds a job past its last batch: a
// runner that dies leaves the job to another after it.
const TransferLease = time.Minute

// errLeaseLost stops a runner whose job another runner has taken over.
var errLeaseLost = errors.New("the transfer job is held by another runner")

// transferActor is who acts: the account, or the operator on the platform
// host (nil actor). Only a platform admin of the platform organization
// files and manages transfer jobs.
func (s *Service) transferActor(ctx context.Context, actor *authz.Actor) (string, error) {
	if actor == nil {
		return auditlog.Operator, nil
	}
	if slices.Contains(actor.Roles, authz.PlatformAdmin) {
		o, err := s.orgs.GetOrg(ctx, actor.Org)
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return "", err
		}
		if err == nil && o.HasKind(org.KindPlatform) {
			return actor.AccountID, nil
		}
	}
	return "", fieldErr(apperr.Forbidden, "actor", "platform-admin", "only a platform admin transfers licenses between issuers")
}

// FileTransfer files a transfer job (queued), after checking, before
// anything is written: both organizations exist and differ, To is an
// active issuer that the catalog lets issue each type and that has a
// license-issuing seal bound in force for each. The job and its audit
// entry (license.transfer.filed) are one transaction. RunTransfer or
// serve's runner (RunTransfers) moves the licenses.
func (s *Service) FileTransfer(ctx context.Context, actor *authz.Actor, n NewTransfer) (TransferJob, error) {
	by, err := s.transferActor(ctx, actor)
	if err != nil {
		return TransferJob{}, err
	}
	from, to, reason, err := checkTransfer(n)
	if err != nil {
		return TransferJob{}, err
	}
	if err := s.checkTransferOrgs(ctx, from, to); err != nil {
		return TransferJob{}, err
	}
	types := n.Types
	if len(types) == 0 {
		if types, err = s.transfers.IssuedTypes(ctx, from); err != nil {
			return TransferJob{}, err
		}
		if len(types) == 0 {
			return TransferJob{}, fieldErr(apperr.Conflict, "from", "has-licenses", fmt.Sprintf("organization %s has issued no license", from))
		}
	}
	if types, err = s.checkTransferTypes(ctx, to, types); err != nil {
		return TransferJob{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	id, err := timeID("ltr", now)
	if err != nil {
		return TransferJob{}, err
	}
	j := TransferJob{ID: id, From: from, To: to, Types: types, Reason: reason, State: TransferQueued, CreatedBy: by, CreatedAt: now, UpdatedAt: now}
	err = s.transferTx(ctx, func(st TransferTx) error {
		if j.Total, err = st.CountTransferCandidates(ctx, from, types); err != nil {
			return err
		}
		if err := st.InsertTransfer(ctx, j); err != nil {
			return err
		}
		return s.recordJob(ctx, st, j, by, "filed", map[string]string{"reason": reason, "total": strconv.FormatInt(j.Total, 10)})
	})
	if err != nil {
		return TransferJob{}, err
	}
	return j, nil
}

// checkTransfer checks what a request says by itself and returns it
// normalized.
func checkTransfer(n NewTransfer) (from, to, reason string, err error) {
	var fs apperr.Fields
	from, to = ids.NormalizeCreditCode(n.From), ids.NormalizeCreditCode(n.To)
	for _, f := range []struct{ name, code string }{{"from", from}, {"to", to}} {
		if err := ids.ValidateCreditCode(f.code); err != nil {
			var ie *ids.Error
			if errors.As(err, &ie) {
				fs.Add(f.name, ie.Rule, ie.Detail)
			} else {
				fs.Add(f.name, "invalid", err.Error())
			}
		}
	}
	if from != "" && from == to {
		fs.Add("to", "distinct", "licenses move to another organization")
	}
	reason = strings.TrimSpace(n.Reason)
	fs.Text("reason", reason, maxReason, true)
	return from, to, reason, fs.Err()
}

// checkTransferOrgs refuses an organization that does not exist, and a To
// that is not an active issuer.
func (s *Service) checkTransferOrgs(ctx context.Context, from, to string) error {
	if _, err := s.orgs.GetOrg(ctx, from); errors.Is(err, apperr.NotFound) {
		return fieldErr(apperr.Invalid, "from", "exists", "no organization has credit code "+from)
	} else if err != nil {
		return err
	}
	o, err := s.orgs.GetOrg(ctx, to)
	switch {
	case errors.Is(err, apperr.NotFound):
		return fieldErr(apperr.Invalid, "to", "exists", "no organization has credit code "+to)
	case err != nil:
		return err
	case !o.HasKind(org.KindIssuer):
		return fieldErr(apperr.Conflict, "to", "issuer", fmt.Sprintf("organization %s is not an issuer", to))
	case o.Status != org.Active:
		return fieldErr(apperr.Conflict, "to", "active", fmt.Sprintf("organization %s is %s", to, o.Status))
	}
	return nil
}

// checkTransferTypes refuses a type that does not exist, that the catalog
// does not let to issue, or that no seal of to bound in force may sign,
// naming it; it returns the codes trimmed, upper case, without repeats.
func (s *Service) checkTransferTypes(ctx context.Context, to string, types []string) ([]string, error) {
	b, err := s.boundSealOf(ctx, to)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, c := range types {
		c = strings.ToUpper(strings.TrimSpace(c))
		field := fmt.Sprintf("types[%d]", i)
		e, err := s.catalog.GetType(ctx, c)
		switch {
		case errors.Is(err, apperr.NotFound):
			return nil, fieldErr(apperr.Invalid, field, "exists", "no license type has code "+c)
		case err != nil:
			return nil, err
		case !e.AnyIssuer && !slices.Contains(e.Issuers, to):
			return nil, fieldErr(apperr.Conflict, field, "issuer-of-type", fmt.Sprintf("organization %s does not issue license type %s", to, c))
		case !b.Allows(c):
			return nil, fieldErr(apperr.Conflict, field, "type-not-bound", fmt.Sprintf("the binding of seal %s of %s does not allow license type %s", b.SealID, to, c))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// boundSealOf returns the binding in force of a license-issuing seal of
// issuer; Conflict (field to, rule seal-not-bound) when it has none.
func (s *Service) boundSealOf(ctx context.Context, issuer string) (seal.Binding, error) {
	id, err := s.sealOf(ctx, issuer)
	if err != nil && apperr.KindOf(err) != apperr.Conflict {
		return seal.Binding{}, err
	}
	if err == nil {
		b, err := s.seals.Binding(ctx, id)
		if err == nil && s.seals.InForce(b) {
			return b, nil
		}
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return seal.Binding{}, err
		}
	}
	return seal.Binding{}, fieldErr(apperr.Conflict, "to", "seal-not-bound",
		fmt.Sprintf("organization %s has no license-issuing seal bound to license issuance in force", issuer))
}

// timeID is an identifier of prefix that sorts by the time now it was
// made at: transfer jobs (ltr), grants (lgr), reissue requests (lrr).
func timeID(prefix string, now time.Time) (string, error) {
	b := make([]byte, 12)
	binary.BigEndian.PutUint64(b, uint64(now.UnixMicro()))
	if _, err := rand.Read(b[8:]); err != nil {
		return "", fmt.Errorf("identifier randomness: %w", err)
	}
	return prefix + "_" + hex.EncodeToString(b), nil
}

// recordJob appends the audit entry license.transfer.<what> of job j.
func (s *Service) recordJob(ctx context.Context, st TransferTx, j TransferJob, actor, what string, details map[string]string) error {
	if details == nil {
		details = map[string]string{}
	}
	details["from"], details["to"], details["types"] = j.From, j.To, strings.Join(j.Types, ",")
	return auditlog.Append(ctx, st, auditlog.Entry{At: j.UpdatedAt, Actor: actor, Org: j.From, Action: "license.transfer." + what,
		Subject: j.ID, Details: details})
}

// GetTransfer returns a transfer job.
func (s *Service) GetTransfer(ctx context.Context, actor *authz.Actor, id string) (TransferJob, error) {
	if _, err := s.transferActor(ctx, actor); err != nil {
		return TransferJob{}, err
	}
	return s.transfers.GetTransfer(ctx, strings.TrimSpace(id))
}

// ListTransfers returns a page of transfer jobs, oldest first.
func (s *Service) ListTransfers(ctx context.Context, actor *authz.Actor, f TransferFilter, cursor string) (page.Page[TransferJob], error) {
	if _, err := s.transferActor(ctx, actor); err != nil {
		return page.Page[TransferJob]{}, err
	}
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]TransferJob, error) {
		f.Limit, f.After = limit, after
		return s.transfers.ListTransfers(ctx, f)
	}, func(j TransferJob) string { return j.ID })
}

// CancelTransfer cancels a queued, running or failed job: its runner stops
// before its next batch. The licenses it moved stay moved.
func (s *Service) CancelTransfer(ctx context.Context, actor *authz.Actor, id string) (TransferJob, error) {
	return s.decideJob(ctx, actor, id, "cancelled", []TransferState{TransferQueued, TransferRunning, TransferFailed}, TransferCancelled)
}

// ResumeTransfer queues a failed job again, once what failed it (a
// binding that ended, say) is fixed; it goes on where it stopped.
func (s *Service) ResumeTransfer(ctx context.Context, actor *authz.Actor, id string) (TransferJob, error) {
	return s.decideJob(ctx, actor, id, "resumed", []TransferState{TransferFailed}, TransferQueued)
}

// decideJob moves a job in one of states from to state to, releasing its
// lease, with its audit entry.
func (s *Service) decideJob(ctx context.Context, actor *authz.Actor, id, what string, from []TransferState, to TransferState) (TransferJob, error) {
	by, err := s.transferActor(ctx, actor)
	if err != nil {
		return TransferJob{}, err
	}
	var j TransferJob
	err = s.transferTx(ctx, func(st TransferTx) error {
		if j, err = st.GetTransfer(ctx, strings.TrimSpace(id)); err != nil {
			return err
		}
		if !slices.Contains(from, j.State) {
			return fieldErr(apperr.Conflict, "id", "state", fmt.Sprintf("transfer job %s is %s", j.ID, j.State))
		}
		owner := j.LeaseOwner
		j.State, j.Failure, j.LeaseOwner, j.LeaseUntil, j.UpdatedAt = to, "", "", time.Time{}, s.now().UTC().Truncate(time.Second)
		if err := st.UpdateTransfer(ctx, j, owner); err != nil {
			return err
		}
		return s.recordJob(ctx, st, j, by, what, nil)
	})
	return j, err
}

// TransferRun tunes one run of a job.
type TransferRun struct {
	// Batch is how many licenses a transaction moves; TransferBatch when
	// not positive.
	Batch int
	// Progress hears of the job after each batch committed.
	Progress func(TransferJob)
	// BeforeCommit is called in each batch's transaction, numbered from 1,
	// after its writes: an error rolls the batch back and stops the run as
	// a crash would, leaving the job to be resumed. For tests.
	BeforeCommit func(batch int) error
}

// RunTransfer claims job id for owner and runs it until it is done,
// cancelled or failed, and returns it as it left it. A job another runner
// holds is a Conflict. A batch refused for a reason an operator must fix
// (a seal no longer bound, a type the new issuer may no longer issue)
// fails the job with the reason: ResumeTransfer queues it again. Any other
// error (the store, ctx) stops the run and leaves the job running: its
// lease runs out and a runner, this one or another, goes on.
func (s *Service) RunTransfer(ctx context.Context, id, owner string, o TransferRun) (TransferJob, error) {
	if o.Batch <= 0 {
		o.Batch = TransferBatch
	}
	j, err := s.claim(ctx, id, owner)
	if err != nil {
		return j, err
	}
	for n := 1; ; n++ {
		next, err := s.batch(ctx, j, owner, n, o)
		switch {
		case err == nil:
		case errors.Is(err, errLeaseLost):
			return j, apperr.Wrap(apperr.Conflict, err, "transfer job %s was taken over by another runner", j.ID)
		case decided(err) && ctx.Err() == nil:
			return s.fail(ctx, j, owner, err)
		case ctx.Err() != nil:
			// Interrupted: give the lease up, so that --resume or a serve
			// process goes on at once rather than after it runs out.
			s.release(context.WithoutCancel(ctx), j.ID, owner)
			return j, fmt.Errorf("transfer job %s: %w", j.ID, err)
		default:
			return j, fmt.Errorf("transfer job %s: %w", j.ID, err)
		}
		j = next
		if o.Progress != nil {
			o.Progress(j)
		}
		if !j.State.open() {
			return j, nil
		}
	}
}

// decided reports whether err is a refusal an operator must act on, not a
// passing failure of the store or the process.
func decided(err error) bool {
	switch apperr.KindOf(err) {
	case apperr.Invalid, apperr.Conflict, apperr.Forbidden, apperr.NotFound:
		return true
	}
	return false
}

// claim takes the lease of job id for owner, in one transaction that
// re-reads it, and counts what is left to move.
func (s *Service) claim(ctx context.Context, id, owner string) (TransferJob, error) {
	var j TransferJob
	err := s.transferTx(ctx, func(st TransferTx) error {
		var err error
		if j, err = st.GetTransfer(ctx, id); err != nil {
			return err
		}
		now := s.now().UTC()
		switch {
		case !j.State.open():
			return fieldErr(apperr.Conflict, "id", "state", fmt.Sprintf("transfer job %s is %s", j.ID, j.State))
		case j.LeaseOwner != "" && j.LeaseOwner != owner && j.LeaseUntil.After(now):
			return fieldErr(apperr.Conflict, "id", "leased", fmt.Sprintf("transfer job %s is run by %s until %s",
				j.ID, j.LeaseOwner, j.LeaseUntil.Format(time.RFC3339)))
		}
		left, err := st.CountTransferCandidates(ctx, j.From, j.Types)
		if err != nil {
			return err
		}
		prev := j.LeaseOwner
		j.State, j.LeaseOwner, j.LeaseUntil, j.UpdatedAt, j.Total = TransferRunning, owner, now.Add(TransferLease), now.Truncate(time.Second), j.Moved+left
		return st.UpdateTransfer(ctx, j, prev)
	})
	return j, err
}

// batch moves the next batch of job j in one transaction (moveBatch).
func (s *Service) batch(ctx context.Context, j TransferJob, owner string, n int, o TransferRun) (TransferJob, error) {
	var out TransferJob
	err := s.transferTx(ctx, func(st TransferTx) error {
		var err error
		out, err = s.moveBatch(ctx, st, j.ID, owner, n, o)
		return err
	})
	return out, err
}

// moveBatch re-reads job id in st, checks it is still running under
// owner's lease, moves up to o.Batch licenses and advances the job; with
// nothing left to move the job is done.
func (s *Service) moveBatch(ctx context.Context, st TransferTx, id, owner string, n int, o TransferRun) (TransferJob, error) {
	cur, err := st.GetTransfer(ctx, id)
	if err != nil {
		return TransferJob{}, err
	}
	if cur.State != TransferRunning {
		return cur, nil // cancelled meanwhile
	}
	if cur.LeaseOwner != owner {
		return TransferJob{}, errLeaseLost
	}
	at := s.now().UTC()
	todo, err := st.TransferCandidates(ctx, cur.From, cur.Types, o.Batch)
	if err != nil {
		return TransferJob{}, err
	}
	resigners := map[string]resignFunc{}
	for _, l := range todo {
		if err := s.transferOne(ctx, st, cur, l, at.Truncate(time.Second), resigners); err != nil {
			return TransferJob{}, fmt.Errorf("license %s: %w", l, err)
		}
	}
	cur.Moved += int64(len(todo))
	cur.Total = max(cur.Total, cur.Moved)
	cur.LeaseUntil, cur.UpdatedAt = at.Add(TransferLease), at.Truncate(time.Second)
	if len(todo) > 0 {
		cur.Cursor = todo[len(todo)-1]
	} else {
		cur.State, cur.LeaseOwner, cur.LeaseUntil = TransferDone, "", time.Time{}
	}
	if err := st.UpdateTransfer(ctx, cur, owner); err != nil {
		return TransferJob{}, err
	}
	if cur.State == TransferDone {
		if err := s.recordJob(ctx, st, cur, cur.CreatedBy, "done", map[string]string{"moved": strconv.FormatInt(cur.Moved, 10)}); err != nil {
			return TransferJob{}, err
		}
	}
	if o.BeforeCommit != nil {
		if err := o.BeforeCommit(n); err != nil {
			return TransferJob{}, err
		}
	}
	return cur, nil
}

// resignFunc signs the next version of a license in a transaction.
type resignFunc = func(context.Context, Tx, License) (License, []byte, error)

// transferOne moves license id of job j in st: the operation Transfer,
// re-signed by j.To's bound seal unless the license is in a terminal state.
// resigners keeps the batch's re-signing functions by license type: what
// they prepare (the type, j.To and its seal) is the same for the licenses
// of one type, and a license of another template version than the one
// prepared is signed under its own (resigner).
func (s *Service) transferOne(ctx context.Context, st Tx, j TransferJob, id string, at time.Time, resigners map[string]resignFunc) error {
	cur, err := st.GetLicense(ctx, id)
	if err != nil {
		return err
	}
	t, _ := transitionOf(Transfer)
	a := act{t: t, actor: j.CreatedBy, reason: j.Reason, at: at, issuer: j.To}
	if !cur.State.Terminal() {
		if a.resign = resigners[cur.TypeCode]; a.resign == nil {
			if a.resign, err = s.resigner(ctx, cur, TransitionRequest{Operation: Transfer}, a); err != nil {
				return err
			}
			resigners[cur.TypeCode] = a.resign
		}
	}
	_, err = s.apply(ctx, st, cur, a)
	return err
}

// release gives up owner's lease of job id, best effort: a lease not
// released runs out.
func (s *Service) release(ctx context.Context, id, owner string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = s.transferTx(ctx, func(st TransferTx) error {
		cur, err := st.GetTransfer(ctx, id)
		if err != nil || cur.LeaseOwner != owner {
			return err
		}
		cur.LeaseOwner, cur.LeaseUntil = "", time.Time{}
		return st.UpdateTransfer(ctx, cur, owner)
	})
}

// fail records that job j stopped for err: failed, with the reason, its
// lease released, in a transaction of its own (the batch rolled back).
func (s *Service) fail(ctx context.Context, j TransferJob, owner string, cause error) (TransferJob, error) {
	err := s.transferTx(ctx, func(st TransferTx) error {
		cur, err := st.GetTransfer(ctx, j.ID)
		if err != nil {
			return err
		}
		if cur.LeaseOwner != owner || cur.State != TransferRunning {
			j = cur
			return nil
		}
		cur.State, cur.Failure, cur.LeaseOwner, cur.LeaseUntil, cur.UpdatedAt = TransferFailed, cause.Error(), "", time.Time{}, s.now().UTC().Truncate(time.Second)
		if err := st.UpdateTransfer(ctx, cur, owner); err != nil {
			return err
		}
		j = cur
		return s.recordJob(ctx, st, cur, cur.CreatedBy, "failed", map[string]string{"failure": cur.Failure,
			"moved": strconv.FormatInt(cur.Moved, 10)})
	})
	if err != nil {
		return j, errors.Join(cause, err)
	}
	return j, fmt.Errorf("transfer job %s failed: %w", j.ID, cause)
}

// RunTransfers runs the runnable transfer jobs at once and then every
// interval until ctx ends, as owner (unique per process); onError hears of
// a run that stopped. Every serve process runs it: a job's lease keeps
// two from running one job at once.
func (s *Service) RunTransfers(ctx context.Context, owner string, interval time.Duration, onError func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		jobs, err := s.transfers.RunnableTransfers(ctx, owner, s.now().UTC(), 10)
		if err != nil && ctx.Err() == nil {
			onError(fmt.Errorf("runnable transfer jobs: %w", err))
		}
		for _, id := range jobs {
			_, err := s.RunTransfer(ctx, id, owner, TransferRun{})
			// A job another process claimed first is that process's.
			if err != nil && ctx.Err() == nil && !isLeased(err) {
				onError(err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// isLeased reports whether err refuses a claim of a job another runner
// holds or that has ended meanwhile.
func isLeased(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && len(ae.Fields) == 1 && ae.Fields[0].Field == "id" && (ae.Fields[0].Rule == "leased" || ae.Fields[0].Rule == "state")
}
