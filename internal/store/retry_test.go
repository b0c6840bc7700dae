package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
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

// TestRetryEndsBusyInUnavailable checks what every statement and transaction
// of the store goes through: a conflict is tried again, another error is
// not, and a conflict that outlasts every attempt is the store being busy
// (503 at the API), never an unexplained failure (500).
func TestRetryEndsBusyInUnavailable(t *testing.T) {
	busy := fmt.Errorf("%w: database is locked", errBusy)
	other := errors.New("disk full")
	cases := []struct {
		name     string
		answers  []error // what the attempts return, the last repeated
		want     error
		attempts int
	}{
		{"first time", []error{nil}, nil, 1},
		{"after two conflicts", []error{busy, busy, nil}, nil, 3},
		{"other errors are not retried", []error{other}, other, 1},
		{"busy throughout", []error{busy}, apperr.Unavailable, maxAttempts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &DB{}
			n := 0
			err := d.retry(context.Background(), func() error {
				a := c.answers[min(n, len(c.answers)-1)]
				n++
				return a
			})
			if n != c.attempts {
				t.Errorf("%d attempts, want %d", n, c.attempts)
			}
			switch {
			case c.want == nil && err != nil:
				t.Errorf("err = %v, want none", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if got, want := d.Retries(), uint64(c.attempts-1); c.want != other && got != want {
				t.Errorf("Retries() = %d, want %d", got, want)
			}
		})
	}
}
