package importer

import (
	"context"
	"errors"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// Licenses is what running an import job writes through:
// license.Service.
type Licenses interface {
	ImportBatch(ctx context.Context, actor *authz.Actor, jobID string, b license.ImportBatch) (license.ImportResult, error)
	FinishImport(ctx context.Context, actor *authz.Actor, id string, state license.ImportState) (license.ImportJob, error)
}

// Job runs an import job over the rows of its file to its end, as the
// command line's import run and the serve processes do: Load, then the
// job's end recorded by how the run ended.
type Job struct {
	Licenses Licenses
	// Actor is the issuer account the batches are written as.
	Actor *authz.Actor
	Job   license.ImportJob
	// BatchSize and Each are Load's.
	BatchSize int
	Each      bool
	// Run holds the report and the progress callback, as Load's.
	Run Run
	// Interrupted is the state a run stopped by ctx leaves the job in:
	// cancelled (the command line), or "" to leave it running for the
	// next runner (a serve process stopping).
	Interrupted license.ImportState
	// AfterBatch, when set, is called after each committed batch (a
	// serve process renews its lease); an error stops the run and leaves
	// the job as it is.
	AfterBatch func(ctx context.Context, j license.ImportJob) error
	// LeaveOnBusy leaves the job as it is, not failed, when a batch
	// found the store busy (apperr.Unavailable, after the store's own
	// retries): a serve process's runner resumes it at its next round.
	LeaveOnBusy bool
}

// ErrMovedOn is wrapped by the error of a run that stopped because the
// job is no longer its to run: cancelled, or another run went on with it.
// Nothing of the batch in flight is written; the job is left as it is.
var ErrMovedOn = errors.New("the import job moved on without this run")

// Import reads, validates and imports the rows of r, and records how the run
// ended: done; Interrupted when ctx ended; failed on any other error but
// ErrMovedOn. It returns the summary and the job as its last committed
// batch left it.
func (j Job) Import(ctx context.Context, r Reader, v *Validator) (Summary, license.ImportJob, error) {
	load := Load{Run: j.Run, Job: j.Job, BatchSize: j.BatchSize, Each: j.Each,
		Apply: func(ctx context.Context, b license.ImportBatch) (license.ImportResult, error) {
			res, err := j.Licenses.ImportBatch(ctx, j.Actor, j.Job.ID, b)
			if err != nil {
				if movedOn(err) {
					return res, errors.Join(ErrMovedOn, err)
				}
				return res, err
			}
			if j.AfterBatch != nil {
				err = j.AfterBatch(ctx, res.Job)
			}
			return res, err
		}}
	s, last, err := load.Import(ctx, r, v)
	switch {
	case err != nil && ctx.Err() != nil:
		if j.Interrupted != "" {
			if ferr := j.finish(ctx, license.ImportState(j.Interrupted)); ferr != nil {
				return s, last, errors.Join(err, ferr)
			}
		}
		return s, last, err
	case errors.Is(err, ErrMovedOn):
		return s, last, err
	case err != nil && j.LeaveOnBusy && apperr.KindOf(err) == apperr.Unavailable:
		return s, last, err
	case err != nil:
		if ferr := j.finish(ctx, license.ImportFailed); ferr != nil {
			return s, last, errors.Join(err, ferr)
		}
		return s, last, err
	}
	return s, last, j.finish(ctx, license.ImportDone)
}

// finish records how the run of the job ended, also once ctx is
// cancelled.
func (j Job) finish(ctx context.Context, state license.ImportState) error {
	_, err := j.Licenses.FinishImport(context.WithoutCancel(ctx), j.Actor, j.Job.ID, state)
	return err
}

// movedOn reports whether err is ImportBatch's refusal of a batch of a
// job that is no longer running at the batch's start.
func movedOn(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && len(ae.Fields) == 1 && ae.Fields[0].Rule == "moved-on"
}
