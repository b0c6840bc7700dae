package server_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/server"
)

// slowWriter takes its time, as a busy disk or pipe does.
type slowWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(100 * time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// TestLogWriter: every line written by many writers reaches the output
// whole, each writer's lines in order, before Close returns; lines
// after Close go straight through.
func TestLogWriter(t *testing.T) {
	out := &slowWriter{}
	l := server.NewLogWriter(out)
	const writers, lines = 20, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				line := fmt.Sprintf("w%02d %04d %s\n", w, i, strings.Repeat("x", i%300))
				if n, err := l.Write([]byte(line)); n != len(line) || err != nil {
					t.Errorf("Write = %d, %v", n, err)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write([]byte("after close\n")); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.b.String(), "\n"), "\n")
	if len(got) != writers*lines+1 || got[len(got)-1] != "after close" {
		t.Fatalf("%d lines, want %d ending with the one after Close", len(got), writers*lines+1)
	}
	next := make([]int, writers)
	for _, line := range got[:len(got)-1] {
		var w, i int
		if _, err := fmt.Sscanf(line, "w%02d %04d", &w, &i); err != nil || i != next[w] || len(line) != 9+i%300 {
			t.Fatalf("line %q: torn or out of order (want writer %d's line %d)", line, w, next[w])
		}
		next[w]++
	}
}
