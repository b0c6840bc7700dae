package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// Runner runs the uploaded import jobs in a serve process. Every process
// runs one: a job is claimed by a lease (license.Service.ClaimImport),
// renewed after every batch, so two processes never run one job at once,
// and a process killed mid-job leaves the lease to run out and another
// process to resume after the job's checkpoint.
type Runner struct {
	Store Store
	// Owner names this process among the runners; unique per process.
	Owner string
	// OnError hears of a run that stopped for an error.
	OnError func(error)
}

// Run runs the runnable jobs at once and then every interval until ctx
// ends.
func (r Runner) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		r.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce runs the jobs runnable now, one after the other.
func (r Runner) RunOnce(ctx context.Context) {
	jobs, err := r.Store.RunnableImports(ctx, r.Owner, 10)
	if err != nil && ctx.Err() == nil {
		r.OnError(fmt.Errorf("runnable import jobs: %w", err))
	}
	for _, id := range jobs {
		// A job another process claimed first is that process's; one
		// cancelled meanwhile has ended.
		if err := r.RunJob(ctx, id); err != nil && ctx.Err() == nil && !claimRefused(err) && !errors.Is(err, ErrMovedOn) {
			r.OnError(err)
		}
	}
}

// RunJob claims job id and runs it to its end. Its batches are written
// as the account that uploaded it, with the issuer role of its
// organization.
func (r Runner) RunJob(ctx context.Context, id string) error {
	up, err := r.Store.ClaimImport(ctx, id, r.Owner)
	if err != nil {
		return err
	}
	job := up.Job
	actor := &authz.Actor{AccountID: job.CreatedBy, Org: job.Issuer, Roles: []authz.Role{authz.Issuer}}
	e, v, err := r.Store.ImportType(ctx, actor, job.TypeCode, job.TypeVersion)
	if err != nil {
		return r.fail(ctx, actor, job, err)
	}
	var m Mapping
	if job.Mapping != "" {
		if m, err = ParseMapping(strings.NewReader(job.Mapping)); err != nil {
			return r.fail(ctx, actor, job, err)
		}
	}
	seq := 0
	file := &chunkReader{next: func() ([]byte, error) {
		if seq == up.Upload.Chunks {
			return nil, nil
		}
		c, err := r.Store.ImportChunk(ctx, job.ID, seq)
		seq++
		return c, err
	}}
	rd, err := Open(file, Options{Format: Format(up.Upload.Format), Encoding: Encoding(up.Upload.Encoding)})
	if err != nil {
		return r.fail(ctx, actor, job, err)
	}
	defer func() { _ = rd.Close() }()
	rep := &storeReport{ctx: ctx, store: r.Store, job: job.ID}
	run := Job{Licenses: r.Store, Actor: actor, Job: job, BatchSize: up.Upload.BatchSize, Each: up.Upload.Sign == "each",
		Run: Run{Report: rep},
		AfterBatch: func(ctx context.Context, _ license.ImportJob) error {
			// The problems of the batch's rows are kept before the lease
			// is renewed: a run stopped here loses none a resumed run
			// would not find again.
			if err := rep.flush(ctx); err != nil {
				return err
			}
			if err := r.Store.RenewImportLease(ctx, job.ID, r.Owner); err != nil {
				if apperr.KindOf(err) == apperr.Conflict {
					// Another runner took the job over while this one was
					// slow: the job is that runner's to end, not failed.
					return errors.Join(ErrMovedOn, err)
				}
				return err
			}
			return nil
		}}
	run.LeaveOnBusy = true
	_, _, err = run.Import(ctx, rd, NewValidator(e, v.Template, m, time.Now))
	if ctx.Err() != nil || apperr.KindOf(err) == apperr.Unavailable {
		// Stopping, or a batch found the store busy (simultaneous batches
		// of one issuer on PostgreSQL may keep conflicting past the
		// store's retries): the job stays running, and the next runner,
		// this process's or another's, resumes it after its checkpoint.
		r.Store.ReleaseImport(context.WithoutCancel(ctx), job.ID, r.Owner)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", job.ID, err)
	}
	return nil
}

// fail ends a claimed job that cannot start.
func (r Runner) fail(ctx context.Context, actor *authz.Actor, job license.ImportJob, cause error) error {
	_, err := r.Store.FinishImport(context.WithoutCancel(ctx), actor, job.ID, license.ImportFailed)
	return errors.Join(fmt.Errorf("import %s: %w", job.ID, cause), err)
}

// claimRefused reports whether err refuses a claim of a job another
// runner holds or that has ended meanwhile.
func claimRefused(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && len(ae.Fields) == 1 && ae.Fields[0].Field == "id" && (ae.Fields[0].Rule == "leased" || ae.Fields[0].Rule == "state")
}

// storeReport keeps the problems of a job's rejected rows in the store,
// in one statement a batch: those of a batch's rows are kept after the
// batch commits, and the rest at the end.
type storeReport struct {
	// ctx is the run's: Close has none of its own.
	ctx     context.Context
	store   Store
	job     string
	pending []license.ImportProblem
	lastRow int
	pos     int
}

// Add implements Report.
func (s *storeReport) Add(p Problem) error {
	if p.Row != s.lastRow {
		s.lastRow, s.pos = p.Row, 0
	}
	s.pending = append(s.pending, license.ImportProblem{Row: int64(p.Row), Pos: s.pos, Column: p.Column, Field: p.Field, Rule: p.Rule,
		Value: p.Value, Detail: p.Detail})
	s.pos++
	return nil
}

func (s *storeReport) flush(ctx context.Context) error {
	if err := s.store.AddImportProblems(ctx, s.job, s.pending); err != nil {
		return err
	}
	s.pending = s.pending[:0]
	return nil
}

// Close implements Report.
func (s *storeReport) Close(Summary) error { return s.flush(s.ctx) }
