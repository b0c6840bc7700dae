package importer

import (
	"context"

	"github.com/zhengzhao/zhengzhao/internal/license"
)

// DefaultBatch is the rows of a batch of an import that names none: a
// kill loses at most the batch in flight, and a batch's transaction stays
// well under a second.
const DefaultBatch = 1000

// Load imports the rows of a file into the store as a job (docs/import.md,
// "Importing into the store"): batches of BatchSize rows, each applied in
// one transaction that advances the job's checkpoint. The rows up to the
// job's checkpoint are read and validated again (their problems go to the
// report) but not applied: a resumed job goes on where its last committed
// batch ended.
type Load struct {
	// Run holds the report and the progress callback; its Row and End are
	// Load's own.
	Run       Run
	Job       license.ImportJob
	BatchSize int
	// Each has every license signed by itself instead of a batch once.
	Each bool
	// Apply writes one batch of the job; license.Service.ImportBatch as
	// the issuer.
	Apply func(context.Context, license.ImportBatch) (license.ImportResult, error)
}

// Import reads, validates and applies every row of r. It returns the
// summary, whose store counts are the job's, and the job as the last
// committed batch left it (also when it fails: the caller records how the
// run ended).
func (l Load) Import(ctx context.Context, r Reader, v *Validator) (Summary, license.ImportJob, error) {
	job := l.Job
	size := l.BatchSize
	if size <= 0 {
		size = DefaultBatch
	}
	skip := job.Checkpoint
	b := license.ImportBatch{From: skip, To: skip, Each: l.Each, Rows: make([]license.ImportRow, 0, size)}
	var problems int64
	flush := func(ctx context.Context) error {
		if b.To == b.From {
			return nil
		}
		res, err := l.Apply(ctx, b)
		if err != nil {
			return err
		}
		job = res.Job
		for _, f := range res.Refused {
			problems++
			if l.Run.Report != nil {
				if err := l.Run.Report.Add(Problem{Row: f.Row, Field: TargetNumber, Rule: f.Rule, Value: f.Number, Detail: f.Detail}); err != nil {
					return err
				}
			}
		}
		b.From, b.Rows, b.Rejected = b.To, b.Rows[:0], 0
		return nil
	}
	run := l.Run
	run.Row = func(ctx context.Context, s *Summary, rec *Record) error {
		if s.Read <= skip {
			return nil
		}
		b.To = s.Read
		if rec == nil {
			b.Rejected++
		} else {
			b.Rows = append(b.Rows, *rec)
		}
		if int64(len(b.Rows))+b.Rejected >= int64(size) {
			return flush(ctx)
		}
		return nil
	}
	run.End = func(ctx context.Context, s *Summary) error {
		if err := flush(ctx); err != nil {
			return err
		}
		c := job.Counts
		s.Imported, s.Versioned, s.Unchanged, s.Rejected = c.Imported, c.Versioned, c.Unchanged, c.Rejected
		s.Valid, s.Problems = s.Read-s.Rejected, s.Problems+problems
		return nil
	}
	s, err := run.Check(ctx, r, v)
	return s, job, err
}
