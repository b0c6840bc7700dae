package store

import (
	"testing"
	"time"
)

// TestBackoffStaysWithinItsCeiling checks the retry waits: never shorter
// than a millisecond (a retry at once meets the same conflict), never
// longer than the cap, and spread out rather than in step.
func TestBackoffStaysWithinItsCeiling(t *testing.T) {
	for attempt := 1; attempt < maxAttempts; attempt++ {
		ceiling := min(2*time.Millisecond<<min(attempt-1, 10), 100*time.Millisecond)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(attempt)
			if d < time.Millisecond || d > time.Millisecond+ceiling {
				t.Fatalf("backoff(%d) = %v, want within [1ms, %v]", attempt, d, time.Millisecond+ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Errorf("backoff(%d) took only %d distinct values in 200 draws: retries would collide in step", attempt, len(seen))
		}
	}
}
