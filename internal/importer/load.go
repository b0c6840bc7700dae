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
	// Load's own, and its Accept, when set, is called on the goroutine
	// that reads ahead.
	Run       Run
	Job       license.ImportJob
	BatchSize int
	// Each has every license signed by itself instead of a batch once.
	Each bool
	// Apply writes one batch of the job; license.Service.ImportBatch as
	// the issuer.
	Apply func(context.Context, license.ImportBatch) (license.ImportResult, error)
}

// loadChunk is what the reading goroutine of Load hands the writing one:
// the report's problems and progress calls of the rows read since the last
// chunk, in the order Check made them, then the batch they end with.
type loadChunk struct {
	events []loadEvent
	batch  license.ImportBatch
	// summary is the run's as the batch's last row left it: what Import
	// returns when the batch fails.
	summary Summary
}

// loadEvent is a problem for the report or, when progress is set, a
// progress call with the counts of the moment.
type loadEvent struct {
	problem  Problem
	progress bool
	counts   Summary
}

// loadEvents records the report's problems and the progress calls of the
// reading goroutine, for the writing goroutine to replay in order.
type loadEvents struct {
	events []loadEvent
	// ended stops the recording of progress at the run's end: the final
	// progress call is the writer's, with the store's counts.
	ended bool
}

func (e *loadEvents) Add(p Problem) error {
	e.events = append(e.events, loadEvent{problem: p})
	return nil
}

func (e *loadEvents) Close(Summary) error { return nil }

func (e *loadEvents) progress(s Summary) {
	if !e.ended {
		e.events = append(e.events, loadEvent{progress: true, counts: s})
	}
}

// take hands over the events recorded so far.
func (e *loadEvents) take() []loadEvent {
	ev := e.events
	e.events = nil
	return ev
}

// Import reads, validates and applies every row of r. It returns the
// summary, whose store counts are the job's, and the job as the last
// committed batch left it (also when it fails: the caller records how the
// run ended).
//
// The next batch is read and validated on a goroutine of its own while
// the current one is written, one batch ahead at most; the report and
// the progress callback hear of the rows on the caller's goroutine, in
// file order, each row's problems before its batch is applied, as if
// reading and writing took turns. A batch that fails stops the reading.
func (l Load) Import(ctx context.Context, r Reader, v *Validator) (Summary, license.ImportJob, error) {
	job := l.Job
	size := l.BatchSize
	if size <= 0 {
		size = DefaultBatch
	}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	chunks := make(chan loadChunk)
	var (
		read    Summary
		readErr error
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(chunks)
		read, readErr = l.read(readCtx, r, v, size, chunks)
	}()

	var problems int64
	var s Summary
	var err error
	for c := range chunks {
		s = c.summary
		if err = l.replay(c.events); err != nil {
			break
		}
		if c.batch.To == c.batch.From {
			continue
		}
		var res license.ImportResult
		if res, err = l.Apply(ctx, c.batch); err != nil {
			break
		}
		job = res.Job
		for _, f := range res.Refused {
			problems++
			if l.Run.Report != nil {
				if err = l.Run.Report.Add(Problem{Row: f.Row, Field: TargetNumber, Rule: f.Rule, Value: f.Number, Detail: f.Detail}); err != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	// A failed batch or report stops the reader, which may be waiting to
	// hand over the next batch; it is waited for so that it outlives no
	// call.
	stopReading()
	<-readDone
	if err != nil {
		return s, job, err
	}
	if readErr != nil {
		return read, job, readErr
	}
	s = read
	c := job.Counts
	s.Imported, s.Versioned, s.Unchanged, s.Rejected = c.Imported, c.Versioned, c.Unchanged, c.Rejected
	s.Valid, s.Problems = s.Read-s.Rejected, s.Problems+problems
	if l.Run.Progress != nil {
		l.Run.Progress(s)
	}
	if l.Run.Report != nil {
		if err := l.Run.Report.Close(s); err != nil {
			return s, job, err
		}
	}
	return s, job, nil
}

// read runs the check of r, handing each full batch to out with the
// events of its rows, and last what is left; when the check fails, the
// events of the rows read are handed over without their batch, as the
// report would have had them.
func (l Load) read(ctx context.Context, r Reader, v *Validator, size int, out chan<- loadChunk) (Summary, error) {
	skip := l.Job.Checkpoint
	b := license.ImportBatch{From: skip, To: skip, Each: l.Each, Rows: make([]license.ImportRow, 0, size)}
	events := &loadEvents{}
	send := func(ctx context.Context, c loadChunk) error {
		select {
		case out <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	flush := func(ctx context.Context, s Summary) error {
		if err := send(ctx, loadChunk{events: events.take(), batch: b, summary: s}); err != nil {
			return err
		}
		// The batch handed over is the writer's now.
		b = license.ImportBatch{From: b.To, To: b.To, Each: l.Each, Rows: make([]license.ImportRow, 0, size)}
		return nil
	}
	run := Run{Report: events, ProgressEvery: l.Run.ProgressEvery, Accept: l.Run.Accept}
	if l.Run.Progress != nil {
		run.Progress = events.progress
	}
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
			return flush(ctx, *s)
		}
		return nil
	}
	run.End = func(ctx context.Context, s *Summary) error {
		events.ended = true
		return flush(ctx, *s)
	}
	s, err := run.Check(ctx, r, v)
	if err != nil && ctx.Err() == nil && len(events.events) > 0 {
		// Only the events: the rows of an unfinished batch are not
		// applied.
		b.To = b.From
		_ = send(ctx, loadChunk{events: events.take(), batch: b, summary: s})
	}
	return s, err
}

// replay hands the recorded events to the run's report and progress
// callback.
func (l Load) replay(events []loadEvent) error {
	for _, e := range events {
		switch {
		case e.progress:
			l.Run.Progress(e.counts)
		case l.Run.Report != nil:
			if err := l.Run.Report.Add(e.problem); err != nil {
				return err
			}
		}
	}
	return nil
}
