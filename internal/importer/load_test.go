package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// loadLog records, in the order they happen, the report's problems, the
// progress calls and the batches applied.
type loadLog struct {
	events []string
	closed *Summary
}

func (l *loadLog) Add(p Problem) error {
	l.events = append(l.events, fmt.Sprintf("problem %d %s", p.Row, p.Rule))
	return nil
}
func (l *loadLog) Close(s Summary) error { l.closed = &s; return nil }

// countingReader counts the rows read.
type countingReader struct {
	Reader
	rows atomic.Int64
}

func (c *countingReader) Next() (Row, error) {
	c.rows.Add(1)
	return c.Reader.Next()
}

func openCounting(t *testing.T, data []byte, opt Options) *countingReader {
	t.Helper()
	r, err := Open(bytes.NewReader(data), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return &countingReader{Reader: r}
}

// fakeApply applies batches to a job in memory, logging them, and fails
// the batch numbered failAt (from 1; 0 never).
func fakeApply(log *loadLog, job *license.ImportJob, failAt int, failure error) func(context.Context, license.ImportBatch) (license.ImportResult, error) {
	n := 0
	return func(_ context.Context, b license.ImportBatch) (license.ImportResult, error) {
		n++
		if n == failAt {
			return license.ImportResult{Job: *job}, failure
		}
		if b.From != job.Checkpoint {
			return license.ImportResult{}, fmt.Errorf("batch from %d, checkpoint %d", b.From, job.Checkpoint)
		}
		log.events = append(log.events, fmt.Sprintf("apply %d-%d rows %d rejected %d", b.From, b.To, len(b.Rows), b.Rejected))
		job.Checkpoint = b.To
		job.Counts.Imported += int64(len(b.Rows))
		job.Counts.Rejected += b.Rejected
		job.Counts.Batches++
		return license.ImportResult{Job: *job}, nil
	}
}

// sequentialLog is what a load that read and wrote by turns would log:
// each row's problems, then its batch when the row fills it or ends the
// file, then the progress call of the row.
func sequentialLog(t *testing.T, data []byte, checkpoint int64, size, every int) []string {
	t.Helper()
	log := &loadLog{}
	from, rows, rejected := checkpoint, 0, int64(0)
	to := checkpoint
	flush := func() {
		if to > from {
			log.events = append(log.events, fmt.Sprintf("apply %d-%d rows %d rejected %d", from, to, rows, rejected))
		}
		from, rows, rejected = to, 0, 0
	}
	run := Run{Report: log, ProgressEvery: int64(every),
		Progress: func(s Summary) { log.events = append(log.events, fmt.Sprintf("progress %d", s.Read)) },
		Row: func(_ context.Context, s *Summary, rec *Record) error {
			if s.Read <= checkpoint {
				return nil
			}
			to = s.Read
			if rec == nil {
				rejected++
			} else {
				rows++
			}
			if int64(rows)+rejected >= int64(size) {
				flush()
			}
			return nil
		},
		End: func(context.Context, *Summary) error { flush(); return nil }}
	if _, err := run.Check(context.Background(), openCounting(t, data, Options{}), validator(t, Mapping{})); err != nil {
		t.Fatal(err)
	}
	// The final progress call is Load's, after the counts of the store.
	return log.events[:len(log.events)-1]
}

// TestLoadKeepsTheOrderOfTurns: reading ahead changes nothing the report,
// the progress callback or the store see: every problem before its
// batch, the batches in order from the checkpoint on, and the summary
// with the store's counts.
func TestLoadKeepsTheOrderOfTurns(t *testing.T) {
	const n, size, every = 2500, 300, 700
	data := generated(t, n, gen.Options{Seed: 5, BadFraction: 0.1, Now: testNow}, gen.CSVOptions{})
	for _, checkpoint := range []int64{0, 600, 1000} {
		t.Run(fmt.Sprint(checkpoint), func(t *testing.T) {
			log := &loadLog{}
			job := license.ImportJob{ID: "job", Checkpoint: checkpoint}
			l := Load{Job: job, BatchSize: size, Apply: fakeApply(log, &job, 0, nil),
				Run: Run{Report: log, ProgressEvery: every, Progress: func(s Summary) {
					log.events = append(log.events, fmt.Sprintf("progress %d", s.Read))
				}}}
			s, last, err := l.Import(context.Background(), openCounting(t, data, Options{}), validator(t, Mapping{}))
			if err != nil {
				t.Fatal(err)
			}
			want := append(sequentialLog(t, data, checkpoint, size, every), fmt.Sprintf("progress %d", n))
			if !slices.Equal(log.events, want) {
				t.Errorf("events differ from reading and writing by turns:\n got %q\nwant %q", log.events, want)
			}
			if last.Checkpoint != n || s.Read != n || s.Imported != last.Counts.Imported || s.Rejected != last.Counts.Rejected {
				t.Errorf("summary %+v, job %+v", s, last)
			}
			if log.closed == nil || *log.closed != s {
				t.Errorf("report closed with %+v, want %+v", log.closed, s)
			}
		})
	}
}

// goroutinesBack waits for the goroutines to come back to n.
func goroutinesBack(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the load", runtime.NumGoroutine(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLoadStopsReadingOnAFailedBatch: the reader reads one batch ahead
// at most, and stops with the load when a batch fails.
func TestLoadStopsReadingOnAFailedBatch(t *testing.T) {
	const n, size = 5000, 200
	data := generated(t, n, gen.Options{Seed: 6, BadFraction: 0.05, Now: testNow}, gen.CSVOptions{})
	before := runtime.NumGoroutine()
	failure := errors.New("store down")
	log := &loadLog{}
	job := license.ImportJob{ID: "job"}
	r := openCounting(t, data, Options{})
	l := Load{Job: job, BatchSize: size, Apply: fakeApply(log, &job, 3, failure), Run: Run{Report: log}}
	s, last, err := l.Import(context.Background(), r, validator(t, Mapping{}))
	if !errors.Is(err, failure) {
		t.Fatalf("err = %v, want the failed batch's", err)
	}
	if last.Checkpoint != 2*size || s.Read != 3*size {
		t.Errorf("checkpoint %d, summary read %d: want %d and %d", last.Checkpoint, s.Read, 2*size, 3*size)
	}
	if read := r.rows.Load(); read > 4*size+1 {
		t.Errorf("%d rows read for a load that failed at its third batch of %d: more than one batch ahead", read, size)
	}
	goroutinesBack(t, before)
	read := r.rows.Load()
	time.Sleep(20 * time.Millisecond)
	if r.rows.Load() != read {
		t.Error("rows still read after the load returned")
	}
	if log.closed != nil {
		t.Error("report closed by a failed load")
	}
}

// TestLoadStopsOnCancel: a cancelled load returns the context's error
// and leaves no goroutine behind.
func TestLoadStopsOnCancel(t *testing.T) {
	const n, size = 5000, 200
	data := generated(t, n, gen.Options{Seed: 6, Now: testNow}, gen.CSVOptions{})
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &loadLog{}
	job := license.ImportJob{ID: "job"}
	apply := fakeApply(log, &job, 0, nil)
	l := Load{Job: job, BatchSize: size, Apply: func(ctx context.Context, b license.ImportBatch) (license.ImportResult, error) {
		if job.Counts.Batches == 2 {
			cancel()
		}
		if err := ctx.Err(); err != nil {
			return license.ImportResult{Job: job}, err
		}
		return apply(ctx, b)
	}}
	_, last, err := l.Import(ctx, openCounting(t, data, Options{}), validator(t, Mapping{}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if last.Checkpoint != 2*size {
		t.Errorf("checkpoint %d, want %d", last.Checkpoint, 2*size)
	}
	goroutinesBack(t, before)
}

// TestLoadFileErrorAfterBatches: a file that breaks after some batches
// has those batches applied and the problems of the rows before the
// break reported, as reading and writing by turns would; the unfinished
// batch is not applied.
func TestLoadFileErrorAfterBatches(t *testing.T) {
	const n, size = 1100, 500
	data := generated(t, n, gen.Options{Seed: 8, BadFraction: 0.1, Now: testNow}, gen.CSVOptions{})
	broken := errors.New("disk gone")
	r, err := Open(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(broken)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	log := &loadLog{}
	job := license.ImportJob{ID: "job"}
	l := Load{Job: job, BatchSize: size, Apply: fakeApply(log, &job, 0, nil), Run: Run{Report: log}}
	_, last, err := l.Import(context.Background(), r, validator(t, Mapping{}))
	if !errors.Is(err, broken) {
		t.Fatalf("err = %v, want the file's", err)
	}
	if last.Checkpoint != 2*size {
		t.Errorf("checkpoint %d, want %d", last.Checkpoint, 2*size)
	}
	var applied, afterLast int
	for _, e := range log.events {
		switch {
		case strings.HasPrefix(e, "apply"):
			applied++
			afterLast = 0
		default:
			afterLast++
		}
	}
	// The generated rows' bad fraction leaves problems among the last
	// 100 rows read.
	if applied != 2 || afterLast == 0 {
		t.Errorf("%d batches applied, %d problems after the last: %q", applied, afterLast, log.events)
	}
	if log.closed != nil {
		t.Error("report closed by a failed load")
	}
}
