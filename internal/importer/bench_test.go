package importer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
)

const benchRows = 100_000

// benchCheck measures whole checks of a generated file of benchRows rows
// (5% bad): reading, mapping and validating. It reports rows/s and the
// allocations per row.
func benchCheck(b *testing.B, data []byte, opt Options) {
	v := validator(b, Mapping{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := Open(bytes.NewReader(data), opt)
		if err != nil {
			b.Fatal(err)
		}
		s, err := Run{}.Check(context.Background(), r, v)
		if err != nil || s.Read != benchRows {
			b.Fatalf("summary %+v, %v", s, err)
		}
		_ = r.Close()
	}
	b.StopTimer()
	rows := float64(benchRows) * float64(b.N)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCheckCSV(b *testing.B) {
	benchCheck(b, generated(b, benchRows, gen.Options{Seed: 7, BadFraction: 0.05}, gen.CSVOptions{}), Options{})
}

func BenchmarkCheckCSVGB18030(b *testing.B) {
	benchCheck(b, generated(b, benchRows, gen.Options{Seed: 7, BadFraction: 0.05}, gen.CSVOptions{GB18030: true}), Options{})
}

func BenchmarkCheckJSONL(b *testing.B) {
	var buf bytes.Buffer
	if err := gen.New(gen.Options{Seed: 7, BadFraction: 0.05}).WriteJSONL(&buf, benchRows); err != nil {
		b.Fatal(err)
	}
	benchCheck(b, buf.Bytes(), Options{Format: JSONL})
}

func BenchmarkCheckXLSX(b *testing.B) {
	var buf bytes.Buffer
	if err := gen.New(gen.Options{Seed: 7, BadFraction: 0.05}).WriteXLSX(&buf, benchRows); err != nil {
		b.Fatal(err)
	}
	benchCheck(b, buf.Bytes(), Options{Format: XLSX})
}

// memoryBound is what the heap in use may grow by while a 200,000-row
// file is checked: the readers keep one record, the validator one row.
const memoryBound = 4 << 20

// TestMemoryBounded checks a generated CSV file of 200,000 rows (about
// 90 MB) from disk and samples the heap in use every 20,000 rows: it stays
// within memoryBound of where it started, whatever the file's size.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		// Nothing here runs concurrently: the race detector would only
		// make the 90 MB take minutes.
		t.Skip("writes and reads a 90 MB file")
	}
	const n = 200_000
	path := filepath.Join(t.TempDir(), "licenses.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.New(gen.Options{Seed: 9, BadFraction: 0.05}).WriteCSV(f, n, gen.CSVOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	r, err := OpenFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	base, peak := heap(), uint64(0)
	s, err := Run{ProgressEvery: 20000, Progress: func(Summary) { peak = max(peak, heap()) }}.Check(context.Background(), r, validator(t, Mapping{}))
	if err != nil || s.Read != n {
		t.Fatalf("summary %+v, %v", s, err)
	}
	grown := int64(peak) - int64(base)
	t.Logf("file %d MB, %d rows; heap in use %d KiB at the start, at most %d KiB while reading (grown %d KiB, bound %d KiB)",
		st.Size()>>20, n, base>>10, peak>>10, grown>>10, memoryBound>>10)
	if grown > memoryBound {
		t.Errorf("the heap grew by %d KiB reading %d MB, more than %d KiB", grown>>10, st.Size()>>20, memoryBound>>10)
	}
}
